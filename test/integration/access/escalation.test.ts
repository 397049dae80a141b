/**
 * Nobody grants more than they hold (product.md §2; src/auth/access.ts `assertMayGrant`):
 * for every way access is granted — users, authorization groups and keys, on create and on
 * update — an actor never ends up able to do more than it could before. Each refusal is
 * FORBIDDEN and leaves the database as it was.
 */
import { describe, expect, it } from 'vitest';
import { PERMISSIONS, type Permission } from '../../../src/auth/permissions.js';
import { db } from '../../../src/db.js';
import { createAuthorizationGroup } from '../../../src/modules/authorization-group/authorization-group.service.js';
import { errorOf, execute, ok } from '../../helpers/app.js';
import { seedTenant, signedIn, unique, type Seed } from '../../helpers/seed.js';
import { AddTrustedDocuments, CreateGroup, CreateKey, CreateUser, DeleteWorkspace, RevokeKey, RotateKey, UpdateGroup, UpdateKey } from './documents.js';

async function group(seed: Seed, type: 'USER' | 'TENANT_API_KEY', permissions: Permission[]) {
  return createAuthorizationGroup(seed.platform.principal, { tenantId: seed.tenant.id, name: unique('Group'), type, permissions });
}

/** A member of the seeded tenant whose USER group grants exactly `permissions`. */
async function memberHolding(seed: Seed, permissions: Permission[]) {
  const own = await group(seed, 'USER', permissions);
  return { ...(await signedIn(seed.tenant.id, 'MEMBER', own.id)), groupId: own.id };
}

/** Everything a tenant's grants are made of, to compare before and after a refusal. */
async function grants(tenantId: string) {
  const [users, groups, keys] = await Promise.all([
    db.user.findMany({ where: { tenantId }, orderBy: { id: 'asc' }, select: { id: true, role: true, authorizationGroupId: true } }),
    db.authorizationGroup.findMany({ where: { tenantId }, orderBy: { id: 'asc' }, select: { id: true, permissions: true } }),
    db.apiKey.findMany({ where: { tenantId }, orderBy: { id: 'asc' }, select: { id: true, authorizationGroupId: true, secretDigest: true, status: true } }),
  ]);
  return { users, groups, keys };
}

async function expectRefusedWithoutWrites(seed: Seed, call: () => ReturnType<typeof execute>, missing: string) {
  const before = await grants(seed.tenant.id);
  const result = await call();
  expect(errorOf(result)).toMatchObject({ code: 'FORBIDDEN' });
  expect(errorOf(result).message).toContain(missing);
  expect(await grants(seed.tenant.id)).toEqual(before);
}

describe('users: the actor holds every permission the new user gets', () => {
  it('a member holding only users:manage cannot create a user in an all-permission group', async () => {
    const seed = await seedTenant();
    const actor = await memberHolding(seed, ['users:manage']);
    const everything = await group(seed, 'USER', [...PERMISSIONS]);
    const input = { email: `${unique('escalated')}@example.test`, password: 'long-enough-password', authorizationGroupId: everything.id };
    await expectRefusedWithoutWrites(seed, () => execute(CreateUser, { input }, { token: actor.token }), 'api_keys:manage');
  });

  it('a member holding only users:manage cannot create a TENANT_ADMIN', async () => {
    const seed = await seedTenant();
    const actor = await memberHolding(seed, ['users:manage']);
    const input = { email: `${unique('admin')}@example.test`, password: 'long-enough-password', role: 'TENANT_ADMIN' as const };
    await expectRefusedWithoutWrites(seed, () => execute(CreateUser, { input }, { token: actor.token }), 'tenant administrators');
  });

  it('a member may create a user whose group grants only what the member holds', async () => {
    const seed = await seedTenant();
    const actor = await memberHolding(seed, ['users:manage', 'audit:read']);
    const auditors = await group(seed, 'USER', ['audit:read']);
    const input = { email: `${unique('auditor')}@example.test`, password: 'long-enough-password', authorizationGroupId: auditors.id };
    const { createUser } = await ok(CreateUser, { input }, { token: actor.token });
    expect(await db.user.findUniqueOrThrow({ where: { id: createUser.id } })).toMatchObject({ role: 'MEMBER', authorizationGroupId: auditors.id });
  });
});

