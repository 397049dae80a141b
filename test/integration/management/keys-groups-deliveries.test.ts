/**
 * dataDeliveries, rotateApiKey with a new expiry, deleteAuthorizationGroup's soft delete,
 * WorkflowRun.triggeredBy and the described permission catalogue, through the real app.
 */
import { describe, expect, it } from 'vitest';
import { PERMISSIONS } from '../../../src/auth/permissions.js';
import { db } from '../../../src/db.js';
import { revokeApiKey } from '../../../src/modules/api-key/api-key.service.js';
import { createAuthorizationGroup } from '../../../src/modules/authorization-group/authorization-group.service.js';
import { createProject } from '../../../src/modules/project/project.service.js';
import { errorOf, execute, ok } from '../../helpers/app.js';
import { createUserRow, seedTenant, unique, type Seed } from '../../helpers/seed.js';
import {
  CreateKey,
  DeactivateUser,
  DeleteGroup,
  DeliverData,
  KeyWithCreator,
  ListDeliveries,
  ListGroups,
  ListRuns,
  Permissions,
  RotateKey,
  TriggerWorkflow,
  UpdateUser,
} from './documents.js';

const DAY = 24 * 3600_000;

describe('dataDeliveries', () => {
  it('reads back a project’s deliveries newest first, payload included, in pages, with totalCount', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    for (const n of [1, 2, 3]) {
      await ok(DeliverData, { input: { projectId: seed.project.id, source: `erp-${n}`, payload: { orders: n, nested: { ok: true } } } }, { apiKey: key.secret });
    }
    const other = await createProject(seed.platform.principal, { workspaceId: seed.workspace.id, name: 'Elsewhere' }, null);
    await ok(DeliverData, { input: { projectId: other.id, source: 'elsewhere', payload: {} } }, { apiKey: key.secret });

    const page = (await ok(ListDeliveries, { projectId: seed.project.id, first: 2 }, { token: seed.member.token })).dataDeliveries;
    expect(page.totalCount).toBe(3);
    expect(page.edges.map((e) => e.node)).toEqual([
      { id: expect.any(String), source: 'erp-3', payload: { orders: 3, nested: { ok: true } }, deliveredBy: { kind: 'API_KEY' } },
      { id: expect.any(String), source: 'erp-2', payload: { orders: 2, nested: { ok: true } }, deliveredBy: { kind: 'API_KEY' } },
    ]);
    const rest = (await ok(ListDeliveries, { projectId: seed.project.id, first: 2, after: page.pageInfo.endCursor }, { apiKey: key.secret })).dataDeliveries;
    expect(rest.edges.map((e) => e.node.source)).toEqual(['erp-1']);
    expect(rest.pageInfo.hasNextPage).toBe(false);
  });

  it('another tenant’s project is NOT_FOUND; a project outside a key’s selection is FORBIDDEN; a foreign cursor is BAD_USER_INPUT', async () => {
    const [seed, other] = await Promise.all([seedTenant(), seedTenant()]);
    const key = await seed.createKey();
    await ok(DeliverData, { input: { projectId: seed.project.id, source: 'erp', payload: { secret: 'business data' } } }, { apiKey: key.secret });
    const result = await execute(ListDeliveries, { projectId: seed.project.id }, { token: other.admin.token });
    expect(errorOf(result).code).toBe('NOT_FOUND');
    expect(JSON.stringify(result)).not.toContain('business data');

    const elsewhere = await createProject(seed.platform.principal, { workspaceId: seed.workspace.id, name: 'Elsewhere' }, null);
    const selected = await seed.createKey({ projectAccess: 'SELECTED', projectIds: [elsewhere.id] });
    expect(errorOf(await execute(ListDeliveries, { projectId: seed.project.id }, { apiKey: selected.secret })).code).toBe('FORBIDDEN');

    const otherKey = await other.createKey();
    await ok(DeliverData, { input: { projectId: other.project.id, source: 'theirs', payload: {} } }, { apiKey: otherKey.secret });
    const foreign = (await ok(ListDeliveries, { projectId: other.project.id, first: 1 }, { token: other.admin.token })).dataDeliveries.pageInfo.endCursor;
    const paged = await execute(ListDeliveries, { projectId: seed.project.id, first: 1, after: foreign }, { token: seed.admin.token });
    expect(errorOf(paged)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
  });
});

