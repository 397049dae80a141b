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
};
