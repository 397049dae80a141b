/**
 * Failed-credential throttle per client address (src/security/credential-throttle.ts):
 * after N failures (401s from the auth plugin, failed signIn) within the window, the
 * address gets 429 RATE_LIMITED before its credential is even looked at, so guessing keys,
 * tokens or passwords gets slower, not cheaper. Other addresses are not affected.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { loadConfig, type Config } from '../../../src/config.js';
import { db } from '../../../src/db.js';
import { parseAddressRange } from '../../../src/lib/ip.js';
import { generateKey } from '../../../src/auth/credentials.js';
import { graphql } from '../../gql/index.js';
import { app, errorOf, executeWith } from '../../helpers/app.js';
import { PASSWORD, seedTenant, unique } from '../../helpers/seed.js';
import { readyAppWith } from './support.js';

const REDIS_URL = 'redis://127.0.0.1:6379';

const Viewer = graphql(`
  query HardeningThrottleViewer {
    viewer {
      kind
    }
  }
`);

const SignIn = graphql(`
  mutation HardeningThrottleSignIn($email: String!, $password: String!) {
    signIn(email: $email, password: $password) {
      token
    }
  }
`);

const ChangePassword = graphql(`
  mutation HardeningThrottleChangePassword($currentPassword: String!, $newPassword: String!) {
    changePassword(currentPassword: $currentPassword, newPassword: $newPassword) {
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

function throttled(limit: number, overrides: Partial<Config> = {}) {
  return readyAppWith({ authFailures: { limit, windowSeconds: 600 }, ...overrides });
}

function sharedRedis(): Config['redis'] {
  const keyPrefix = unique('keygate-test-throttle');
  prefixes.push(keyPrefix);
  return { url: REDIS_URL, keyPrefix };
}

/** A well-formed key (valid checksum) that does not exist: 401 INVALID after a lookup. */
const unknownKey = () => generateKey(app.config.keyFormat, '');