describe('rotateApiKey with an expiry', () => {
  it('sets a new expiry with the rules of creation; without input the expiry stays; NEVER removes it', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey({ expiresIn: 'DAYS_90' });
    const expiry = (await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).expiresAt!;
    const asAdmin = { token: seed.admin.token };

    const kept = (await ok(RotateKey, { id: key.id }, asAdmin)).rotateApiKey.apiKey;
    expect(new Date(kept.expiresAt!).getTime()).toBe(expiry.getTime());

    const before = Date.now();
    const soon = (await ok(RotateKey, { id: key.id, input: { expiresIn: 'DAYS_7' } }, asAdmin)).rotateApiKey;
    expect(soon.apiKey.expirationState).toBe('EXPIRING_SOON');
    const stored = (await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).expiresAt!.getTime();
    expect(stored).toBeGreaterThanOrEqual(before + 7 * DAY);
    expect(stored).toBeLessThanOrEqual(Date.now() + 7 * DAY);
    const event = await db.auditEvent.findFirstOrThrow({ where: { action: 'api_key.rotated', targetId: key.id }, orderBy: { createdAt: 'desc' } });
    expect(event.metadata).toMatchObject({ expiresAt: new Date(stored).toISOString(), previousExpiresAt: expiry.toISOString() });

    const at = new Date(Date.now() + 30 * DAY).toISOString();
    await ok(RotateKey, { id: key.id, input: { expiresAt: at } }, asAdmin);
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).expiresAt!.toISOString()).toBe(at);

    const never = (await ok(RotateKey, { id: key.id, input: { expiresIn: 'NEVER' } }, asAdmin)).rotateApiKey;
    expect(never.apiKey.expiresAt).toBeNull();
    // The latest secret works.
    expect((await execute('{ viewer { kind } }', {}, { apiKey: never.secret })).errors).toBeUndefined();
  });

  it('a past expiresAt, or both expiresAt and expiresIn, is BAD_USER_INPUT naming the field; the secret is not rotated', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const stored = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    const past = await execute(RotateKey, { id: key.id, input: { expiresAt: new Date(Date.now() - 60_000).toISOString() } }, { token: seed.admin.token });
    expect(errorOf(past)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'expiresAt' });
    const both = await execute(RotateKey, { id: key.id, input: { expiresAt: new Date(Date.now() + DAY).toISOString(), expiresIn: 'DAYS_7' } }, { token: seed.admin.token });
    expect(errorOf(both)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'expiresIn' });
    expect(await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).toMatchObject({ secretDigest: stored.secretDigest, expiresAt: null, rotatedAt: null });
    expect((await execute('{ viewer { kind } }', {}, { apiKey: key.secret })).errors).toBeUndefined();
  });

  it('another tenant’s key is NOT_FOUND and keeps its secret', async () => {
    const [seed, other] = await Promise.all([seedTenant(), seedTenant()]);
    const key = await seed.createKey();
    const digest = (await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).secretDigest;
    expect(errorOf(await execute(RotateKey, { id: key.id, input: { expiresIn: 'NEVER' } }, { token: other.admin.token })).code).toBe('NOT_FOUND');
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).secretDigest).toBe(digest);
  });
});