describe('authorization groups: the actor holds every permission it puts in a group', () => {
  it('a member holding only authorization_groups:manage cannot add api_keys:manage to its own group', async () => {
    const seed = await seedTenant();
    const actor = await memberHolding(seed, ['authorization_groups:manage']);
    await expectRefusedWithoutWrites(
      seed,
      () => execute(UpdateGroup, { id: actor.groupId, input: { permissions: ['authorization_groups:manage', 'api_keys:manage'] } }, { token: actor.token }),
      'api_keys:manage',
    );
  });

  it('nor create a group with a permission it lacks, of either type', async () => {
    const seed = await seedTenant();
    const actor = await memberHolding(seed, ['authorization_groups:manage']);
    for (const type of ['USER', 'TENANT_API_KEY'] as const) {
      const input = { name: unique('Escalation'), type, permissions: ['workflows:trigger'] };
      await expectRefusedWithoutWrites(seed, () => execute(CreateGroup, { input }, { token: actor.token }), 'workflows:trigger');
    }
  });

  it('may create groups within what it holds, and remove from a group what it does not hold', async () => {
    const seed = await seedTenant();
    const actor = await memberHolding(seed, ['authorization_groups:manage', 'projects:manage']);
    const input = { name: unique('Builders'), type: 'TENANT_API_KEY' as const, permissions: ['projects:manage', 'projects:read'] };
    const { createAuthorizationGroup: created } = await ok(CreateGroup, { input }, { token: actor.token });
    expect([...created.permissions].sort()).toEqual(['projects:manage', 'projects:read']);

    const wide = await group(seed, 'TENANT_API_KEY', ['projects:manage', 'users:manage']);
    const { updateAuthorizationGroup: narrowed } = await ok(UpdateGroup, { id: wide.id, input: { permissions: ['projects:manage'] } }, { token: actor.token });
    expect(narrowed.permissions).toEqual(['projects:manage']);
  });

  it('cannot rename, loosen or trust documents for a group that keeps a permission it lacks', async () => {
    const seed = await seedTenant();
    const actor = await memberHolding(seed, ['authorization_groups:manage', 'projects:read']);
    const guarded = await group(seed, 'TENANT_API_KEY', ['projects:read', 'data:deliver']);
    await db.authorizationGroup.update({ where: { id: guarded.id }, data: { operationPolicy: 'TRUSTED_ONLY' } });
    const credentials = { token: actor.token };
    const controlsBefore = await db.authorizationGroup.findUniqueOrThrow({ where: { id: guarded.id } });

    await expectRefusedWithoutWrites(seed, () => execute(UpdateGroup, { id: guarded.id, input: { name: unique('Renamed') } }, credentials), 'data:deliver');
    await expectRefusedWithoutWrites(seed, () => execute(UpdateGroup, { id: guarded.id, input: { operationPolicy: 'ANY' } }, credentials), 'data:deliver');
    const documents = ['query Trusted { viewer { kind } }'];
    await expectRefusedWithoutWrites(seed, () => execute(AddTrustedDocuments, { authorizationGroupId: guarded.id, documents }, credentials), 'data:deliver');
    expect(await db.authorizationGroup.findUniqueOrThrow({ where: { id: guarded.id } })).toEqual(controlsBefore);
    expect(await db.trustedDocument.count({ where: { authorizationGroupId: guarded.id } })).toBe(0);

    // Once what it lacks is gone, the rest is its own to edit.
    await ok(UpdateGroup, { id: guarded.id, input: { permissions: ['projects:read'] } }, credentials);
    await ok(UpdateGroup, { id: guarded.id, input: { operationPolicy: 'ANY' } }, credentials);
    expect(await db.authorizationGroup.findUniqueOrThrow({ where: { id: guarded.id } })).toMatchObject({ operationPolicy: 'ANY' });
  });
});

