/**
 * lastUsedAt / lastUsedIp are kept up to date without a database write per request
 * (product.md §2 "Last used"): uses are coalesced in memory and written once per flush.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../../src/app.js';
import { db } from '../../../src/db.js';
import { graphql } from '../../gql/index.js';
import { app, executeWith, ok } from '../../helpers/app.js';
import { seedTenant } from '../../helpers/seed.js';

const Viewer = graphql(`
  query KeyAuthLastUsedViewer {
    viewer {
      kind
    }
  }
`);

const KeyLastUsed = graphql(`
  query KeyAuthLastUsedKey($id: ID!) {
    apiKey(id: $id) {
      lastUsedAt
      lastUsedIp
    }
  }
`);

// An app of its own with a flush interval longer than the test, so that only the explicit
// flush() writes and the count below does not depend on timing.
const instance = createApp({ config: { ...app.config, lastUsedFlushMs: 60_000 } });

afterEach(async () => {
  await instance.lastUsed.flush();
  vi.restoreAllMocks();
});

/** One successful request with the key through `instance`. */
async function use(secret: string, ip = '127.0.0.1') {
  const result = await executeWith(instance, Viewer, {}, { apiKey: secret, ip });
  expect(result.errors).toBeUndefined();
}

/** The flushes that wrote lastUsedAt for one key (each flush is one batched write, db/last-used-writes.ts). */
function spyOnLastUsedWrites(keyId: string) {
  const writeUses = vi.spyOn(instance.lastUsed, 'writeUses');
  return () => writeUses.mock.calls.filter(([uses]) => uses.some((use) => use.id === keyId)).length;
}

describe('last used', () => {
  it('one flush writes the uses of many keys, each with its own time and address', async () => {
    const seed = await seedTenant();
    const keys = await Promise.all(Array.from({ length: 8 }, () => seed.createKey()));
    const writes = vi.spyOn(instance.lastUsed, 'writeUses');
    const usedAt: Date[] = [];
    for (const [i, key] of keys.entries()) {
      usedAt.push(new Date());
      await use(key.secret, `198.51.100.${i + 1}`);
    }

    await instance.lastUsed.flush();

    expect(writes.mock.calls.filter(([uses]) => uses.some((u) => keys.some((k) => k.id === u.id)))).toHaveLength(1);
    const stored = await db.apiKey.findMany({ where: { id: { in: keys.map((k) => k.id) } } });
    for (const [i, key] of keys.entries()) {
      const row = stored.find((r) => r.id === key.id)!;
      expect(row.lastUsedIp).toBe(`198.51.100.${i + 1}`);
      // The instant as recorded (UTC), to the millisecond Prisma keeps: not shifted by a time zone.
      expect(row.lastUsedAt!.getTime()).toBeGreaterThanOrEqual(usedAt[i]!.getTime());
      expect(row.lastUsedAt!.getTime()).toBeLessThanOrEqual(i + 1 < keys.length ? usedAt[i + 1]!.getTime() : Date.now());
    }
  });

  it('a failed flush keeps the uses for the next one', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    await use(key.secret, '198.51.100.7');
    vi.spyOn(instance.lastUsed, 'writeUses').mockRejectedValueOnce(new Error('database down'));

    await instance.lastUsed.flush();
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).lastUsedAt).toBeNull();
    await instance.lastUsed.flush();

    expect((await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).lastUsedIp).toBe('198.51.100.7');
  });

  it('an instance flushing an earlier use after another stored a later one leaves the later one', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const other = createApp({ config: { ...app.config, lastUsedFlushMs: 60_000 } });
    await use(key.secret, '198.51.100.8'); // on `instance`, first
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await executeWith(other, Viewer, {}, { apiKey: key.secret, ip: '198.51.100.9' })).errors).toBeUndefined();
    await other.lastUsed.flush(); // the later use is stored first
    const later = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    await instance.lastUsed.flush(); // then the earlier one, as by a rolling restart
    const stored = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(stored.lastUsedIp).toBe('198.51.100.9');
    expect(stored.lastUsedAt).toEqual(later.lastUsedAt);
  });

  it('50 requests with one key cost one UPDATE, written at flush with the latest time and address', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const writes = spyOnLastUsedWrites(key.id);
    const start = new Date();

    for (let i = 0; i < 49; i++) await use(key.secret, '198.51.100.23');
    const beforeLast = new Date();
    await use(key.secret, '198.51.100.99');

    expect(writes()).toBe(0);
    expect(await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).toMatchObject({ lastUsedAt: null, lastUsedIp: null });

    await instance.lastUsed.flush();

    expect(writes()).toBe(1);
    const stored = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(stored.lastUsedIp).toBe('198.51.100.99');
    expect(stored.lastUsedAt!.getTime()).toBeGreaterThanOrEqual(beforeLast.getTime());
    expect(stored.lastUsedAt!.getTime()).toBeGreaterThanOrEqual(start.getTime());
    expect(stored.lastUsedAt!.getTime()).toBeLessThanOrEqual(Date.now());

    const { apiKey } = await ok(KeyLastUsed, { id: key.id }, { token: seed.admin.token });
    expect(apiKey).toEqual({ lastUsedAt: stored.lastUsedAt!.toISOString(), lastUsedIp: '198.51.100.99' });
  });

  it('a flush with no use since the last one writes nothing', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    await use(key.secret);
    await instance.lastUsed.flush();
    const writes = spyOnLastUsedWrites(key.id);

    await instance.lastUsed.flush();

    expect(writes()).toBe(0);
  });

  it('a refused request (wrong address) is not recorded as a use', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey({ ipAllowlist: ['203.0.113.0/24'] });
    const writes = spyOnLastUsedWrites(key.id);

    const refused = await executeWith(instance, Viewer, {}, { apiKey: key.secret, ip: '198.51.100.1' });
    expect(refused.status).toBe(403);
    await instance.lastUsed.flush();

    expect(writes()).toBe(0);
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).lastUsedAt).toBeNull();
  });
});