describe('deleteAuthorizationGroup', () => {
  async function keyGroup(seed: Seed) {
    return createAuthorizationGroup(seed.platform.principal, { tenantId: seed.tenant.id, name: unique('Keys'), type: 'TENANT_API_KEY', permissions: ['projects:read'] });
  }

  it('is refused while an ACTIVE key uses the group; once revoked, the group is soft-deleted and the key keeps showing its name', async () => {
    const seed = await seedTenant();
    const group = await keyGroup(seed);
    const key = await seed.createKey({ authorizationGroupId: group.id });
    const refused = await execute(DeleteGroup, { id: group.id }, { token: seed.admin.token });
    expect(errorOf(refused)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    expect(errorOf(refused).message).toContain('1 active API key(s)');
    expect((await db.authorizationGroup.findUniqueOrThrow({ where: { id: group.id } })).deletedAt).toBeNull();

    await revokeApiKey(seed.platform.principal, key.id);
    expect((await ok(DeleteGroup, { id: group.id }, { token: seed.admin.token })).deleteAuthorizationGroup).toBe(group.id);
    expect((await db.authorizationGroup.findUniqueOrThrow({ where: { id: group.id } })).deletedAt).not.toBeNull();
    const shown = (await ok(KeyWithCreator, { id: key.id }, { token: seed.admin.token })).apiKey.authorizationGroup;
    expect(shown).toMatchObject({ id: group.id, name: group.name, deletedAt: expect.any(String) });

    // Hidden from the list, and no longer assignable, editable or deletable.
    expect((await ok(ListGroups, {}, { token: seed.admin.token })).authorizationGroups.map((g) => g.id)).not.toContain(group.id);
    const assign = await execute(CreateKey, { input: { name: 'new key', authorizationGroupId: group.id } }, { token: seed.admin.token });
    expect(errorOf(assign)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'authorizationGroupId' });
    expect(errorOf(await execute(DeleteGroup, { id: group.id }, { token: seed.admin.token })).code).toBe('NOT_FOUND');
    const event = await db.auditEvent.findFirstOrThrow({ where: { action: 'authorization_group.deleted', targetId: group.id } });
    expect(event.metadata).toMatchObject({ keptForHistory: true });
  });

  it('is refused while an active user uses a USER group; a deactivated user does not block it; an unused group is deleted outright', async () => {
    const seed = await seedTenant();
    const userGroup = await createAuthorizationGroup(seed.platform.principal, { tenantId: seed.tenant.id, name: unique('People'), type: 'USER', permissions: [] });
    const user = await createUserRow(seed.tenant.id, 'MEMBER', userGroup.id);
    expect(errorOf(await execute(DeleteGroup, { id: userGroup.id }, { token: seed.admin.token })).message).toContain('1 active user(s)');
    await ok(DeactivateUser, { id: user.id }, { token: seed.admin.token });
    await ok(DeleteGroup, { id: userGroup.id }, { token: seed.admin.token });
    expect((await db.user.findUniqueOrThrow({ where: { id: user.id }, include: { authorizationGroup: true } })).authorizationGroup?.name).toBe(userGroup.name);
    // A deleted USER group cannot be given to anyone any more.
    const assign = await execute(UpdateUser, { id: seed.member.user.id, input: { authorizationGroupId: userGroup.id } }, { token: seed.admin.token });
    expect(errorOf(assign)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'authorizationGroupId' });

    const unused = await keyGroup(seed);
    await ok(DeleteGroup, { id: unused.id }, { token: seed.admin.token });
    expect(await db.authorizationGroup.count({ where: { id: unused.id } })).toBe(0);
  });

  it('another tenant’s group is NOT_FOUND and stays', async () => {
    const [seed, other] = await Promise.all([seedTenant(), seedTenant()]);
    const group = await keyGroup(seed);
    expect(errorOf(await execute(DeleteGroup, { id: group.id }, { token: other.admin.token })).code).toBe('NOT_FOUND');
    expect(await db.authorizationGroup.findUniqueOrThrow({ where: { id: group.id } })).toMatchObject({ deletedAt: null });
  });
});

describe('WorkflowRun.triggeredBy', () => {
  it('shows the key to those who may read keys, the tenant’s user to its tenant, and never a platform administrator', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey({ name: 'integration' });
    const byKey = (await ok(TriggerWorkflow, { input: { projectId: seed.project.id, workflowId: seed.workflow.id } }, { apiKey: key.secret })).triggerWorkflow;
    expect(byKey.triggeredBy).toEqual({ kind: 'API_KEY', apiKey: { id: key.id, name: 'integration' }, user: null });
    expect(byKey.triggeredByKind).toBe('API_KEY');

    await ok(TriggerWorkflow, { input: { projectId: seed.project.id, workflowId: seed.workflow.id } }, { token: seed.admin.token });
    await ok(TriggerWorkflow, { input: { projectId: seed.project.id, workflowId: seed.workflow.id } }, { token: seed.platform.token });

    const runs = (await ok(ListRuns, { projectId: seed.project.id }, { token: seed.member.token })).workflowRuns.edges.map((e) => e.node.triggeredBy);
    expect(runs).toEqual([
      { kind: 'USER', apiKey: null, user: null },
      { kind: 'USER', apiKey: null, user: { id: seed.admin.user.id, email: seed.admin.user.email } },
      { kind: 'API_KEY', apiKey: { id: key.id }, user: null },
    ]);

    // A key that may trigger but not read keys sees kinds only; keys never see users.
    const triggerOnly = await createAuthorizationGroup(seed.platform.principal, { tenantId: seed.tenant.id, name: 'Trigger only', type: 'TENANT_API_KEY', permissions: ['workflows:trigger'] });
    const narrow = await seed.createKey({ authorizationGroupId: triggerOnly.id });
    const seen = (await ok(ListRuns, { projectId: seed.project.id }, { apiKey: narrow.secret })).workflowRuns.edges.map((e) => e.node.triggeredBy);
    expect(seen).toEqual([
      { kind: 'USER', apiKey: null, user: null },
      { kind: 'USER', apiKey: null, user: null },
      { kind: 'API_KEY', apiKey: null, user: null },
    ]);
  });
});

describe('permissions', () => {
  it('describes every permission of the catalogue, in the catalogue’s order', async () => {
    const { permissions, permissionCatalogue } = await ok(Permissions, {});
    expect(permissions.map((p) => p.name)).toEqual([...PERMISSIONS]);
    expect(permissionCatalogue).toEqual([...PERMISSIONS]);
    expect(permissions.every((p) => p.description.length > 10)).toBe(true);
  });
});
