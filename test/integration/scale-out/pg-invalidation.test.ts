/**
 * The PostgreSQL LISTEN/NOTIFY bridge between instances' verification caches, in one
 * process: two bridges stand for two instances (each with its own cache and its own local
 * change feed), on a channel of their own so parallel tests do not hear each other.
 * PostgreSQL only: SQLite deployments are a single instance.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startPgKeyInvalidation, type PgKeyInvalidation } from '../../../src/auth/invalidation-pg.js';
import { KeyCache, type KeyChange, type VerifiedKey } from '../../../src/auth/key-cache.js';
import { createLogger } from '../../../src/lib/logger.js';

const onPostgres = inject('databaseKind') === 'postgresql';
const databaseUrl = process.env.DATABASE_URL!;

type Instance = { cache: KeyCache; bridge: PgKeyInvalidation; publish: (change: KeyChange) => void; applicationName: string };
const started: Instance[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((instance) => instance.bridge.stop()));
});

function startInstance(channel: string, reconnectDelayMs = 20): Instance {
  const cache = new KeyCache({ ttlMs: 60_000, maxEntries: 1000 });
  const listeners = new Set<(change: KeyChange) => void>();
  const applicationName = `kg-test-${randomUUID().slice(0, 8)}`;
  const bridge = startPgKeyInvalidation({
    connectionString: databaseUrl,
    cache,
    logger: createLogger('silent'),
    retryForMs: 5_000,
    channel,
    applicationName,
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    reconnectDelayMs,
    maxReconnectDelayMs: Math.max(200, reconnectDelayMs),
  });
  // What publishKeyChange does on a real instance: evict locally, then tell the others.
  const publish = (change: KeyChange) => {
    cache.invalidate(change);
    for (const listener of listeners) listener(change);
  };
  const instance = { cache, bridge, publish, applicationName };
  started.push(instance);
  return instance;
}

function verifiedKey(overrides: Partial<VerifiedKey> = {}): VerifiedKey {
  return {
    id: randomUUID(),
    name: 'key',
    prefix: 'kg_test',
    role: 'API_USER',
    status: 'ACTIVE',
    expiresAt: null,
    tenantId: randomUUID(),
    tenantIsSystem: false,
    organizationId: null,
    authorizationGroupId: randomUUID(),
    permissions: new Set(),
    projectAccess: 'ALL',
    projectIds: new Set(),
    ipAllowlist: [],
    controls: null,
    ...overrides,
  };
}

function cacheKey(cache: KeyCache, key: VerifiedKey): string {
  const digest = randomUUID();
  cache.set(digest, key, cache.currentGeneration);
  return digest;
}

async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function sql(text: string, values: unknown[] = []) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

const channelName = () => `keygate_test_${randomUUID().replaceAll('-', '')}`;

describe.runIf(onPostgres)('key-change invalidation across instances (PostgreSQL LISTEN/NOTIFY)', () => {
  it('a key change published on one instance evicts that key from the other instance, and nothing else', async () => {
    const channel = channelName();
    const [one, two] = [startInstance(channel), startInstance(channel)];
    await Promise.all([one.bridge.ready, two.bridge.ready]);
    const revoked = verifiedKey();
    const untouched = verifiedKey();
    const revokedDigest = cacheKey(two.cache, revoked);
    const untouchedDigest = cacheKey(two.cache, untouched);
    expect(two.cache.get(revokedDigest)).toBe(revoked);

    one.publish({ keyId: revoked.id });

    await eventually(() => two.cache.get(revokedDigest) === undefined);
    expect(two.cache.get(untouchedDigest)).toBe(untouched);
  });

  it('a group or tenant change evicts every key of that group or tenant on the other instance', async () => {
    const channel = channelName();
    const [one, two] = [startInstance(channel), startInstance(channel)];
    await Promise.all([one.bridge.ready, two.bridge.ready]);
    const inGroup = cacheKey(two.cache, verifiedKey({ authorizationGroupId: 'group-1' }));
    const inTenant = cacheKey(two.cache, verifiedKey({ tenantId: 'tenant-1' }));

    one.publish({ authorizationGroupId: 'group-1' });
    one.publish({ tenantId: 'tenant-1' });

    await eventually(() => two.cache.get(inGroup) === undefined && two.cache.get(inTenant) === undefined);
  });

  it('an unreadable notification clears the whole cache rather than guessing', async () => {
    const channel = channelName();
    const instance = startInstance(channel);
    await instance.bridge.ready;
    const digest = cacheKey(instance.cache, verifiedKey());

    await sql('SELECT pg_notify($1, $2)', [channel, '{"keyId": 42}']);

    await eventually(() => instance.cache.size === 0);
    expect(instance.cache.get(digest)).toBeUndefined();
  });

  it('while the listener is disconnected the cache is cleared and bypassed; it caches again once listening', async () => {
    const channel = channelName();
    // The first reconnect waits a second: long enough to observe the outage on a busy machine.
    const instance = startInstance(channel, 1_000);
    await instance.bridge.ready;
    const digest = cacheKey(instance.cache, verifiedKey());
    expect(instance.cache.size).toBe(1);

    // Kill the listener's session from the server side, as a failover or a network cut would.
    await sql('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [instance.applicationName]);
    await eventually(() => instance.cache.isSuspended);
    expect(instance.cache.get(digest)).toBeUndefined();
    // Reads made while disconnected are not kept: a change may have gone unheard meanwhile.
    const duringOutage = randomUUID();
    instance.cache.set(duringOutage, verifiedKey(), instance.cache.currentGeneration);
    expect(instance.cache.get(duringOutage)).toBeUndefined();

    await eventually(() => instance.bridge.listening && !instance.cache.isSuspended);
    const afterReconnect = cacheKey(instance.cache, verifiedKey());
    expect(instance.cache.get(afterReconnect)).toBeDefined();
    const reconnectedKey = verifiedKey();
    const reconnectedDigest = cacheKey(instance.cache, reconnectedKey);
    await sql('SELECT pg_notify($1, $2)', [channel, JSON.stringify({ keyId: reconnectedKey.id })]);
    await eventually(() => instance.cache.get(reconnectedDigest) === undefined);
  });

  it('caches nothing until LISTEN is active', () => {
    const instance = startInstance(channelName());
    expect(instance.bridge.listening).toBe(false);
    const digest = cacheKey(instance.cache, verifiedKey());
    expect(instance.cache.get(digest)).toBeUndefined();
  });
});

describe.skipIf(onPostgres)('key-change invalidation across instances', () => {
  it.skip('needs PostgreSQL (KEYGATE_TEST_PG_URL): SQLite deployments run a single instance', () => {});
});
