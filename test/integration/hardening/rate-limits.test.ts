/**
 * Rate limits per API key and per tenant (src/security/rate-limit.ts): over the limit a
 * request gets HTTP 429, extensions.code RATE_LIMITED and a Retry-After header, and does
 * not run. Counted in memory by default, in Redis (shared by instances) with
 * KEYGATE_REDIS_URL; each Redis test uses a key prefix of its own.
 */
import { createConnection, createServer, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config.js';
import { db } from '../../../src/db.js';
import { graphql } from '../../gql/index.js';
import { app, errorOf, executeWith } from '../../helpers/app.js';
import { seedTenant, unique } from '../../helpers/seed.js';
import { readyAppWith } from './support.js';

const REDIS_URL = 'redis://127.0.0.1:6379';

const Viewer = graphql(`
  query HardeningRateLimitViewer {
    viewer {
      kind
    }
  }
`);

const Deliver = graphql(`
  mutation HardeningRateLimitDeliver($input: DeliverDataInput!) {
    deliverData(input: $input) {
      id
    }
  }
`);

const redis = new Redis(REDIS_URL);
const prefixes: string[] = [];
afterAll(async () => {
  for (const prefix of prefixes) {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
  }
  await redis.quit();
});

type RedisSettings = { url: string; keyPrefix: string } | null;

function redisConfig(): RedisSettings {
  const keyPrefix = unique('keygate-test-rl');
  prefixes.push(keyPrefix);
  return { url: REDIS_URL, keyPrefix };
}

function limits(overrides: Partial<Config['rateLimits']>, redisSettings: RedisSettings = null): Partial<Config> {
  return { rateLimits: { perKey: 0, perTenant: 0, windowSeconds: 60, ...overrides }, redis: redisSettings };
}

function expectRateLimited(result: Awaited<ReturnType<typeof executeWith>>, windowSeconds = 60) {
  expect(errorOf(result)).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
  expect(result.data ?? null).toBeNull();
  const retryAfter = Number(result.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
  expect(result.errors![0]!.extensions?.retryAfter).toBe(retryAfter);
}

describe.each([
  ['memory', (): RedisSettings => null],
  ['Redis', redisConfig],
] as const)('rate limits (%s store)', (_store, store) => {
  it('per key: the 4th request of a key limited to 3 gets 429 with Retry-After; another key of the tenant is unaffected', async () => {
    const seed = await seedTenant();
    const [limitedKey, otherKey] = [await seed.createKey(), await seed.createKey()];
    const instance = await readyAppWith(limits({ perKey: 3 }, store()));

    for (let i = 0; i < 3; i++) expect((await executeWith(instance, Viewer, {}, { apiKey: limitedKey.secret })).errors).toBeUndefined();
    expectRateLimited(await executeWith(instance, Viewer, {}, { apiKey: limitedKey.secret }));
    expect((await executeWith(instance, Viewer, {}, { apiKey: otherKey.secret })).errors).toBeUndefined();
  });

  it('a refused request does not run: no data is delivered over the limit', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const instance = await readyAppWith(limits({ perKey: 1 }, store()));
    const input = { projectId: seed.project.id, source: 'rate-limit-test', payload: { n: 1 } };

    expect((await executeWith(instance, Deliver, { input }, { apiKey: key.secret })).errors).toBeUndefined();
    expectRateLimited(await executeWith(instance, Deliver, { input }, { apiKey: key.secret }));
    expect(await db.dataDelivery.count({ where: { projectId: seed.project.id, source: 'rate-limit-test' } })).toBe(1);
  });

  it("per tenant: keys and sessions of one tenant share the tenant's allowance; another tenant is unaffected", async () => {
    const [seed, other] = await Promise.all([seedTenant(), seedTenant()]);
    const [a, b] = [await seed.createKey(), await seed.createKey()];
    const instance = await readyAppWith(limits({ perTenant: 4 }, store()));

    expect((await executeWith(instance, Viewer, {}, { apiKey: a.secret })).errors).toBeUndefined();
    expect((await executeWith(instance, Viewer, {}, { apiKey: b.secret })).errors).toBeUndefined();
    expect((await executeWith(instance, Viewer, {}, { token: seed.member.token })).errors).toBeUndefined();
    expect((await executeWith(instance, Viewer, {}, { apiKey: a.secret })).errors).toBeUndefined();
    expectRateLimited(await executeWith(instance, Viewer, {}, { apiKey: b.secret }));
    expectRateLimited(await executeWith(instance, Viewer, {}, { token: seed.admin.token }));

    expect((await executeWith(instance, Viewer, {}, { token: other.member.token })).errors).toBeUndefined();
  });

  it('each operation of a batch counts', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const instance = await readyAppWith(limits({ perKey: 2 }, store()));
    const response = await instance.yoga.fetch(
      'http://keygate.test/graphql',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key.secret },
        body: JSON.stringify([{ query: '{ viewer { kind } }' }, { query: '{ viewer { kind } }' }, { query: '{ viewer { kind } }' }]),
      },
      { req: { socket: { remoteAddress: '127.0.0.1' } } },
    );
    const results = (await response.json()) as { data?: unknown; errors?: { extensions: { code: string } }[] }[];
    // The operations of a batch run concurrently: which one is refused is not fixed.
    expect(results.map((r) => r.errors?.[0]?.extensions.code ?? 'OK').sort()).toEqual(['OK', 'OK', 'RATE_LIMITED']);
    // Partly served: 200, and when the next request would fit.
    expect(response.status).toBe(200);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    // Wholly refused: 429 and Retry-After, as for a single operation.
    const refused = await instance.yoga.fetch(
      'http://keygate.test/graphql',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key.secret },
        body: JSON.stringify([{ query: '{ viewer { kind } }' }, { query: '{ viewer { kind } }' }]),
      },
      { req: { socket: { remoteAddress: '127.0.0.1' } } },
    );
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await refused.json()) as { errors?: { extensions: { code: string } }[] }[]).map((r) => r.errors?.[0]?.extensions.code)).toEqual(['RATE_LIMITED', 'RATE_LIMITED']);
  });
});

