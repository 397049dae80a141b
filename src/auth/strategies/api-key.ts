/**
 * API keys (X-Api-Key or Authorization: Bearer). Order of checks: shape, digest lookup in the
 * cache, else checksum (no database) and the database, then status, expiry, rotation grace
 * (for a key's previous secret), IP allowlist.
 *
 * The previous secret's grace end is checked against the clock on every request, cached or
 * not, so it stops at `previousSecretExpiresAt` on every instance; `endRotationGrace` and a
 * revoke stop it through the cache invalidation like any other key change.
 *
 * Timing: the secret is never compared character by character. It is hashed and the
 * digest looked up by equality in a map or a unique index, so response time says nothing
 * about how much of a guessed secret was right.
 */
import { forbidden, serviceUnavailable, unauthenticated } from '../../errors.js';
import { isInRanges, parseAddress } from '../../lib/ip.js';
import { digestSecret, looksLikeKey, parseKey, type KeyFormat } from '../credentials.js';
import type { KeyCache, VerifiedKey } from '../key-cache.js';
import { keyLookup, type KeyLookup } from '../key-lookup.js';
import type { LastUsedRecorder } from '../last-used.js';
import type { UsageRecorder } from '../usage.js';
import type { ApiKeyPrincipal } from '../principal.js';
import type { AuthStrategy } from './strategy.js';

export type ApiKeyStrategyDeps = {
  format: KeyFormat;
  cache: KeyCache;
  lastUsed: LastUsedRecorder;
  /** Counts refusals for an address outside the allowlist (the rest: use-usage-counting.ts). */
  usage?: UsageRecorder;
  /** Where a digest missing from the cache is looked up. @default keyLookup (key-lookup.ts) */
  lookup?: KeyLookup;
};

export function apiKeyStrategy({ format, cache, lastUsed, usage, lookup: store = keyLookup }: ApiKeyStrategyDeps): AuthStrategy {
  /** A digest the cache does not hold: checksum first (no database for a typo), then the database. */
  async function lookupUncached(credential: string, digest: string): Promise<VerifiedKey | null> {
    if (!parseKey(format, credential)) throw unauthenticated('INVALID', 'The API key is malformed (checksum mismatch).');
    const generation = cache.currentGeneration;
    const key = await store.findByDigest(digest).catch(() => {
      // Fail closed: without the database nothing uncached (or stale) is accepted.
      throw serviceUnavailable();
    });
    cache.set(digest, key, generation);
    return key;
  }

  /** A verified key (or null: none has this digest) → the principal, or the refusal. */
  function accept(key: VerifiedKey | null, clientAddress: string | null): ApiKeyPrincipal {
    if (!key) throw unauthenticated('INVALID', 'The API key is not valid.');
    if (key.status === 'REVOKED') throw unauthenticated('REVOKED');
    if (key.expiresAt && key.expiresAt.getTime() <= Date.now()) throw unauthenticated('EXPIRED', 'The API key has expired.');
    // A replaced secret past its grace is as unknown as any other wrong secret.
    if (key.matchedPreviousSecret && (key.previousSecretExpiresAt?.getTime() ?? 0) <= Date.now()) {
      throw unauthenticated('INVALID', 'The API key is not valid.');
    }
    if (key.ipAllowlist.length > 0) {
      const address = parseAddress(clientAddress);
      if (!address || !isInRanges(address, key.ipAllowlist)) {
        usage?.recordRejected(key.id, 'IP_ADDRESS');
        throw forbidden('This API key may not be used from this IP address.', 403);
      }
    }
    lastUsed.record(key.id, clientAddress, undefined, key.matchedPreviousSecret === true);
    return toPrincipal(key);
  }

  return {
    name: 'api-key',
    recognizes: (credential) => looksLikeKey(format, credential),
    async authenticate(credential, { clientAddress }) {
      const digest = digestSecret(credential);
      // Only what passed the checksum is ever cached (a key, or a well-formed unknown one), so
      // a cached digest skips it: the warm path of /auth/verify and the upstream lane.
      const cached = cache.get(digest);
      return accept(cached !== undefined ? cached : await lookupUncached(credential, digest), clientAddress);
    },
    authenticateCached(credential, { clientAddress }) {
      // Not `recognizes` first: only well-formed keys' digests are cached, so a hit is one.
      const cached = cache.get(digestSecret(credential));
      return cached === undefined ? undefined : accept(cached, clientAddress);
    },
  };
}

/**
 * One principal per verified key, reused while the key cache holds that key: a changed or
 * revoked key is a new cache entry (or none), so a principal never outlives what it says.
 * Reuse spares an allocation per request and lets per-principal memos (the principal token's,
 * gateway/principal-token.ts) hit. Frozen: nothing downstream may edit a shared principal.
 */
const principals = new WeakMap<VerifiedKey, ApiKeyPrincipal>();

function toPrincipal(key: VerifiedKey): ApiKeyPrincipal {
  let principal = principals.get(key);
  if (!principal) principals.set(key, (principal = Object.freeze(newPrincipal(key))));
  return principal;
}

function newPrincipal(key: VerifiedKey): ApiKeyPrincipal {
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
      ...(key.matchedPreviousSecret ? { usedPreviousSecret: true } : {}),
      controls: key.controls,
    },
  };
}
