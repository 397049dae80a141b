import { describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { errorOf, execute, ok } from '../../helpers/app.js';
import { seedTenant, type Seed } from '../../helpers/seed.js';
import { CreateKey, KeyUsage, RevokeKey, UpdateTenantLimit } from './documents.js';

const createAsAdmin = (seed: Seed, name: string) =>
  execute(CreateKey, { input: { name, authorizationGroupId: seed.keyGroup.id } }, { token: seed.admin.token });

async function activeKeys(tenantId: string) {
  const [rows, tenant] = await Promise.all([
    db.apiKey.count({ where: { tenantId, status: 'ACTIVE' } }),
    db.tenant.findUniqueOrThrow({ where: { id: tenantId } }),
  ]);
  return { rows, counter: tenant.activeApiKeyCount };
}

describe('createApiKey: the tenant limit', () => {
  it('createApiKey: fails with KEY_LIMIT_REACHED when the tenant limit is reached, and writes nothing', async () => {
    const seed = await seedTenant({ apiKeyLimit: 2 });
    await ok(CreateKey, { input: { name: 'First', authorizationGroupId: seed.keyGroup.id } }, { token: seed.admin.token });
    await ok(CreateKey, { input: { name: 'Second', authorizationGroupId: seed.keyGroup.id } }, { token: seed.admin.token });

    const refused = await createAsAdmin(seed, 'Third');
    expect(refused.data).toBeNull();
    expect(errorOf(refused)).toMatchObject({ code: 'KEY_LIMIT_REACHED' });
    expect(await activeKeys(seed.tenant.id)).toEqual({ rows: 2, counter: 2 });
    expect(await db.apiKey.count({ where: { tenantId: seed.tenant.id } })).toBe(2);
    expect(await db.auditEvent.count({ where: { tenantId: seed.tenant.id, action: 'api_key.created' } })).toBe(2);
  });

  it('apiKeyUsage: answers { active, limit } for the caller’s tenant', async () => {
    const seed = await seedTenant({ apiKeyLimit: 5 });
    expect((await ok(KeyUsage, {}, { token: seed.member.token })).apiKeyUsage).toEqual({ active: 0, limit: 5 });
    await seed.createKey();
    await seed.createKey();
    const revoked = await seed.createKey();
    await ok(RevokeKey, { id: revoked.id }, { token: seed.admin.token });
    expect((await ok(KeyUsage, {}, { token: seed.admin.token })).apiKeyUsage).toEqual({ active: 2, limit: 5 });
    expect((await ok(KeyUsage, { tenantId: seed.tenant.id }, { token: seed.platform.token })).apiKeyUsage).toEqual({ active: 2, limit: 5 });
  });

  it('createApiKey: a revoked key frees its slot', async () => {
    const seed = await seedTenant({ apiKeyLimit: 1 });
    const first = await ok(CreateKey, { input: { name: 'Only', authorizationGroupId: seed.keyGroup.id } }, { token: seed.admin.token });
    expect(errorOf(await createAsAdmin(seed, 'Too many')).code).toBe('KEY_LIMIT_REACHED');

    await ok(RevokeKey, { id: first.createApiKey.apiKey.id }, { token: seed.admin.token });
    expect((await ok(KeyUsage, {}, { token: seed.admin.token })).apiKeyUsage).toEqual({ active: 0, limit: 1 });

    const replacement = await createAsAdmin(seed, 'Replacement');
    expect(replacement.errors).toBeUndefined();
    expect(await activeKeys(seed.tenant.id)).toEqual({ rows: 1, counter: 1 });
    expect(errorOf(await createAsAdmin(seed, 'Too many again')).code).toBe('KEY_LIMIT_REACHED');
  });

  it('KEY_LIMIT_REACHED says how many keys are active, also after the limit was lowered below them', async () => {
    const seed = await seedTenant({ apiKeyLimit: 3 });
    for (let i = 0; i < 3; i++) await seed.createKey();
    await ok(UpdateTenantLimit, { id: seed.tenant.id, limit: 1 }, { token: seed.platform.token });
    const refused = errorOf(await createAsAdmin(seed, 'Over the lowered limit'));
    expect(refused).toMatchObject({ code: 'KEY_LIMIT_REACHED' });
    expect(refused.message).toBe('The tenant has 3 active API keys; its limit is 1. Revoke a key or raise the limit.');
  });

  it('updateTenant: a platform admin raises the limit, and creation works again', async () => {
    const seed = await seedTenant({ apiKeyLimit: 1 });
    await seed.createKey();
    expect(errorOf(await createAsAdmin(seed, 'Blocked')).code).toBe('KEY_LIMIT_REACHED');

    const denied = await execute(UpdateTenantLimit, { id: seed.tenant.id, limit: 50 }, { token: seed.admin.token });
    expect(errorOf(denied).code).toBe('FORBIDDEN');
    expect((await db.tenant.findUniqueOrThrow({ where: { id: seed.tenant.id } })).apiKeyLimit).toBe(1);

    const { updateTenant } = await ok(UpdateTenantLimit, { id: seed.tenant.id, limit: 3 }, { token: seed.platform.token });
    expect(updateTenant.apiKeyLimit).toBe(3);
    expect((await ok(KeyUsage, {}, { token: seed.admin.token })).apiKeyUsage).toEqual({ active: 1, limit: 3 });
    expect((await createAsAdmin(seed, 'Allowed now')).errors).toBeUndefined();
    expect((await createAsAdmin(seed, 'Allowed too')).errors).toBeUndefined();
    expect(errorOf(await createAsAdmin(seed, 'Over again')).code).toBe('KEY_LIMIT_REACHED');
    expect((await ok(KeyUsage, {}, { token: seed.admin.token })).apiKeyUsage).toEqual({ active: 3, limit: 3 });
  });

  it('createApiKey: 50 simultaneous creates against a limit of 10 leave exactly 10 keys', async () => {
    const seed = await seedTenant({ apiKeyLimit: 10 });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => createAsAdmin(seed, `Concurrent ${i}`)));

    const succeeded = results.filter((r) => !r.errors && r.data?.createApiKey.secret);
    const limited = results.filter((r) => errorOf(r).code === 'KEY_LIMIT_REACHED');
    const other = results.filter((r) => r.errors && errorOf(r).code !== 'KEY_LIMIT_REACHED').map((r) => errorOf(r));
    expect(other).toEqual([]);
    expect(succeeded).toHaveLength(10);
    expect(limited).toHaveLength(40);

    expect(await activeKeys(seed.tenant.id)).toEqual({ rows: 10, counter: 10 });
    expect(await db.apiKey.count({ where: { tenantId: seed.tenant.id } })).toBe(10);
    const ids = new Set(succeeded.map((r) => r.data!.createApiKey.apiKey.id));
    const stored = await db.apiKey.findMany({ where: { tenantId: seed.tenant.id }, select: { id: true } });
    expect(new Set(stored.map((k) => k.id))).toEqual(ids);
    expect((await ok(KeyUsage, {}, { token: seed.admin.token })).apiKeyUsage).toEqual({ active: 10, limit: 10 });
  });
});