describe('rate limits in Redis', () => {
  it('two instances sharing Redis count together', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const shared = redisConfig();
    const [one, two] = [await readyAppWith(limits({ perKey: 2 }, shared)), await readyAppWith(limits({ perKey: 2 }, shared))];

    expect((await executeWith(one, Viewer, {}, { apiKey: key.secret })).errors).toBeUndefined();
    expect((await executeWith(two, Viewer, {}, { apiKey: key.secret })).errors).toBeUndefined();
    expectRateLimited(await executeWith(one, Viewer, {}, { apiKey: key.secret }));
    expectRateLimited(await executeWith(two, Viewer, {}, { apiKey: key.secret }));
    expect(await redis.exists(`${shared!.keyPrefix}:key:${key.id}`)).toBe(1);
  });

  it('with Redis unreachable, the limit still holds in memory instead of failing requests', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const instance = await readyAppWith(limits({ perKey: 2 }, { url: 'redis://127.0.0.1:1', keyPrefix: unique('keygate-test-rl') }));

    expect((await executeWith(instance, Viewer, {}, { apiKey: key.secret })).errors).toBeUndefined();
    expect((await executeWith(instance, Viewer, {}, { apiKey: key.secret })).errors).toBeUndefined();
    expectRateLimited(await executeWith(instance, Viewer, {}, { apiKey: key.secret }));
  });
});

/**
 * A TCP relay to the test Redis that can go silent: while frozen it forwards nothing either
 * way and closes nothing, as a frozen host or a network partition would.
 */
