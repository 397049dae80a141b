/**
 * Rotation grace across two real keygate processes on one PostgreSQL (as behind a load
 * balancer): both accept the previous secret during the grace; endRotationGrace through one
 * makes the other refuse it within the bound a revoke has (the NOTIFY round trip), although the other holds
 * the key warm in its cache (TTL one minute here): the change travels by the same
 * invalidation path, PostgreSQL NOTIFY. SQLite is one instance by design (see README).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { db } from '../../../src/db.js';
import { startInstance, stopInstance, type Instance } from '../../helpers/instances.js';
import { seedTenant, type Seed } from '../../helpers/seed.js';

const onPostgres = inject('databaseKind') === 'postgresql';
/**
 * The notification round trip is milliseconds (the revoke test in scale-out/ holds 100 ms);
 * a second here keeps this test steady on a loaded machine and still proves the path: with
 * the cache TTL at a minute, nothing but the invalidation explains a refusal this soon.
 */
const PROPAGATION_BOUND_MS = 1_000;

async function call(instance: Instance, query: string, variables: Record<string, unknown>, headers: Record<string, string>) {
  const response = await fetch(`${instance.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, ...((await response.json()) as { data?: any; errors?: { extensions?: Record<string, unknown> }[] }) };
}

const VIEWER = 'query { viewer { kind } }';

describe.runIf(onPostgres)('rotation grace on two instances sharing one PostgreSQL', () => {
  let one: Instance;
  let two: Instance;
  let seed: Seed;

  beforeAll(async () => {
    seed = await seedTenant();
    one = await startInstance();
    two = await startInstance();
  }, 120_000);

  afterAll(async () => {
    await Promise.all([one, two].filter(Boolean).map(stopInstance));
  });

  it('both accept the previous secret during the grace; endRotationGrace through one: the other refuses it within the invalidation bound (not the one-minute cache TTL)', async () => {
    const key = await seed.createKey();
    for (const instance of [one, two]) expect((await call(instance, VIEWER, {}, { 'x-api-key': key.secret })).data?.viewer.kind).toBe('API_KEY');

    const rotated = await call(
      one,
      'mutation($id: ID!) { rotateApiKey(id: $id, input: { gracePeriodMinutes: 60 }) { secret } }',
      { id: key.id },
      { authorization: `Bearer ${seed.admin.token}` },
    );
    expect(rotated.errors).toBeUndefined();
    const newSecret: string = rotated.data.rotateApiKey.secret;
    for (const instance of [one, two]) {
      for (const secret of [key.secret, newSecret]) {
        expect((await call(instance, VIEWER, {}, { 'x-api-key': secret })).data?.viewer.kind).toBe('API_KEY');
      }
    }

    const ended = await call(one, 'mutation($id: ID!) { endRotationGrace(id: $id) { id } }', { id: key.id }, { authorization: `Bearer ${seed.admin.token}` });
    const endedAt = Date.now();
    expect(ended.errors).toBeUndefined();
    let elapsed = Infinity;
    while (Date.now() - endedAt < 5_000) {
      const result = await call(two, VIEWER, {}, { 'x-api-key': key.secret });
      if (result.status === 401) {
        elapsed = Date.now() - endedAt;
        break;
      }
    }
    expect(elapsed, 'ms until the other instance refused the previous secret').toBeLessThanOrEqual(PROPAGATION_BOUND_MS);
    for (const instance of [one, two]) {
      expect((await call(instance, VIEWER, {}, { 'x-api-key': key.secret })).status).toBe(401);
      expect((await call(instance, VIEWER, {}, { 'x-api-key': newSecret })).data?.viewer.kind).toBe('API_KEY');
    }
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).previousSecretDigest).toBeNull();
  });
});

describe.skipIf(onPostgres)('rotation grace on two instances sharing one PostgreSQL', () => {
  it.skip('needs PostgreSQL (KEYGATE_TEST_PG_URL): the instances must share one database', () => {});
});
