/**
 * The principal token: who is calling, as a short-lived EdDSA JWT that keygate sends to
 * upstream services in X-Keygate-Principal (and answers /auth/verify with). Upstreams verify
 * it against /.well-known/jwks.json; they never see the caller's key or session token.
 *
 * Claims: iss "keygate", sub ("key:<id>" or "user:<id>"), kind ("key" | "session"), tenantId,
 * organizationId (a key's binding, else null), projectAccess ("ALL" | "SELECTED"),
 * projectIds (the selection, [] for ALL), permissions, keyId or userId, crossTenant, iat, exp.
 */
import { SignJWT } from 'jose';
import type { AuthenticatedPrincipal } from '../auth/principal.js';
import type { SigningKey, SigningKeys } from './signing-keys.js';

export const PRINCIPAL_HEADER = 'x-keygate-principal';
export const TOKEN_ISSUER = 'keygate';

export type PrincipalClaims = {
  kind: 'key' | 'session';
  tenantId: string;
  organizationId: string | null;
  projectAccess: 'ALL' | 'SELECTED';
  projectIds: string[];
  permissions: string[];
  crossTenant: boolean;
  keyId?: string;
  userId?: string;
};

const MAX_CACHED_TOKENS = 10_000;

type SignedToken = { kid: string; token: string; expiresAt: number };

/**
 * Signs principal tokens. A token is reused while more than half its lifetime is left, for
 * the same claims and signing key only: a changed group, binding or selection makes new
 * claims and so a new token, and a revoked key never gets this far (the auth plugin refuses
 * it first), so reuse cannot outlive a change. Looked up first by principal object (a key's
 * principal is one object while its key cache entry lives: strategies/api-key.ts), then by
 * claims.
 */
export class PrincipalTokens {
  private readonly byClaims = new Map<string, SignedToken>();
  private readonly byPrincipal = new WeakMap<AuthenticatedPrincipal, SignedToken>();

  constructor(
    private readonly keys: SigningKeys,
    private readonly ttlSeconds: number,
  ) {}

  async sign(principal: AuthenticatedPrincipal): Promise<string> {
    const reused = this.reusableFor(principal);
    if (reused) return reused;
    const key = await this.keys.current();
    const signed = await this.forClaims(principalClaims(principal), key);
    this.byPrincipal.set(principal, signed);
    return signed.token;
  }

  /** The principal's token without waiting, when one is still reusable: most requests of a key. */
  reusableFor(principal: AuthenticatedPrincipal): string | null {
    const key = this.keys.loaded();
    const signed = key && this.byPrincipal.get(principal);
    return signed && this.reusable(signed, key) ? signed.token : null;
  }

  private reusable(signed: SignedToken, key: SigningKey): boolean {
    return signed.kid === key.kid && signed.expiresAt - Date.now() > (this.ttlSeconds * 1000) / 2;
  }

  private async forClaims(claims: PrincipalClaims, key: SigningKey): Promise<SignedToken> {
    const cacheKey = `${key.kid}|${JSON.stringify(claims)}`;
    const cached = this.byClaims.get(cacheKey);
    if (cached && this.reusable(cached, key)) return cached;

    const issuedAt = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' })
      .setIssuer(TOKEN_ISSUER)
      .setSubject(claims.kind === 'key' ? `key:${claims.keyId}` : `user:${claims.userId}`)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + this.ttlSeconds)
      .sign(key.privateKey);
    const signed = { kid: key.kid, token, expiresAt: (issuedAt + this.ttlSeconds) * 1000 };
    if (this.byClaims.size >= MAX_CACHED_TOKENS) this.byClaims.clear();
    this.byClaims.set(cacheKey, signed);
    return signed;
  }
}

export function principalClaims(principal: AuthenticatedPrincipal): PrincipalClaims {
  const permissions = [...principal.permissions].sort();
  if (principal.kind === 'SESSION') {
    return {
      kind: 'session',
      tenantId: principal.tenantId,
      organizationId: null,
      projectAccess: 'ALL',
      projectIds: [],
      permissions,
      crossTenant: principal.crossTenant,
      userId: principal.user.id,
    };
  }
  const key = principal.apiKey;
  return {
    kind: 'key',
    tenantId: principal.tenantId,
    organizationId: key.organizationId,
    projectAccess: key.projectAccess,
    projectIds: key.projectAccess === 'SELECTED' ? [...key.projectIds].sort() : [],
    permissions,
    crossTenant: principal.crossTenant,
    keyId: key.id,
  };
}
