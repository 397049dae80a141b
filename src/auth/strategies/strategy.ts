import type { AuthenticatedPrincipal } from '../principal.js';

export type CredentialRequest = { clientAddress: string | null };

/**
 * One way of turning a credential into a principal. `authenticate` returns null for
 * "not my kind of credential" and throws (401/403/503) for "mine, but not acceptable".
 */
export type AuthStrategy = {
  name: string;
  authenticate(credential: string, request: CredentialRequest): Promise<AuthenticatedPrincipal | null>;
};
