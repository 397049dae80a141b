/**
 * One place through which every change that affects verification passes, for keys and for
 * sessions. A change evicts the local cache at once; listeners (the PostgreSQL LISTEN/NOTIFY
 * bridge, invalidation-pg.ts) tell other instances. Call these after the change committed.
 */
import { getConfig } from '../config.js';
import { KeyCache, type KeyChange } from './key-cache.js';
import { SessionCache, type SessionChange } from './session-cache.js';

export const keyCache = new KeyCache({
  ttlMs: getConfig().keyCacheTtlMs,
  maxEntries: getConfig().keyCacheMaxEntries,
});

export const sessionCache = new SessionCache({
  ttlMs: getConfig().sessionCacheTtlMs,
  maxEntries: getConfig().keyCacheMaxEntries,
});

const keyListeners = new Set<(change: KeyChange) => void>();
const sessionListeners = new Set<(change: SessionChange) => void>();

export function onKeyChange(listener: (change: KeyChange) => void): () => void {
  keyListeners.add(listener);
  return () => keyListeners.delete(listener);
}

/** A key's status, secret, group or scope, a group's permissions, a tenant changed. */
export function publishKeyChange(change: KeyChange): void {
  keyCache.invalidate(change);
  for (const listener of keyListeners) listener(change);
}

export function onSessionChange(listener: (change: SessionChange) => void): () => void {
  sessionListeners.add(listener);
  return () => sessionListeners.delete(listener);
}

/**
 * What a signed-in user may do changed, or a session ended: sign-out (`{ sessionId }`);
 * deactivation, a password change, a role or group change (`{ userId }`); a USER group's
 * permissions (`{ authorizationGroupId }`); a tenant (`{ tenantId }`). The next request on
 * this instance, and within milliseconds on the others (PostgreSQL), reads the database.
 */
export function publishSessionChange(change: SessionChange): void {
  sessionCache.invalidate(change);
  for (const listener of sessionListeners) listener(change);
}