describe('API keys: the actor holds every permission of the key’s group', () => {
  it('a member with api_keys:manage but not workspaces:manage cannot create a key in an all-permission group', async () => {
    const seed = await seedTenant();
    const actor = await memberHolding(seed, ['api_keys:manage']);
    const everything = await group(seed, 'TENANT_API_KEY', [...PERMISSIONS]);
    await expectRefusedWithoutWrites(
      seed,
      () => execute(CreateKey, { input: { name: 'Escalation', authorizationGroupId: everything.id } }, { token: actor.token }),
      'workspaces:manage',
    );
    // And so the workspace it would have deleted with that key is still there.
    expect(await db.workspace.count({ where: { id: seed.workspace.id } })).toBe(1);
    expect(errorOf(await execute(DeleteWorkspace, { id: seed.workspace.id }, { token: actor.token })).code).toBe('FORBIDDEN');
  });

  it('cannot move a key into a group with more than it holds, nor rotate a key of such a group (its secret is power)', async () => {
    const seed = await seedTenant();
    const actor = await memberHolding(seed, ['api_keys:manage']);
    const everything = await group(seed, 'TENANT_API_KEY', [...PERMISSIONS]);
    const modest = await seed.createKey({ authorizationGroupId: (await group(seed, 'TENANT_API_KEY', ['api_keys:read'])).id });
    const mighty = await seed.createKey({ authorizationGroupId: everything.id });

    await expectRefusedWithoutWrites(seed, () => execute(UpdateKey, { id: modest.id, input: { authorizationGroupId: everything.id } }, { token: actor.token }), 'workspaces:manage');
    await expectRefusedWithoutWrites(seed, () => execute(RotateKey, { id: mighty.id }, { token: actor.token }), 'workspaces:manage');
    await expectRefusedWithoutWrites(seed, () => execute(UpdateKey, { id: mighty.id, input: { ipAllowlist: [] } }, { token: actor.token }), 'workspaces:manage');
  });

  it('may revoke any key of its tenant: revoking takes power away, and a leaked key must die fast', async () => {
    const seed = await seedTenant();
    const actor = await memberHolding(seed, ['api_keys:manage']);
    const mighty = await seed.createKey({ authorizationGroupId: (await group(seed, 'TENANT_API_KEY', [...PERMISSIONS])).id });
    const { revokeApiKey } = await ok(RevokeKey, { id: mighty.id }, { token: actor.token });
    expect(revokeApiKey.status).toBe('REVOKED');
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: mighty.id } })).status).toBe('REVOKED');
  });
});

describe('property: whatever an actor holds, what it grants stays within it', () => {
  // A few actors with different holdings; each tries to grant the whole catalogue every way.
  const holdings: Permission[][] = [
    ['users:manage'],
    ['authorization_groups:manage'],
    ['api_keys:manage'],
    ['users:manage', 'authorization_groups:manage', 'api_keys:manage'],
  ];
  for (const held of holdings) {
    it(`a member holding ${held.join(' + ')} cannot grant the whole catalogue in any way`, async () => {
      const seed = await seedTenant();
      const actor = await memberHolding(seed, held);
      const userEverything = await group(seed, 'USER', [...PERMISSIONS]);
      const keyEverything = await group(seed, 'TENANT_API_KEY', [...PERMISSIONS]);
      const key = await seed.createKey();
      const credentials = { token: actor.token };
      const attempts = [
        () => execute(CreateUser, { input: { email: `${unique('p')}@example.test`, password: 'long-enough-password', authorizationGroupId: userEverything.id } }, credentials),
        () => execute(CreateGroup, { input: { name: unique('All'), type: 'USER', permissions: [...PERMISSIONS] } }, credentials),
        () => execute(UpdateGroup, { id: actor.groupId, input: { permissions: [...PERMISSIONS] } }, credentials),
        () => execute(CreateKey, { input: { name: 'All', authorizationGroupId: keyEverything.id } }, credentials),
        () => execute(UpdateKey, { id: key.id, input: { authorizationGroupId: keyEverything.id } }, credentials),
      ];
      const before = await grants(seed.tenant.id);
      for (const attempt of attempts) expect(errorOf(await attempt()).code).toBe('FORBIDDEN');
      expect(await grants(seed.tenant.id)).toEqual(before);
    });
  }
});
