/**
 * The verification cache's bound: a hit moves its entry to the back only once the entry is in
 * the older half (key-cache.ts), so the cache must still keep what is used and evict what is
 * not, as a strict LRU would for these patterns: a key in use survives a flood of unknown
 * keys (negative entries), and a key no longer used leaves.
 */
import { describe, expect, it } from 'vitest';
import { VerifiedCache } from '../../src/auth/key-cache.js';

const MAX_ENTRIES = 100;

function cache() {
  return new VerifiedCache<string, never>({ ttlMs: 60_000, maxEntries: MAX_ENTRIES }, () => false);
}

/** Stores `count` unknown digests (negative entries), as a flood of well-formed guesses would. */
function flood(target: ReturnType<typeof cache>, from: number, count: number, between?: () => void): void {
  for (let i = from; i < from + count; i++) {
    target.set(`unknown-${i}`, null, target.currentGeneration);
    between?.();
  }
}

describe('VerifiedCache eviction', () => {
  it('never holds more than maxEntries', () => {
    const target = cache();
    flood(target, 0, MAX_ENTRIES * 5);
    expect(target.size).toBe(MAX_ENTRIES);
  });

  it('keeps an entry hit now and then through a flood of ten times its size', () => {
    const target = cache();
    target.set('hot', 'key record', target.currentGeneration);
    let stored = 0;
    // A hit once per 40 stores: fewer than maxEntries / 2 placements between hits.
    flood(target, 0, MAX_ENTRIES * 10, () => {
      if (++stored % 40 === 0) expect(target.get('hot')).toBe('key record');
    });
    expect(target.get('hot')).toBe('key record');
    expect(target.size).toBe(MAX_ENTRIES);
  });

  it('evicts an entry that stops being used, hit often as it was before', () => {
    const target = cache();
    target.set('was-hot', 'key record', target.currentGeneration);
    for (let i = 0; i < 1000; i++) target.get('was-hot');
    flood(target, 0, MAX_ENTRIES);
    expect(target.get('was-hot')).toBeUndefined();
  });

  it('evicts the least recently used first once every entry has been hit', () => {
    const target = cache();
    flood(target, 0, MAX_ENTRIES);
    // Hit the older half in order: they move behind the newer half, oldest hit first.
    for (let i = 0; i < MAX_ENTRIES / 2; i++) expect(target.get(`unknown-${i}`)).toBeNull();
    flood(target, MAX_ENTRIES, MAX_ENTRIES / 2);
    // The newer half was never hit since it was stored: it went first.
    for (let i = MAX_ENTRIES / 2; i < MAX_ENTRIES; i++) expect(target.get(`unknown-${i}`)).toBeUndefined();
    for (let i = 0; i < MAX_ENTRIES / 2; i++) expect(target.get(`unknown-${i}`)).toBeNull();
  });
});
