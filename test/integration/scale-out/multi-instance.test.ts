/**
 * Two real keygate processes on one PostgreSQL, as behind a load balancer: a key revoked
 * (or a group edited) through one instance must stop working on the other at once, even
 * though the other has the key warm in its verification cache (TTL set to a minute here, so
 * only the cross-instance invalidation can explain a refusal within 100 ms).
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { db } from '../../../src/db.js';
import { graphql } from '../../gql/index.js';
import { startInstance, stopInstance, type Instance } from '../../helpers/instances.js';
import { INTEGRATION_PERMISSIONS, seedTenant, type Seed } from '../../helpers/seed.js';

const onPostgres = inject('databaseKind') === 'postgresql';
/** The product's promise for a revoke seen from another instance. */
const PROPAGATION_BOUND_MS = 100;

const Viewer = graphql(`
  query ScaleOutViewer {
    viewer {
      kind
      permissions
    }
  }
`);

const Revoke = graphql(`
  mutation ScaleOutRevoke($id: ID!) {
    revokeApiKey(id: $id) {
      id
      status
    }
  }
`);

const UpdateGroup = graphql(`
  mutation ScaleOutUpdateGroup($id: ID!, $input: UpdateAuthorizationGroupInput!) {
    updateAuthorizationGroup(id: $id, input: $input) {
      id
      permissions
    }
  }
`);

type Response<T> = { status: number; data?: T | null; errors?: { extensions?: { code?: string; reason?: string } }[] };

async function call<TResult, TVariables>(
  instance: Instance,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
  headers: Record<string, string>,
): Promise<Response<TResult>> {
  const response = await fetch(`${instance.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query: print(document), variables }),
  });
  return { status: response.status, ...((await response.json()) as Omit<Response<TResult>, 'status'>) };
}

/** Calls until `done` holds; returns how long after `since` that was first observed. */
async function msUntil<T>(since: number, attempt: () => Promise<T>, done: (value: T) => boolean, giveUpMs = 5_000): Promise<number> {
  while (Date.now() - since < giveUpMs) {
    if (done(await attempt())) return Date.now() - since;
  }
  return Infinity;
}

describe.runIf(onPostgres)('several instances on one PostgreSQL', () => {
  let one: Instance;
  let two: Instance;
  let seed: Seed;

  beforeAll(async () => {
    seed = await seedTenant();
    // One after the other: both would otherwise race to migrate (which is safe, but slower).
    one = await startInstance();
    two = await startInstance();
  }, 120_000);

  afterAll(async () => {
    await Promise.all([one, two].filter(Boolean).map(stopInstance));
  });

  it('revokeApiKey through one instance: the other refuses the key (401 REVOKED) within 100 ms, its warm cache notwithstanding', async () => {
    const key = await seed.createKey();
    const asKey = { 'x-api-key': key.secret };
    for (const instance of [one, two]) {
      const warm = await call(instance, Viewer, {}, asKey);
      expect(warm.data?.viewer.kind).toBe('API_KEY');
    }

    const revoke = await call(one, Revoke, { id: key.id }, { authorization: `Bearer ${seed.admin.token}` });
    const revokedAt = Date.now();
    expect(revoke.errors).toBeUndefined();
    expect(revoke.data?.revokeApiKey.status).toBe('REVOKED');

    const elapsed = await msUntil(
      revokedAt,
      () => call(two, Viewer, {}, asKey),
      (result) => result.status === 401 && result.errors?.[0]?.extensions?.reason === 'REVOKED',
    );
    expect(elapsed, 'ms from the revoke response until the other instance refused the key').toBeLessThanOrEqual(PROPAGATION_BOUND_MS);
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).status).toBe('REVOKED');
    // And it stays refused on both.
    for (const instance of [one, two]) {
      const after = await call(instance, Viewer, {}, asKey);
      expect(after.status).toBe(401);
      expect(after.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'REVOKED' });
    }
  });

  it('updateAuthorizationGroup through one instance: the other applies the new permissions within 100 ms', async () => {
    const key = await seed.createKey();
    const asKey = { 'x-api-key': key.secret };
    for (const instance of [one, two]) {
      expect((await call(instance, Viewer, {}, asKey)).data?.viewer.permissions).toContain('workflows:trigger');
    }
    const reduced = INTEGRATION_PERMISSIONS.filter((permission) => permission !== 'workflows:trigger');

    const update = await call(one, UpdateGroup, { id: seed.keyGroup.id, input: { permissions: reduced } }, { authorization: `Bearer ${seed.admin.token}` });
    const updatedAt = Date.now();
    expect(update.errors).toBeUndefined();

    const elapsed = await msUntil(
      updatedAt,
      () => call(two, Viewer, {}, asKey),
      (result) => result.data?.viewer.permissions.includes('workflows:trigger') === false,
    );
    expect(elapsed, 'ms from the update response until the other instance applied it').toBeLessThanOrEqual(PROPAGATION_BOUND_MS);
    expect((await call(two, Viewer, {}, asKey)).data?.viewer.permissions).toEqual([...reduced].sort());
  });
});

describe.skipIf(onPostgres)('several instances on one PostgreSQL', () => {
  it.skip('needs PostgreSQL (KEYGATE_TEST_PG_URL): the instances must share one database', () => {});
});
