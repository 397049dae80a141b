/**
 * API keys (X-Api-Key or Authorization: Bearer). Order of checks: shape and checksum (no
 * database), digest lookup (cache, then database), status, expiry, IP allowlist.
 *
 * Timing: the secret is never compared character by character. It is hashed and the
 * digest looked up by equality in a map or a unique index, so response time says nothing
 * about how much of a guessed secret was right.
 */
import type { Db } from '../../db.js';
import { forbidden, serviceUnavailable, unauthenticated } from '../../errors.js';
import { isInRanges, parseAddress, parseAddressRange } from '../../lib/ip.js';
import { digestSecret, looksLikeKey, parseKey, type KeyFormat } from '../../modules/api-key/api-key.token.js';
import type { KeyCache, VerifiedKey } from '../key-cache.js';
import type { LastUsedRecorder } from '../last-used.js';
import { toPermissions } from '../permissions.js';
import type { ApiKeyPrincipal } from '../principal.js';
import type { AuthStrategy } from './strategy.js';

export type ApiKeyStrategyDeps = { db: Db; format: KeyFormat; cache: KeyCache; lastUsed: LastUsedRecorder };

export function apiKeyStrategy({ db, format, cache, lastUsed }: ApiKeyStrategyDeps): AuthStrategy {
  async function lookup(digest: string): Promise<VerifiedKey | null> {
    const cached = cache.get(digest);
    if (cached !== undefined) return cached;
    const generation = cache.currentGeneration;
    const key = await loadVerifiedKey(db, digest).catch(() => {
      // Fail closed: without the database nothing uncached (or stale) is accepted.
      throw serviceUnavailable();
    });
    cache.set(digest, key, generation);
    return key;
  }

  return {
    name: 'api-key',
    async authenticate(credential, { clientAddress }) {
      if (!looksLikeKey(format, credential)) return null;
      if (!parseKey(format, credential)) throw unauthenticated('INVALID', 'The API key is malformed (checksum mismatch).');
      const key = await lookup(digestSecret(credential));
      if (!key) throw unauthenticated('INVALID', 'The API key is not valid.');
      if (key.status === 'REVOKED') throw unauthenticated('REVOKED');
      if (key.expiresAt && key.expiresAt.getTime() <= Date.now()) throw unauthenticated('EXPIRED', 'The API key has expired.');
      if (key.ipAllowlist.length > 0) {
        const address = parseAddress(clientAddress);
        if (!address || !isInRanges(address, key.ipAllowlist)) {
          throw forbidden('This API key may not be used from this IP address.', 403);
        }
      }
      lastUsed.record(key.id, clientAddress);
      return toPrincipal(key);
    },
  };
}

export async function loadVerifiedKey(db: Db, secretDigest: string): Promise<VerifiedKey | null> {
  const row = await db.apiKey.findUnique({
    where: { secretDigest },
    select: {
      id: true,
      name: true,
      prefix: true,
      role: true,
      status: true,
      expiresAt: true,
      tenantId: true,
      organizationId: true,
      authorizationGroupId: true,
      projectAccess: true,
      ipAllowlist: true,
      tenant: { select: { isSystem: true } },
      authorizationGroup: { select: { permissions: true } },
      projects: { select: { projectId: true } },
    },
  });
  if (!row) return null;
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    role: row.role,
    status: row.status,
    expiresAt: row.expiresAt,
    tenantId: row.tenantId,
    tenantIsSystem: row.tenant.isSystem,
    organizationId: row.organizationId,
    authorizationGroupId: row.authorizationGroupId,
    permissions: new Set(toPermissions(row.authorizationGroup.permissions)),
    projectAccess: row.projectAccess,
    projectIds: new Set(row.projects.map((p) => p.projectId)),
    ipAllowlist: (Array.isArray(row.ipAllowlist) ? (row.ipAllowlist as string[]) : []).map(parseAddressRange),
  };
}

function toPrincipal(key: VerifiedKey): ApiKeyPrincipal {
  return {
    kind: 'API_KEY',
    tenantId: key.tenantId,
    crossTenant: key.role === 'ADMIN' && key.tenantIsSystem,
    permissions: key.permissions,
    apiKey: {
      id: key.id,
      name: key.name,
      prefix: key.prefix,
      role: key.role,
      organizationId: key.organizationId,
      projectAccess: key.projectAccess,
      projectIds: key.projectIds,
    },
  };
}
