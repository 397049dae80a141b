import type { AuthenticatedPrincipal } from '../principal.js';

export type CredentialRequest = { clientAddress: string | null };

/**
 * One way of turning a credential into a principal. `recognizes` tells "my kind of credential"
 * by its shape alone, synchronously (no database, no promise: it runs for every request);
 * `authenticate` is asked only for a credential it recognized, and throws (401/403/503) for
 * "mine, but not acceptable".
 */
export type AuthStrategy = {
  name: string;
  recognizes(credential: string): boolean;
  authenticate(credential: string, request: CredentialRequest): Promise<AuthenticatedPrincipal>;
  /**
   * `authenticate`'s answer without a promise when memory alone can give it (the credential's
   * digest is cached), throwing the same refusals; undefined when it must be looked up, and for
   * a credential this strategy does not recognize (it is asked without `recognizes` first, so
   * it answers only for digests it cached itself). For /auth/verify's warm path
   * (gateway/endpoints.ts), asked again and again for the same callers.
   */
  authenticateCached?(credential: string, request: CredentialRequest): AuthenticatedPrincipal | undefined;
};
