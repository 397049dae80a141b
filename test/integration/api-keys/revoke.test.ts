import { describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { schema } from '../../../src/schema/index.js';
import { errorOf, execute, ok } from '../../helpers/app.js';
import { seedTenant } from '../../helpers/seed.js';
import { GetKey, KeyViewer, ListKeys, RevokeKey, UpdateKey } from './documents.js';

describe('revokeApiKey', () => {
  it('revokeApiKey: sets status REVOKED, revokedAt and revokedBy = the admin, and frees the slot', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const started = Date.now();

    const { revokeApiKey } = await ok(RevokeKey, { id: key.id }, { token: seed.admin.token });
    expect(revokeApiKey).toMatchObject({ id: key.id, status: 'REVOKED', revokedBy: { id: seed.admin.user.id } });
    expect(new Date(revokeApiKey.revokedAt!).getTime()).toBeGreaterThanOrEqual(started - 1000);

    const row = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(row.status).toBe('REVOKED');
    expect(row.revokedById).toBe(seed.admin.user.id);
    expect(row.revokedAt!.getTime()).toBeGreaterThanOrEqual(started - 1000);
    expect((await db.tenant.findUniqueOrThrow({ where: { id: seed.tenant.id } })).activeApiKeyCount).toBe(0);
  });

  it('revokeApiKey: the key stays listed with status REVOKED', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    await ok(RevokeKey, { id: key.id }, { token: seed.admin.token });

    const revoked = await ok(ListKeys, { status: ['REVOKED'] }, { token: seed.admin.token });
    expect(revoked.apiKeys.edges.map((e) => e.node)).toEqual([expect.objectContaining({ id: key.id, status: 'REVOKED' })]);
    const active = await ok(ListKeys, {}, { token: seed.admin.token });
    expect(active.apiKeys.totalCount).toBe(0);
    expect((await ok(GetKey, { id: key.id }, { token: seed.member.token })).apiKey.status).toBe('REVOKED');
  });

  it('revokeApiKey: the secret gets 401 with reason REVOKED immediately', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    // Cached as valid first: the revoke must evict it, not wait for the cache to expire.
    expect((await ok(KeyViewer, {}, { apiKey: key.secret })).viewer.apiKey?.id).toBe(key.id);
    expect((await ok(KeyViewer, {}, { apiKey: key.secret })).viewer.apiKey?.id).toBe(key.id);

    await ok(RevokeKey, { id: key.id }, { token: seed.admin.token });

    const result = await execute(KeyViewer, {}, { apiKey: key.secret });
    expect(errorOf(result)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', reason: 'REVOKED' });
    expect(result.data ?? null).toBeNull();
    const bearer = await execute(KeyViewer, {}, { headers: { authorization: `Bearer ${key.secret}` } });
    expect(errorOf(bearer)).toMatchObject({ status: 401, reason: 'REVOKED' });
  });

  it('revokeApiKey: revoking twice is a clear BAD_USER_INPUT error and changes nothing', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const other = await seed.createKey();
    await ok(RevokeKey, { id: key.id }, { token: seed.admin.token });
    const before = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });

    const again = await execute(RevokeKey, { id: key.id }, { token: seed.platform.token });
    expect(again.data).toBeNull();
    expect(errorOf(again)).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(errorOf(again).message).toMatch(/already revoked/);
    expect(await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).toEqual(before);
    // The freed slot is freed once: the counter still counts the other key.
    expect((await db.tenant.findUniqueOrThrow({ where: { id: seed.tenant.id } })).activeApiKeyCount).toBe(1);
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: other.id } })).status).toBe('ACTIVE');
  });

  it('revokeApiKey: concurrent revokes of one key free its slot exactly once', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    await seed.createKey();
    const results = await Promise.all(Array.from({ length: 5 }, () => execute(RevokeKey, { id: key.id }, { token: seed.admin.token })));
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    expect(results.filter((r) => r.errors).map((r) => errorOf(r).code)).toEqual(Array(4).fill('BAD_USER_INPUT'));
    expect((await db.tenant.findUniqueOrThrow({ where: { id: seed.tenant.id } })).activeApiKeyCount).toBe(1);
    expect(await db.auditEvent.count({ where: { targetId: key.id, action: 'api_key.revoked' } })).toBe(1);
  });

  it('revokeApiKey: a revoked key cannot be reactivated: there is no such mutation and editing is refused', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    await ok(RevokeKey, { id: key.id }, { token: seed.admin.token });

    const mutations = Object.keys(schema.getMutationType()!.getFields());
    expect(mutations.filter((name) => /(?<!de)activ|restore|unrevoke|enable/i.test(name))).toEqual([]);
    const updateInput = schema.getType('UpdateApiKeyInput') as import('graphql').GraphQLInputObjectType;
    expect(Object.keys(updateInput.getFields()).sort()).toEqual(['authorizationGroupId', 'description', 'ipAllowlist', 'name']);

    const edit = await execute(UpdateKey, { id: key.id, input: { name: 'Revived' } }, { token: seed.admin.token });
    expect(errorOf(edit)).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).status).toBe('REVOKED');
    expect((await execute(KeyViewer, {}, { apiKey: key.secret })).status).toBe(401);
  });
});
