import { describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { createAuthorizationGroup } from '../../../src/modules/authorization-group/authorization-group.service.js';
import { errorOf, execute, ok, type Credentials } from '../../helpers/app.js';
import { seedTenant, signedIn, type Seed } from '../../helpers/seed.js';
import { CreateKey, GetKey, KeyUsage, KeyViewer, ListKeys, RevokeKey, RotateKey, UpdateKey } from './documents.js';

/** The four management mutations, each against `keyId`, as the given caller. */
function managementCalls(seed: Seed, keyId: string, credentials: Credentials) {
  return {
    createApiKey: () => execute(CreateKey, { input: { name: 'Minted', authorizationGroupId: seed.keyGroup.id } }, credentials),
    updateApiKey: () => execute(UpdateKey, { id: keyId, input: { name: 'Hijacked', ipAllowlist: [] } }, credentials),
    rotateApiKey: () => execute(RotateKey, { id: keyId }, credentials),
    revokeApiKey: () => execute(RevokeKey, { id: keyId }, credentials),
  };
}

const keySnapshot = (id: string) => db.apiKey.findUniqueOrThrow({ where: { id } });

async function expectRefusedEverywhere(seed: Seed, credentials: Credentials, code: string) {
  const target = await seed.createKey({ name: 'Target' });
  const before = { key: await keySnapshot(target.id), keys: await db.apiKey.count({ where: { tenantId: seed.tenant.id } }) };
  for (const [operation, call] of Object.entries(managementCalls(seed, target.id, credentials))) {
    const result = await call();
    expect(errorOf(result).code, operation).toBe(code);
    expect(JSON.stringify(result.data ?? null), operation).not.toMatch(/kg_[0-9A-Za-z]{46}/);
  }
  expect(await keySnapshot(target.id)).toEqual(before.key);
  expect(await db.apiKey.count({ where: { tenantId: seed.tenant.id } })).toBe(before.keys);
}

describe('who may manage API keys', () => {
  it('a member session is FORBIDDEN to create, update, rotate and revoke keys', async () => {
    const seed = await seedTenant();
    await expectRefusedEverywhere(seed, { token: seed.member.token }, 'FORBIDDEN');
  });

  it('a member whose USER group grants api_keys:manage (and what the key grants) can create and manage keys', async () => {
    const seed = await seedTenant();
    const keyManagers = await createAuthorizationGroup(seed.platform.principal, {
      tenantId: seed.tenant.id,
      name: 'Key managers',
      type: 'USER',
      // Nobody grants more than they hold: the key's group has these two on top of the reads.
      permissions: ['api_keys:manage', 'workflows:trigger', 'data:deliver'],
    });
    const manager = await signedIn(seed.tenant.id, 'MEMBER', keyManagers.id);
    const { createApiKey } = await ok(CreateKey, { input: { name: 'By a manager', authorizationGroupId: seed.keyGroup.id } }, { token: manager.token });
    expect(createApiKey.apiKey.createdBy).toEqual({ id: manager.user.id });
    const id = createApiKey.apiKey.id;
    await ok(UpdateKey, { id, input: { name: 'Renamed by a manager' } }, { token: manager.token });
    await ok(RotateKey, { id }, { token: manager.token });
    await ok(RevokeKey, { id }, { token: manager.token });
    expect(await keySnapshot(id)).toMatchObject({ name: 'Renamed by a manager', status: 'REVOKED', revokedById: manager.user.id });
  });

  it('an API key is FORBIDDEN to manage keys, even with api_keys:manage in its group', async () => {
    const seed = await seedTenant();
    const keyAdmins = await createAuthorizationGroup(seed.platform.principal, {
      tenantId: seed.tenant.id,
      name: 'Key admins',
      type: 'TENANT_API_KEY',
      permissions: ['api_keys:manage', 'api_keys:read'],
    });
    const leaked = await seed.createKey({ authorizationGroupId: keyAdmins.id });
    await expectRefusedEverywhere(seed, { apiKey: leaked.secret }, 'FORBIDDEN');
    // It cannot touch itself either.
    for (const [operation, call] of Object.entries(managementCalls(seed, leaked.id, { apiKey: leaked.secret }))) {
      expect(errorOf(await call()).code, operation).toBe('FORBIDDEN');
    }
    expect((await keySnapshot(leaked.id)).status).toBe('ACTIVE');
  });

  it('an ADMIN key of the system tenant, which acts across tenants, is FORBIDDEN to manage keys', async () => {
    const seed = await seedTenant();
    const platformKeys = await createAuthorizationGroup(seed.platform.principal, {
      tenantId: seed.platform.tenant.id,
      name: `Platform key admins ${seed.tenant.id}`,
      type: 'TENANT_API_KEY',
      permissions: ['api_keys:manage', 'api_keys:read'],
    });
    const { createApiKey } = await ok(
      CreateKey,
      { input: { name: 'Cross-tenant automation', authorizationGroupId: platformKeys.id, role: 'ADMIN' } },
      { token: seed.platform.token },
    );
    try {
      const asAdminKey = { apiKey: createApiKey.secret };
      // It does act across tenants (it reads B's keys), yet may not manage any.
      expect((await ok(ListKeys, { tenantId: seed.tenant.id }, asAdminKey)).apiKeys.totalCount).toBe(0);
      await expectRefusedEverywhere(seed, asAdminKey, 'FORBIDDEN');
      const tenantScoped = await execute(
        CreateKey,
        { input: { tenantId: seed.tenant.id, name: 'Minted', authorizationGroupId: seed.keyGroup.id } },
        asAdminKey,
      );
      expect(errorOf(tenantScoped).code).toBe('FORBIDDEN');
    } finally {
      // The system tenant is shared by every test: give its slot back.
      await ok(RevokeKey, { id: createApiKey.apiKey.id }, { token: seed.platform.token });
    }
  });

  it('an anonymous caller gets UNAUTHENTICATED from every management mutation', async () => {
    const seed = await seedTenant();
    await expectRefusedEverywhere(seed, {}, 'UNAUTHENTICATED');
  });

  it('a platform admin manages another tenant’s keys with tenantId', async () => {
    const seed = await seedTenant();
    const asPlatform = { token: seed.platform.token };
    const { createApiKey } = await ok(
      CreateKey,
      { input: { tenantId: seed.tenant.id, name: 'Made by the platform', authorizationGroupId: seed.keyGroup.id } },
      asPlatform,
    );
    const id = createApiKey.apiKey.id;
    expect(createApiKey.apiKey.tenant.id).toBe(seed.tenant.id);
    expect(await keySnapshot(id)).toMatchObject({ tenantId: seed.tenant.id, createdById: seed.platform.user.id });

    const listing = await ok(ListKeys, { tenantId: seed.tenant.id }, asPlatform);
    expect(listing.apiKeys.edges.map((e) => e.node.id)).toEqual([id]);
    expect((await ok(KeyUsage, { tenantId: seed.tenant.id }, asPlatform)).apiKeyUsage).toEqual({ active: 1, limit: 10 });
    expect((await ok(GetKey, { id }, asPlatform)).apiKey.id).toBe(id);

    await ok(UpdateKey, { id, input: { description: 'Edited by the platform' } }, asPlatform);
    const rotated = await ok(RotateKey, { id }, asPlatform);
    expect(rotated.rotateApiKey.apiKey.id).toBe(id);
    const revoked = await ok(RevokeKey, { id }, asPlatform);
    expect(revoked.revokeApiKey).toMatchObject({ status: 'REVOKED', revokedBy: { id: seed.platform.user.id } });
    expect(await keySnapshot(id)).toMatchObject({ description: 'Edited by the platform', status: 'REVOKED' });
  });
});

describe('API keys across tenants', () => {
  async function twoTenants() {
    const a = await seedTenant();
    const b = await seedTenant();
    const bKey = await b.createKey({ name: 'B secret work' });
    return { a, b, bKey, before: await keySnapshot(bKey.id) };
  }

  it.each(['apiKey', 'updateApiKey', 'rotateApiKey', 'revokeApiKey'] as const)(
    "a tenant admin of A calling %s with B's key id gets NOT_FOUND, and B's key is unchanged",
    async (operation) => {
      const { a, b, bKey, before } = await twoTenants();
      const asAdminA = { token: a.admin.token };
      const calls = {
        apiKey: () => execute(GetKey, { id: bKey.id }, asAdminA),
        ...managementCalls(a, bKey.id, asAdminA),
      };
      const result = await calls[operation]();
      expect(result.data).toBeNull();
      expect(errorOf(result).code).toBe('NOT_FOUND');
      expect(JSON.stringify(result.errors)).not.toContain('B secret work');
      expect(await keySnapshot(bKey.id)).toEqual(before);
      expect((await ok(GetKey, { id: bKey.id }, { token: b.admin.token })).apiKey).toMatchObject({ name: 'B secret work', status: 'ACTIVE' });
      expect((await execute(KeyViewer, {}, { apiKey: bKey.secret })).status).toBe(200);
    },
  );

  it("apiKeys and apiKeyUsage with B's tenantId are NOT_FOUND for A's admin and member", async () => {
    const { a, b } = await twoTenants();
    for (const token of [a.admin.token, a.member.token]) {
      expect(errorOf(await execute(ListKeys, { tenantId: b.tenant.id }, { token })).code).toBe('NOT_FOUND');
      expect(errorOf(await execute(KeyUsage, { tenantId: b.tenant.id }, { token })).code).toBe('NOT_FOUND');
    }
  });

  it("createApiKey with B's tenantId is NOT_FOUND for A's admin, and nothing is created in B", async () => {
    const { a, b } = await twoTenants();
    const before = await db.apiKey.count({ where: { tenantId: b.tenant.id } });
    for (const groupId of [b.keyGroup.id, a.keyGroup.id]) {
      const result = await execute(
        CreateKey,
        { input: { tenantId: b.tenant.id, name: 'Planted', authorizationGroupId: groupId } },
        { token: a.admin.token },
      );
      expect(errorOf(result).code).toBe('NOT_FOUND');
    }
    expect(await db.apiKey.count({ where: { tenantId: b.tenant.id } })).toBe(before);
    expect(await db.apiKey.count({ where: { tenantId: a.tenant.id } })).toBe(0);
  });

  it("an unknown key id and another tenant's key id give the same NOT_FOUND answer", async () => {
    const { a, bKey } = await twoTenants();
    const foreign = await execute(RevokeKey, { id: bKey.id }, { token: a.admin.token });
    const unknown = await execute(RevokeKey, { id: 'no-such-key' }, { token: a.admin.token });
    expect(errorOf(foreign)).toEqual({ ...errorOf(unknown) });
  });
});
