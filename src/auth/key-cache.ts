/**
 * The verification cache: secret digest → the key's verified record, so a warm request
 * costs a SHA-256 and a map lookup instead of a database round trip.
 *
 * Staleness is bounded and fails closed:
 * - an entry is served for at most `ttlMs` after it was read from the database; after that
 *   the database is asked again, and if it cannot answer the request fails (503), so an
 *   outage never extends trust beyond `ttlMs`;
 * - every change to a key, its authorization group or its tenant evicts the affected entries
 *   at once on this instance (see invalidation.ts, which also tells the other instances);
 * - expiry is checked against the cached `expiresAt` on every request, never cached as "valid".
 * Unknown digests are cached briefly too (negative entries), so a flood of well-formed but
 * unknown keys does not become a flood of database queries.
 */
import type { AddressRange } from '../lib/ip.js';
import type { Permission } from './permissions.js';
import type { GroupControls } from './principal.js';

export type VerifiedKey = {
  id: string;
  name: string;
  prefix: string;
  role: 'API_USER' | 'ADMIN';
  status: 'ACTIVE' | 'REVOKED';
  expiresAt: Date | null;
  tenantId: string;
  tenantIsSystem: boolean;
  organizationId: string | null;
  authorizationGroupId: string;
  permissions: ReadonlySet<Permission>;
  projectAccess: 'ALL' | 'SELECTED';
  projectIds: ReadonlySet<string>;
  ipAllowlist: readonly AddressRange[];
  /** This entry's digest is the key's previous secret, accepted until previousSecretExpiresAt. */
  matchedPreviousSecret?: boolean;
  /** Checked on every request like expiresAt; null unless matchedPreviousSecret. */
  previousSecretExpiresAt?: Date | null;
  /** The group's GraphQL controls (null: none); group edits evict the entry like permission edits. */
  controls: GroupControls | null;
};

/** `placedAt`: the cache's placement count when the entry last moved to the back of the map. */
type Entry<Value> = { value: Value | null; storedAt: number; placedAt: number };

const NEGATIVE_TTL_MS = 5_000;

/**
 * A cache of records verified against the database (keys here, sessions in session-cache.ts),
 * keyed by a credential's digest, with the guarantees above: bounded LRU, TTL, negative
 * entries, eviction by change, and a generation counter against re-caching a stale read.
 */
export class VerifiedCache<Value, Change> {
  // A Map iterates in insertion order, which makes it a cheap LRU: move a hit entry to the
  // back (`placeAtBack`, once it is in the older half), evict from the front when full.
  private readonly entries = new Map<string, Entry<Value>>();
  /** Entries placed at the back of the map so far (stored, or moved there by a hit). */
  private placements = 0;
  /**
   * Bumped by every invalidation. A lookup notes it before reading the database and may
   * store its result only if it is unchanged: otherwise a read that started before a
   * revoke committed could put the pre-revoke row back after the revoke evicted it.
   */
  private generation = 0;
  /**
   * Set while this instance cannot hear other instances' changes (the PostgreSQL listener is
   * disconnected, see invalidation-pg.ts): nothing is stored, so every request reads the
   * database until the channel is back.
   */
  private suspended = false;
  private readonly invalidationListeners = new Set<() => void>();

  constructor(
    private readonly options: { ttlMs: number; maxEntries: number },
    /** Whether a cached record is affected by a change (and must be evicted). */
    private readonly affects: (value: Value, change: Change) => boolean,
  ) {}

  get enabled(): boolean {
    return this.options.ttlMs > 0 && this.options.maxEntries > 0 && !this.suspended;
  }

  get isSuspended(): boolean {
    return this.suspended;
  }

  /** Drops every entry and stores none until `resume()`. */
  suspend(): void {
    this.suspended = true;
    this.clear();
  }

  /**
   * Caches again. `clear()` bumps the generation, so a lookup that read the database while
   * suspended (when a change might have gone unheard) cannot store its result afterwards.
   */
  resume(): void {
    this.clear();
    this.suspended = false;
  }

  /** `undefined`: not cached (ask the database). `null`: known not to exist. */
  get(digest: string, now = Date.now()): Value | null | undefined {
    const entry = this.entries.get(digest);
    if (!entry) return undefined;
    const ttl = entry.value ? this.options.ttlMs : Math.min(NEGATIVE_TTL_MS, this.options.ttlMs);
    if (now - entry.storedAt >= ttl) {
      this.entries.delete(digest);
      return undefined;
    }
    if (this.placements - entry.placedAt > this.options.maxEntries / 2) this.placeAtBack(digest, entry);
    return entry.value;
  }

  /**
   * Moves a hit entry to the back, where eviction reaches it last; only once it is in the
   * older half, not on every hit. An entry reaches the front only after `maxEntries` others
   * were placed behind it, so one used at least once per `maxEntries / 2` placements is never
   * evicted, as under strict LRU. Re-inserting on every hit cost a delete and an insert per
   * request, with V8 shrinking and regrowing a small map's table each time: about 4 k
   * instructions of /auth/verify's warm request (bench/instructions.ts).
   */
  private placeAtBack(digest: string, entry: Entry<Value>): void {
    this.entries.delete(digest);
    entry.placedAt = ++this.placements;
    this.entries.set(digest, entry);
  }

  get currentGeneration(): number {
    return this.generation;
  }

  set(digest: string, value: Value | null, readAtGeneration: number, storedAt = Date.now()): void {
    if (!this.enabled || readAtGeneration !== this.generation) return;
    this.entries.delete(digest);
    this.entries.set(digest, { value, storedAt, placedAt: ++this.placements });
    while (this.entries.size > this.options.maxEntries) {
      this.entries.delete(this.entries.keys().next().value!);
    }
  }

  /** Evicts every entry matching the change. Rare (admin actions), so a scan is fine. */
  invalidate(change: Change): void {
    this.generation++;
    for (const [digest, { value }] of this.entries) {
      if (value && this.affects(value, change)) this.entries.delete(digest);
    }
    this.invalidated();
  }

  clear(): void {
    this.generation++;
    this.entries.clear();
    this.invalidated();
  }

  /**
   * Calls `listener` after every invalidation, whether the change was made here or heard from
   * another instance (invalidation-pg.ts): for what outlives a request and must notice that a
   * credential may no longer be what it was (a subscription). Returns the unsubscribe.
   */
  onInvalidation(listener: () => void): () => void {
    this.invalidationListeners.add(listener);
    return () => this.invalidationListeners.delete(listener);
  }

  private invalidated(): void {
    for (const listener of this.invalidationListeners) listener();
  }

  get size(): number {
    return this.entries.size;
  }
}

export class KeyCache extends VerifiedCache<VerifiedKey, KeyChange> {
  constructor(options: { ttlMs: number; maxEntries: number }) {
    super(options, keyAffectedBy);
  }
}

function keyAffectedBy(key: VerifiedKey, change: KeyChange): boolean {
  return (
    ('keyId' in change && key.id === change.keyId) ||
    ('authorizationGroupId' in change && key.authorizationGroupId === change.authorizationGroupId) ||
    ('tenantId' in change && key.tenantId === change.tenantId)
  );
}

export type KeyChange = { keyId: string } | { authorizationGroupId: string } | { tenantId: string };
