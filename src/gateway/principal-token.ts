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
import type { SigningKeys } from './signing-keys.js';

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

/**
 * Signs principal tokens. A token is reused while more than half its lifetime is left, for
 * the same claims and signing key only: a changed group, binding or selection makes new
 * claims and so a new token, and a revoked key never gets this far (the auth plugin refuses
 * it first), so reuse cannot outlive a change.
 */
export class PrincipalTokens {
  private readonly cache = new Map<string, { token: string; expiresAt: number }>();

  constructor(
    private readonly keys: SigningKeys,
    private readonly ttlSeconds: number,
  ) {}

  async sign(principal: AuthenticatedPrincipal): Promise<string> {
    const key = await this.keys.current();
    const claims = principalClaims(principal);
    const subject = claims.kind === 'key' ? `key:${claims.keyId}` : `user:${claims.userId}`;
    const cacheKey = `${key.kid}|${JSON.stringify(claims)}`;
    const now = Date.now();
    const cached = this.cache.get(cacheKey);
    if (cached && cached.expiresAt - now > (this.ttlSeconds * 1000) / 2) return cached.token;

    const issuedAt = Math.floor(now / 1000);
    const token = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' })
      .setIssuer(TOKEN_ISSUER)
      .setSubject(subject)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + this.ttlSeconds)
      .sign(key.privateKey);
    if (this.cache.size >= MAX_CACHED_TOKENS) this.cache.clear();
    this.cache.set(cacheKey, { token, expiresAt: (issuedAt + this.ttlSeconds) * 1000 });
    return token;
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
