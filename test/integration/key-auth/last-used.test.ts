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

/** The writes of lastUsedAt for one key, whoever makes them. */
function spyOnLastUsedWrites(keyId: string) {
  const updateMany = vi.spyOn(db.apiKey, 'updateMany');
  return () => updateMany.mock.calls.filter(([args]) => args.where?.id === keyId && args.data && 'lastUsedAt' in args.data).length;
}

describe('last used', () => {
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