async function freezableRedis() {
  let frozen = false;
  const held: (() => void)[] = [];
  const sockets: Socket[] = [];
  const relay = (from: Socket, to: Socket) =>
    from.on('data', (chunk) => (frozen ? held.push(() => to.write(chunk)) : to.write(chunk)));
  const server = createServer((client) => {
    const upstream = createConnection(6379, '127.0.0.1');
    sockets.push(client, upstream);
    relay(client, upstream);
    relay(upstream, client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}`,
    freeze: () => (frozen = true),
    thaw: () => {
      frozen = false;
      for (const write of held.splice(0)) write();
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

describe('rate limits in a Redis that stops answering', () => {
  it('requests are answered (counted in memory) instead of waiting for it; counting is shared again once it answers', { timeout: 30_000 }, async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const silent = await freezableRedis();
    const keyPrefix = unique('keygate-test-rl');
    try {
      const instance = await readyAppWith(limits({ perKey: 50 }, { url: silent.url, keyPrefix }));
      expect((await executeWith(instance, Viewer, {}, { apiKey: key.secret })).errors).toBeUndefined();
      silent.freeze();
      const answeredWithin = (ms: number) => <T,>(request: Promise<T>) =>
        Promise.race([request, new Promise<'no answer'>((resolve) => setTimeout(() => resolve('no answer'), ms))]);
      // With a key (the rate limit), anonymous (the failed-credential throttle): each answered.
      for (let round = 0; round < 4; round++) {
        const [withKey, anonymous] = await Promise.all([executeWith(instance, Viewer, {}, { apiKey: key.secret }), executeWith(instance, Viewer, {})].map(answeredWithin(5_000)));
        expect(withKey).not.toBe('no answer');
        expect(anonymous).not.toBe('no answer');
        expect((withKey as Awaited<ReturnType<typeof executeWith>>).data).toEqual({ viewer: { kind: 'API_KEY' } });
      }
      silent.thaw();
      await expect.poll(async () => {
        await executeWith(instance, Viewer, {}, { apiKey: key.secret });
        return Number(await redis.get(`${keyPrefix}:key:${key.id}`));
      }, { timeout: 10_000, interval: 250 }).toBeGreaterThan(1);
      await instance.close();
    } finally {
      silent.close();
    }
  });
});

describe('rate limits in a Redis that stops answering: one timeout per request at most', () => {
  it('a request counting with several limiters (throttle, per key, per tenant) waits for one command timeout, not one each, and later ones for none', { timeout: 30_000 }, async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const silent = await freezableRedis();
    try {
      const instance = await readyAppWith({
        ...limits({ perKey: 1000, perTenant: 1000 }, { url: silent.url, keyPrefix: unique('keygate-test-rl') }),
        authFailures: { limit: 1000, windowSeconds: 60 },
      });
      expect((await executeWith(instance, Viewer, {}, { apiKey: key.secret })).errors).toBeUndefined();
      silent.freeze();
      const timed = async () => {
        const started = performance.now();
        const result = await executeWith(instance, Viewer, {}, { apiKey: key.secret });
        expect(result.data).toEqual({ viewer: { kind: 'API_KEY' } });
        return performance.now() - started;
      };
      // Three limiters of 500 ms each would make the first 1.5 s, and every later one as long.
      const first = await timed();
      const later = [await timed(), await timed(), await timed()];
      expect(first).toBeLessThan(1_300);
      expect(later.reduce((sum, ms) => sum + ms, 0)).toBeLessThan(1_000);
      silent.thaw();
      await instance.close();
    } finally {
      silent.close();
    }
  });
});

describe('rate limit defaults', () => {
  it('are off: many requests with one key are all served', async () => {
    expect(app.config.rateLimits).toMatchObject({ perKey: 0, perTenant: 0 });
    const seed = await seedTenant();
    const key = await seed.createKey();
    const results = await Promise.all(Array.from({ length: 30 }, () => executeWith(app, Viewer, {}, { apiKey: key.secret })));
    expect(results.every((r) => r.status === 200 && !r.errors)).toBe(true);
  });
});