function expectThrottled(result: Awaited<ReturnType<typeof executeWith>>) {
  expect(errorOf(result)).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
  expect(Number(result.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(Number(result.headers.get('retry-after'))).toBeLessThanOrEqual(600);
}

describe('failed-credential throttle', () => {
  it('after 3 bad keys from one address, its 4th request gets 429 even with a valid key; another address is served', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const instance = await throttled(3);
    const attacker = '203.0.113.10';

    for (const bad of ['kg_malformed', unknownKey(), 'kgs_not-a-session']) {
      expect(errorOf(await executeWith(instance, Viewer, {}, { apiKey: bad, ip: attacker })).status).toBe(401);
    }
    expectThrottled(await executeWith(instance, Viewer, {}, { apiKey: key.secret, ip: attacker }));
    expectThrottled(await executeWith(instance, Viewer, {}, { ip: attacker }));

    const bystander = await executeWith(instance, Viewer, {}, { apiKey: key.secret, ip: '203.0.113.11' });
    expect(bystander.errors).toBeUndefined();
  });

  it('a bad key in a batch, or with a document that does not validate, counts as one failure per request', async () => {
    const instance = await throttled(3);
    const ip = '203.0.113.15';
    const bodies = [Array.from({ length: 3 }, () => ({ query: '{ viewer { kind } }' })), { query: '{ nope }' }, [{ query: '{ viewer { kind } }' }]];
    for (const body of bodies) {
      const response = await instance.yoga.fetch(
        'http://keygate.test/graphql',
        { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': unknownKey() }, body: JSON.stringify(body) },
        { req: { socket: { remoteAddress: ip } } },
      );
      expect(response.status, JSON.stringify(body)).toBe(401);
    }
    expectThrottled(await executeWith(instance, Viewer, {}, { ip }));
  });

  it('under the limit nothing changes: 2 failures of 3 still let the right key through', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const instance = await throttled(3);
    const ip = '203.0.113.20';
    for (let i = 0; i < 2; i++) expect(errorOf(await executeWith(instance, Viewer, {}, { apiKey: 'kg_bad', ip })).status).toBe(401);
    expect((await executeWith(instance, Viewer, {}, { apiKey: key.secret, ip })).errors).toBeUndefined();
  });

  it('failed signIns count too: after 3 wrong passwords the right one gets 429, without checking the password', async () => {
    const seed = await seedTenant();
    const instance = await throttled(3);
    const ip = '203.0.113.30';
    for (let i = 0; i < 3; i++) {
      const result = await executeWith(instance, SignIn, { email: seed.member.user.email, password: `wrong-password-${i}` }, { ip });
      expect(errorOf(result)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    }

    const lookup = vi.spyOn(db.user, 'findMany');
    try {
      expectThrottled(await executeWith(instance, SignIn, { email: seed.member.user.email, password: PASSWORD }, { ip }));
      expect(lookup).not.toHaveBeenCalled();
    } finally {
      lookup.mockRestore();
    }
    const elsewhere = await executeWith(instance, SignIn, { email: seed.member.user.email, password: PASSWORD }, { ip: '203.0.113.31' });
    expect(elsewhere.errors).toBeUndefined();
  });

  it('wrong current passwords in changePassword count too: a stolen session cannot guess the password quickly', async () => {
    const seed = await seedTenant();
    const instance = await throttled(3);
    const ip = '203.0.113.35';
    const change = (currentPassword: string) =>
      executeWith(instance, ChangePassword, { currentPassword, newPassword: 'a-new-long-password' }, { token: seed.member.token, ip });
    const storedHash = async () => (await db.user.findUniqueOrThrow({ where: { id: seed.member.user.id } })).passwordHash;
    const hash = await storedHash();
    for (let i = 0; i < 3; i++) expect(errorOf(await change(`wrong-password-${i}`))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'currentPassword' });
    expectThrottled(await change(PASSWORD));
    expect(await storedHash()).toBe(hash);
    // The right password from an address under the limit works.
    expect((await executeWith(instance, ChangePassword, { currentPassword: PASSWORD, newPassword: 'a-new-long-password' }, { token: seed.member.token, ip: '203.0.113.36' })).errors).toBeUndefined();
  });

  it('every failed signIn of a batch counts', async () => {
    const seed = await seedTenant();
    const instance = await throttled(3);
    const ip = '203.0.113.40';
    const guess = (i: number) => ({
      query: 'mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }',
      variables: { e: seed.member.user.email, p: `batch-guess-${i}-xx` },
    });
    const response = await instance.yoga.fetch(
      'http://keygate.test/graphql',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([guess(1), guess(2), guess(3)]) },
      { req: { socket: { remoteAddress: ip } } },
    );
    const results = (await response.json()) as { errors?: { extensions: { code: string } }[] }[];
    expect(results.map((r) => r.errors?.[0]?.extensions.code)).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED', 'UNAUTHENTICATED']);
    expectThrottled(await executeWith(instance, SignIn, { email: seed.member.user.email, password: PASSWORD }, { ip }));
  });

  it('no credential is not a failure: anonymous requests are never throttled', async () => {
    const instance = await throttled(2);
    const ip = '203.0.113.50';
    for (let i = 0; i < 5; i++) {
      const result = await executeWith(instance, graphql(`query HardeningThrottleApiKeys { apiKeys { totalCount } }`), {}, { ip });
      expect(errorOf(result)).toMatchObject({ status: 200, code: 'UNAUTHENTICATED', reason: 'MISSING' });
    }
  });

  it('behind a trusted proxy, the client address from X-Forwarded-For is throttled, not the proxy', async () => {
    const seed = await seedTenant();
    const instance = await throttled(2, { trustedProxies: [parseAddressRange('10.0.0.0/8')] });
    const viaProxy = (client: string) => ({ ip: '10.0.0.5', headers: { 'x-forwarded-for': client } });
    for (let i = 0; i < 2; i++) await executeWith(instance, Viewer, {}, { apiKey: 'kg_bad', ...viaProxy('198.51.100.7') });

    expectThrottled(await executeWith(instance, Viewer, {}, viaProxy('198.51.100.7')));
    const key = await seed.createKey();
    expect((await executeWith(instance, Viewer, {}, { apiKey: key.secret, ...viaProxy('198.51.100.8') })).errors).toBeUndefined();
  });

  it('with Redis, instances count failures together', async () => {
    const shared = sharedRedis();
    const [one, two] = [await throttled(2, { redis: shared }), await throttled(2, { redis: shared })];
    const ip = '203.0.113.60';
    expect(errorOf(await executeWith(one, Viewer, {}, { apiKey: 'kg_bad', ip })).status).toBe(401);
    expect(errorOf(await executeWith(two, Viewer, {}, { apiKey: 'kg_bad', ip })).status).toBe(401);
    expectThrottled(await executeWith(one, Viewer, {}, { ip }));
    expectThrottled(await executeWith(two, Viewer, {}, { ip }));
    expect(await redis.get(`${shared!.keyPrefix}:auth-failures:${ip}`)).toBe('2');
  });

  it('is on by default: 20 failures per address per 15 minutes', () => {
    // The shared test app turns it off (test/helpers/worker-setup.ts), hence a config of its own.
    expect(loadConfig({}).authFailures).toEqual({ limit: 20, windowSeconds: 900 });
  });
});
