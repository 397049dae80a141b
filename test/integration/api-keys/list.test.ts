import { randomBytes } from 'node:crypto';
import { isObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { schema } from '../../../src/schema/index.js';
import type { ApiKeyStatus, ExpirationState, KeyLcListQuery } from '../../gql/graphql.js';
import { errorOf, execute, ok } from '../../helpers/app.js';
import { seedTenant, type Seed } from '../../helpers/seed.js';
import { DAY_MS, GetKey, ListKeys, RevokeKey } from './documents.js';

/**
 * Inserts `count` active keys straight into the database, one minute apart, newest first
 * in the returned order, and keeps the tenant's active-key counter in step.
 */
async function insertKeys(seed: Seed, count: number): Promise<string[]> {
  const newest = Date.now() - 60_000;
  const rows = Array.from({ length: count }, (_, i) => ({
    id: `${seed.tenant.id}-k${String(i).padStart(4, '0')}`,
    tenantId: seed.tenant.id,
    authorizationGroupId: seed.keyGroup.id,
    name: `Bulk key ${i}`,
    prefix: 'kg_bulk',
    secretDigest: randomBytes(32).toString('hex'),
    ipAllowlist: [],
    createdAt: new Date(newest - i * 60_000),
  }));
  // Shuffled, so that insertion order cannot stand in for createdAt order.
  const shuffled = [...rows].sort(() => Math.random() - 0.5);
  await db.apiKey.createMany({ data: shuffled });
  await db.tenant.update({ where: { id: seed.tenant.id }, data: { apiKeyLimit: count + 10, activeApiKeyCount: count } });
  return rows.map((row) => row.id);
}

async function listAll(token: string, variables: { status?: ApiKeyStatus[]; expirationState?: ExpirationState[]; tenantId?: string }) {
  const { apiKeys } = await ok(ListKeys, { ...variables, first: 100 }, { token });
  expect(apiKeys.pageInfo.hasNextPage).toBe(false);
  return { ids: new Set(apiKeys.edges.map((e) => e.node.id)), totalCount: apiKeys.totalCount, nodes: apiKeys.edges.map((e) => e.node) };
}

describe('apiKeys', () => {
  it('apiKeys: pages through 250 keys newest first, without duplicates or gaps, with totalCount', async () => {
    const seed = await seedTenant();
    const expected = await insertKeys(seed, 250);

    const seen: string[] = [];
    const createdAts: number[] = [];
    let after: string | null | undefined = undefined;
    let pages = 0;
    for (;;) {
      const page: KeyLcListQuery = await ok(ListKeys, { first: 50, after }, { token: seed.admin.token });
      const { apiKeys } = page;
      pages++;
      expect(apiKeys.totalCount).toBe(250);
      expect(apiKeys.edges).toHaveLength(50);
      seen.push(...apiKeys.edges.map((edge) => edge.node.id));
      createdAts.push(...apiKeys.edges.map((edge) => new Date(edge.node.createdAt).getTime()));
      expect(apiKeys.pageInfo.endCursor).toBe(apiKeys.edges.at(-1)!.cursor);
      if (!apiKeys.pageInfo.hasNextPage) break;
      after = apiKeys.pageInfo.endCursor;
      expect(pages).toBeLessThan(10);
    }
    expect(pages).toBe(5);
    expect(new Set(seen).size).toBe(250);
    expect(seen).toEqual(expected);
    expect(createdAts).toEqual([...createdAts].sort((a, b) => b - a));
  });

  it('apiKeys: a member (api_keys:read by default) lists the tenant’s keys, newest first', async () => {
    const seed = await seedTenant();
    const expected = await insertKeys(seed, 12);
    const { apiKeys } = await ok(ListKeys, { first: 5 }, { token: seed.member.token });
    expect(apiKeys.totalCount).toBe(12);
    expect(apiKeys.edges.map((e) => e.node.id)).toEqual(expected.slice(0, 5));
  });

  it('apiKeys: lists ACTIVE keys by default; [ACTIVE, REVOKED] shows revoked keys too', async () => {
    const seed = await seedTenant();
    const active = await seed.createKey();
    const revoked = await seed.createKey();
    await ok(RevokeKey, { id: revoked.id }, { token: seed.admin.token });

    const byDefault = await listAll(seed.admin.token, {});
    expect(byDefault.ids).toEqual(new Set([active.id]));
    expect(byDefault.totalCount).toBe(1);

    const both = await listAll(seed.admin.token, { status: ['ACTIVE', 'REVOKED'] });
    expect(both.ids).toEqual(new Set([active.id, revoked.id]));
    expect(both.totalCount).toBe(2);

    const onlyRevoked = await listAll(seed.admin.token, { status: ['REVOKED'] });
    expect(onlyRevoked.ids).toEqual(new Set([revoked.id]));
    expect(onlyRevoked.nodes[0]!.status).toBe('REVOKED');
  });

  it('apiKeys: filters by expirationState VALID, EXPIRING_SOON (within 7 days) and EXPIRED', async () => {
    const seed = await seedTenant();
    const inDays = (days: number) => new Date(Date.now() + days * DAY_MS);
    const never = await seed.createKey();
    const later = await seed.createKey({ expiresAt: inDays(30) });
    const justOutsideSoon = await seed.createKey({ expiresAt: inDays(7.1) });
    const soon = await seed.createKey({ expiresAt: inDays(3) });
    const justInsideSoon = await seed.createKey({ expiresAt: inDays(6.9) });
    const expired = await seed.createKey({ expiresAt: inDays(1) });
    await db.apiKey.update({ where: { id: expired.id }, data: { expiresAt: new Date(Date.now() - 60_000) } });

    const valid = await listAll(seed.admin.token, { expirationState: ['VALID'] });
    expect(valid.ids).toEqual(new Set([never.id, later.id, justOutsideSoon.id]));
    expect(valid.totalCount).toBe(3);
    expect(valid.nodes.every((n) => n.expirationState === 'VALID')).toBe(true);

    const expiringSoon = await listAll(seed.admin.token, { expirationState: ['EXPIRING_SOON'] });
    expect(expiringSoon.ids).toEqual(new Set([soon.id, justInsideSoon.id]));
    expect(expiringSoon.nodes.every((n) => n.expirationState === 'EXPIRING_SOON')).toBe(true);

    const expiredOnly = await listAll(seed.admin.token, { expirationState: ['EXPIRED'] });
    expect(expiredOnly.ids).toEqual(new Set([expired.id]));
    expect(expiredOnly.nodes[0]!.expirationState).toBe('EXPIRED');

    const needingAttention = await listAll(seed.admin.token, { expirationState: ['EXPIRING_SOON', 'EXPIRED'] });
    expect(needingAttention.ids).toEqual(new Set([soon.id, justInsideSoon.id, expired.id]));
    expect(needingAttention.totalCount).toBe(3);

    expect((await listAll(seed.admin.token, {})).totalCount).toBe(6);
  });

  it('apiKeys: combines the status and expirationState filters', async () => {
    const seed = await seedTenant();
    const revokedExpired = await seed.createKey({ expiresAt: new Date(Date.now() + DAY_MS) });
    const activeExpired = await seed.createKey({ expiresAt: new Date(Date.now() + DAY_MS) });
    await ok(RevokeKey, { id: revokedExpired.id }, { token: seed.admin.token });
    await db.apiKey.updateMany({ where: { id: { in: [revokedExpired.id, activeExpired.id] } }, data: { expiresAt: new Date(Date.now() - DAY_MS) } });

    expect((await listAll(seed.admin.token, { expirationState: ['EXPIRED'] })).ids).toEqual(new Set([activeExpired.id]));
    expect((await listAll(seed.admin.token, { status: ['REVOKED'], expirationState: ['EXPIRED'] })).ids).toEqual(new Set([revokedExpired.id]));
    expect((await listAll(seed.admin.token, { status: ['REVOKED'], expirationState: ['VALID'] })).ids).toEqual(new Set());
  });

  it('apiKeys: the next page still starts after a key that was revoked since the last page (a cursor marks a position)', async () => {
    const seed = await seedTenant();
    const keys = [];
    for (let i = 0; i < 4; i++) keys.push(await seed.createKey({ name: `Paged ${i}` }));
    const token = seed.admin.token;
    const first = (await ok(ListKeys, { first: 2 }, { token })).apiKeys;
    const pageOne = first.edges.map((edge) => edge.node.id);
    expect(pageOne).toEqual([keys[3]!.id, keys[2]!.id]);
    await ok(RevokeKey, { id: keys[2]!.id }, { token });
    const second = (await ok(ListKeys, { first: 2, after: first.pageInfo.endCursor }, { token })).apiKeys;
    expect(second.edges.map((edge) => edge.node.id)).toEqual([keys[1]!.id, keys[0]!.id]);
    // Another tenant's key is still no cursor of this list.
    const stranger = await (await seedTenant()).createKey();
    const foreign = Buffer.from(`GPC:S:${stranger.id}`).toString('base64');
    expect(errorOf(await execute(ListKeys, { first: 2, after: foreign }, { token }))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
  });

  it('apiKeys: lists only the caller’s tenant', async () => {
    const seed = await seedTenant();
    const other = await seedTenant();
    const mine = await seed.createKey();
    await other.createKey();
    const listing = await listAll(seed.admin.token, { status: ['ACTIVE', 'REVOKED'] });
    expect(listing.ids).toEqual(new Set([mine.id]));
  });
});

describe('apiKey(id)', () => {
  it('apiKey: returns one key of the caller’s tenant, revoked ones included', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey({ description: 'Reads orders' });
    const { apiKey } = await ok(GetKey, { id: key.id }, { token: seed.member.token });
    expect(apiKey).toMatchObject({ id: key.id, description: 'Reads orders', prefix: key.prefix, status: 'ACTIVE', tenant: { id: seed.tenant.id } });

    await ok(RevokeKey, { id: key.id }, { token: seed.admin.token });
    expect((await ok(GetKey, { id: key.id }, { token: seed.admin.token })).apiKey.status).toBe('REVOKED');
  });

  it('apiKey: an unknown id is NOT_FOUND', async () => {
    const seed = await seedTenant();
    expect(errorOf(await execute(GetKey, { id: 'no-such-key' }, { token: seed.admin.token })).code).toBe('NOT_FOUND');
  });
});

/** Fields named after the previous secret that hold a time or a count, never a secret. */
const GRACE_TIMES = new Set(['previousSecretExpiresAt', 'previousSecretLastUsedAt']);
const NOT_SECRETS = new Set([...[...GRACE_TIMES].map((name) => `ApiKey.${name}`), 'ApiKeyUsageBucket.acceptedWithPreviousSecret']);

describe('the schema never exposes a secret or digest', () => {
  it('ApiKey has no secret, digest or hash field', () => {
    const apiKey = schema.getType('ApiKey');
    expect(isObjectType(apiKey)).toBe(true);
    const fields = Object.keys((apiKey as import('graphql').GraphQLObjectType).getFields());
    expect(fields).toContain('prefix');
    // The rotation grace's times (product.md §7) name the previous secret; they hold no secret.
    expect(fields.filter((name) => /secret|digest|hash/i.test(name) && !GRACE_TIMES.has(name))).toEqual([]);
  });

  it('only the createApiKey and rotateApiKey payloads carry a secret', () => {
    const exposing = Object.values(schema.getTypeMap())
      .filter(isObjectType)
      .filter((type) => !type.name.startsWith('__'))
      .flatMap((type) => Object.keys(type.getFields()).filter((name) => /secret|digest/i.test(name)).map((name) => `${type.name}.${name}`))
      .filter((field) => !NOT_SECRETS.has(field));
    // Webhook signing secrets are shown once too (creation, rotation); the other two are dates.
    const webhooks = ['Mutation.rotateWebhookEndpointSecret', 'WebhookEndpoint.secretRotatedAt', 'WebhookEndpoint.previousSecretExpiresAt', 'WebhookEndpointWithSecret.signingSecret'];
    expect(exposing.sort()).toEqual(['CreateApiKeyPayload.secret', 'RotateApiKeyPayload.secret', ...webhooks].sort());
  });
});
