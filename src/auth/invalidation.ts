/**
 * One place through which every change that affects key verification passes: a key's
 * status, secret, group or scope, a group's permissions, a tenant. The change evicts the
 * local cache at once; listeners (the PostgreSQL LISTEN/NOTIFY bridge) tell other
 * instances. Call it after the change has committed.
 */
import { getConfig } from '../config.js';
import { KeyCache, type KeyChange } from './key-cache.js';

export const keyCache = new KeyCache({
  ttlMs: getConfig().keyCacheTtlMs,
  maxEntries: getConfig().keyCacheMaxEntries,
});

type Listener = (change: KeyChange) => void;
const listeners = new Set<Listener>();

export function onKeyChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function publishKeyChange(change: KeyChange): void {
  keyCache.invalidate(change);
  for (const listener of listeners) listener(change);
}
