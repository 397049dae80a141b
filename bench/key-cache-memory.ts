/**
 * `node --expose-gc --import tsx bench/key-cache-memory.ts [entries=100000]`: the memory a full
 * key cache holds, measured in-process: the V8 heap and the resident set before and after
 * filling a KeyCache with records shaped as key-lookup.ts builds them (a 64-character digest
 * per entry, the key's own permission and project sets, as a cache miss stores them).
 */
import { createHash } from 'node:crypto';
import { KeyCache, type VerifiedKey } from '../src/auth/key-cache.js';
import { toPermissions } from '../src/auth/permissions.js';

const entries = Number(process.argv[2] ?? 100_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

function record(i: number): VerifiedKey {
  return {
    id: `cm${i.toString(36).padStart(23, '0')}`,
    name: `Integration key ${i}`,
    prefix: `kg_${i.toString(36).padStart(13, 'x')}`,
    role: 'API_USER',
    status: 'ACTIVE',
    expiresAt: null,
    tenantId: `ct${(i % 1000).toString(36).padStart(23, '0')}`,
    tenantIsSystem: false,
    organizationId: null,
    authorizationGroupId: `cg${(i % 1000).toString(36).padStart(23, '0')}`,
    permissions: new Set(toPermissions(JSON.parse('["workflows:trigger","projects:read","api_keys:read"]'))),
    projectAccess: 'ALL',
    projectIds: new Set(),
    ipAllowlist: [],
    controls: null,
  };
}

const measure = () => {
  gc();
  gc();
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss };
};
const cache = new KeyCache({ ttlMs: 600_000, maxEntries: entries });
const before = measure();
for (let i = 0; i < entries; i++) {
  cache.set(createHash('sha256').update(`secret ${i}`).digest('hex'), record(i), cache.currentGeneration);
}
const after = measure();
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
console.log(`${cache.size.toLocaleString('en-US')} entries: heap +${mib(after.heapUsed - before.heapUsed)} MiB (${Math.round((after.heapUsed - before.heapUsed) / entries)} bytes per entry), RSS ${mib(before.rss)} → ${mib(after.rss)} MiB`);
