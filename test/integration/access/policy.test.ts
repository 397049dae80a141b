/**
 * The access promises an attacker broke in the first wave, each reproduced through the real
 * app and refused by the access policy (src/auth/access.ts) with the documented code, and
 * with nothing written.
 */
import { describe, expect, it } from 'vitest';
import { PERMISSIONS } from '../../../src/auth/permissions.js';
import { SIGN_IN_REFUSAL_FLOOR_MS } from '../../../src/modules/user/user.service.js';
import { db } from '../../../src/db.js';
import { createApiKey, revokeApiKey } from '../../../src/modules/api-key/api-key.service.js';
import { createAuthorizationGroup } from '../../../src/modules/authorization-group/authorization-group.service.js';
import { createOrganization } from '../../../src/modules/organization/organization.service.js';
import { createProject } from '../../../src/modules/project/project.service.js';
import { createWorkspace } from '../../../src/modules/workspace/workspace.service.js';
import { errorOf, execute, logLines, ok } from '../../helpers/app.js';
import { createUserRow, PASSWORD, seedTenant, signedIn, unique, type Seed } from '../../helpers/seed.js';
import { appWith } from '../hardening/support.js';
import {
  CreateKey,
  CreateOrganization,
  CreateTenant,
  CreateUser,
  DeleteWorkspace,
  KeyWithCreator,
  ListAuditEvents,
  ListGroups,
  ListKeys,
  ListRuns,
  RevokeKey,
  RotateKey,
  SignIn,
  TriggerWorkflow,
  UpdateKey,
  UpdateTenant,
  UpdateWorkspace,
} from './documents.js';

const everythingGroup = (seed: Seed, tenantId: string, type: 'USER' | 'TENANT_API_KEY') =>
  createAuthorizationGroup(seed.platform.principal, { tenantId, name: unique('Everything'), type, permissions: [...PERMISSIONS] });

describe('1. ADMIN keys: only a platform administrator issues them, and they administer no tenant', () => {
  it('a system-tenant user holding every permission, or a system tenant admin, is FORBIDDEN to create an ADMIN key', async () => {
    const seed = await seedTenant();
    const system = seed.platform.tenant.id;
    const keyGroup = await everythingGroup(seed, system, 'TENANT_API_KEY');
    const strongMember = await signedIn(system, 'MEMBER', (await everythingGroup(seed, system, 'USER')).id);
    const systemAdmin = await signedIn(system, 'TENANT_ADMIN');
    for (const actor of [strongMember, systemAdmin]) {
      const before = await db.apiKey.count({ where: { tenantId: system } });
      const result = await execute(CreateKey, { input: { name: 'Escalation', role: 'ADMIN', authorizationGroupId: keyGroup.id } }, { token: actor.token });
      expect(errorOf(result)).toMatchObject({ code: 'FORBIDDEN' });
      expect(await db.apiKey.count({ where: { tenantId: system } })).toBe(before);
    }
  });

  it('nor rotate one (a rotation hands over its secret); a platform administrator does both', async () => {
    const seed = await seedTenant();
    const system = seed.platform.tenant.id;
    const keyGroup = await everythingGroup(seed, system, 'TENANT_API_KEY');
    const { createApiKey: created } = await ok(
      CreateKey,
      { input: { name: 'Platform automation', role: 'ADMIN', authorizationGroupId: keyGroup.id } },
      { token: seed.platform.token },
    );
    expect(created.apiKey.role).toBe('ADMIN');
    const digest = (await db.apiKey.findUniqueOrThrow({ where: { id: created.apiKey.id } })).secretDigest;
    const systemAdmin = await signedIn(system, 'TENANT_ADMIN');
    expect(errorOf(await execute(RotateKey, { id: created.apiKey.id }, { token: systemAdmin.token })).code).toBe('FORBIDDEN');
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: created.apiKey.id } })).secretDigest).toBe(digest);
    await ok(RotateKey, { id: created.apiKey.id }, { token: seed.platform.token });
  });

  it('nor edit one; but a system tenant admin may revoke one, which only takes power away', async () => {
    const seed = await seedTenant();
    const system = seed.platform.tenant.id;
    const keyGroup = await everythingGroup(seed, system, 'TENANT_API_KEY');
    const { createApiKey: created } = await ok(CreateKey, { input: { name: 'Platform automation', role: 'ADMIN', authorizationGroupId: keyGroup.id } }, { token: seed.platform.token });
    const systemAdmin = await signedIn(system, 'TENANT_ADMIN');
    expect(errorOf(await execute(UpdateKey, { id: created.apiKey.id, input: { name: 'Renamed' } }, { token: systemAdmin.token }))).toMatchObject({
      code: 'FORBIDDEN',
      message: 'Only platform administrators may edit ADMIN keys.',
    });
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: created.apiKey.id } })).name).toBe('Platform automation');
    await ok(RevokeKey, { id: created.apiKey.id }, { token: systemAdmin.token });
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: created.apiKey.id } })).status).toBe('REVOKED');
  });

  it('an ADMIN key reads other tenants within its group, but cannot create tenants, change limits or create organizations', async () => {
    const seed = await seedTenant();
    const keyGroup = await everythingGroup(seed, seed.platform.tenant.id, 'TENANT_API_KEY');
    const { secret } = await createApiKey(seed.platform.principal, {
      tenantId: seed.platform.tenant.id,
      name: unique('admin key'),
      role: 'ADMIN',
      authorizationGroupId: keyGroup.id,
    });
    const asKey = { apiKey: secret };
    await seed.createKey({ name: 'visible to the ADMIN key' });
    expect((await ok(ListKeys, { tenantId: seed.tenant.id }, asKey)).apiKeys.totalCount).toBe(1);

    expect(errorOf(await execute(UpdateTenant, { id: seed.tenant.id, input: { apiKeyLimit: 1_000_000 } }, asKey)).code).toBe('FORBIDDEN');
    expect((await db.tenant.findUniqueOrThrow({ where: { id: seed.tenant.id } })).apiKeyLimit).toBe(10);
    const name = unique('Rogue tenant');
    expect(errorOf(await execute(CreateTenant, { input: { name } }, asKey)).code).toBe('FORBIDDEN');
    expect(await db.tenant.count({ where: { name } })).toBe(0);
    const organizations = await db.organization.count({ where: { tenantId: seed.tenant.id } });
    expect(errorOf(await execute(CreateOrganization, { input: { tenantId: seed.tenant.id, name: 'Rogue' } }, asKey)).code).toBe('FORBIDDEN');
    expect(await db.organization.count({ where: { tenantId: seed.tenant.id } })).toBe(organizations);
  });
});

describe('3. a SELECTED key writes to a workspace only when it reaches every project in it', () => {
  it('renaming or deleting a workspace holding a project outside its selection is FORBIDDEN; nothing cascades', async () => {
    const seed = await seedTenant();
    const root = seed.platform.principal;
    const managers = await createAuthorizationGroup(root, {
      tenantId: seed.tenant.id,
      name: 'Workspace managers',
      type: 'TENANT_API_KEY',
      permissions: ['workspaces:manage', 'workspaces:read', 'projects:read'],
    });
    const visible = await createProject(root, { workspaceId: seed.workspace.id, name: 'Visible project' }, null);
    const key = await seed.createKey({ authorizationGroupId: managers.id, projectAccess: 'SELECTED', projectIds: [visible.id] });
    await db.workflowRun.create({
      data: { tenantId: seed.tenant.id, projectId: seed.project.id, workflowId: seed.workflow.id, input: {}, triggeredByKind: 'SYSTEM' },
    });

    const rename = await execute(UpdateWorkspace, { id: seed.workspace.id, input: { name: 'Hijacked' } }, { apiKey: key.secret });
    expect(errorOf(rename).code).toBe('FORBIDDEN');
    expect(errorOf(await execute(DeleteWorkspace, { id: seed.workspace.id }, { apiKey: key.secret })).code).toBe('FORBIDDEN');
    expect(await db.workspace.findUniqueOrThrow({ where: { id: seed.workspace.id } })).toMatchObject({ name: 'Main workspace' });
    expect(await db.workflowRun.count({ where: { projectId: seed.project.id } })).toBe(1);

    // A workspace whose every project it selected is its to manage.
    const own = await createWorkspace(root, { organizationId: seed.organization.id, name: 'Own workspace' });
    const ownProject = await createProject(root, { workspaceId: own.id, name: 'Own project' }, null);
    const ownKey = await seed.createKey({ authorizationGroupId: managers.id, projectAccess: 'SELECTED', projectIds: [ownProject.id] });
    expect((await ok(UpdateWorkspace, { id: own.id, input: { name: 'Renamed' } }, { apiKey: ownKey.secret })).updateWorkspace.name).toBe('Renamed');
  });
});

describe('4. an organization-bound key reads only its organization', () => {
  it('audit events, keys, groups and runs of another organization (or of the whole tenant) are not listed', async () => {
    const seed = await seedTenant();
    const root = seed.platform.principal;
    const other = await createOrganization(root, { tenantId: seed.tenant.id, name: 'Other organization' });
    const otherWorkspace = await createWorkspace(root, { organizationId: other.id, name: 'Secret workspace' });
    const otherProject = await createProject(root, { workspaceId: otherWorkspace.id, name: 'Secret project' }, null);
    const otherWorkflow = await db.workflow.create({ data: { tenantId: seed.tenant.id, projectId: otherProject.id, name: 'Secret flow' } });
    await db.workflowRun.create({
      data: { tenantId: seed.tenant.id, projectId: otherProject.id, workflowId: otherWorkflow.id, input: {}, triggeredByKind: 'SYSTEM' },
    });
    const otherGroup = await createAuthorizationGroup(root, { tenantId: seed.tenant.id, name: 'Other keys', type: 'TENANT_API_KEY', permissions: ['projects:read'] });
    await seed.createKey({ organizationId: other.id, authorizationGroupId: otherGroup.id });
    await seed.createKey({ name: 'tenant-wide key' });

    const readers = await createAuthorizationGroup(root, {
      tenantId: seed.tenant.id,
      name: 'Readers',
      type: 'TENANT_API_KEY',
      permissions: ['audit:read', 'api_keys:read', 'projects:read', 'workflows:trigger'],
    });
    const bound = await seed.createKey({ organizationId: seed.organization.id, authorizationGroupId: readers.id });
    const asBound = { apiKey: bound.secret };
    const run = await ok(TriggerWorkflow, { input: { projectId: seed.project.id, workflowId: seed.workflow.id } }, asBound);

    const events = (await ok(ListAuditEvents, { first: 100 }, asBound)).auditEvents.edges.map((e) => e.node.id);
    const stored = await db.auditEvent.findMany({ where: { id: { in: events } } });
    expect(stored.length).toBe(events.length);
    expect(stored.every((e) => e.organizationId === seed.organization.id)).toBe(true);
    const expected = await db.auditEvent.count({ where: { tenantId: seed.tenant.id, organizationId: seed.organization.id } });
    expect(events.length).toBe(expected);

    const keys = (await ok(ListKeys, { first: 100 }, asBound)).apiKeys.edges.map((e) => e.node.id);
    expect(keys).toEqual([bound.id]);

    const groups = (await ok(ListGroups, {}, asBound)).authorizationGroups.map((g) => g.id);
    expect(groups).toEqual([readers.id]);

    const runs = (await ok(ListRuns, { first: 100 }, asBound)).workflowRuns.edges.map((e) => e.node.id);
    expect(runs).toEqual([run.triggerWorkflow.id]);
  });
});

describe('5. relations do not cross tenants', () => {
  it('a key made (and revoked) by a platform administrator shows no creator to the tenant; its own admin is shown', async () => {
    const seed = await seedTenant();
    const byPlatform = await seed.createKey({ name: 'made by the platform' });
    await revokeApiKey(seed.platform.principal, byPlatform.id);
    const asAdmin = { token: seed.admin.token };
    const seen = (await ok(KeyWithCreator, { id: byPlatform.id }, asAdmin)).apiKey;
    expect(seen.createdBy).toBeNull();
    expect(seen.revokedBy).toBeNull();
    // The platform administrator sees itself.
    expect((await ok(KeyWithCreator, { id: byPlatform.id }, { token: seed.platform.token })).apiKey.createdBy?.id).toBe(seed.platform.user.id);

    const { createApiKey: own } = await ok(CreateKey, { input: { name: 'made by the admin', authorizationGroupId: seed.keyGroup.id } }, asAdmin);
    const ownSeen = (await ok(KeyWithCreator, { id: own.apiKey.id }, asAdmin)).apiKey;
    expect(ownSeen.createdBy).toMatchObject({ id: seed.admin.user.id, email: seed.admin.user.email, tenant: { isSystem: false } });
  });

  it('audit events by a platform administrator show its kind, not its id', async () => {
    const seed = await seedTenant();
    await seed.createKey({ name: 'made by the platform' });
    const events = (await ok(ListAuditEvents, { first: 100 }, { token: seed.admin.token })).auditEvents.edges.map((e) => e.node);
    const byPlatform = events.filter((e) => e.action === 'api_key.created');
    expect(byPlatform.length).toBeGreaterThan(0);
    expect(byPlatform.every((e) => e.actorKind === 'USER' && e.actorId === null)).toBe(true);
    expect(JSON.stringify(events)).not.toContain(seed.platform.user.id);
  });
});

describe('6. cursors name only rows the caller can see', () => {
  it("another tenant's key id as a cursor is refused exactly like a garbage cursor: BAD_USER_INPUT on after", async () => {
    const [seed, other] = await Promise.all([seedTenant(), seedTenant()]);
    await Promise.all([seed.createKey(), seed.createKey(), other.createKey(), other.createKey()]);
    const foreignCursor = (await ok(ListKeys, { first: 1 }, { token: other.admin.token })).apiKeys.edges[0]!.cursor;
    const asAdmin = { token: seed.admin.token };

    const foreign = await execute(ListKeys, { first: 10, after: foreignCursor }, asAdmin);
    const garbage = await execute(ListKeys, { first: 10, after: 'not-a-cursor' }, asAdmin);
    const unknownId = await execute(ListKeys, { first: 10, after: Buffer.from('GPC:S:no-such-key').toString('base64') }, asAdmin);
    for (const result of [foreign, garbage, unknownId]) {
      expect(errorOf(result)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
      expect(result.data?.apiKeys ?? null).toBeNull();
    }
    expect(errorOf(foreign).message).toBe(errorOf(unknownId).message);

    // The caller's own cursor pages as before.
    const first = (await ok(ListKeys, { first: 1 }, asAdmin)).apiKeys.edges;
    const next = (await ok(ListKeys, { first: 10, after: first[0]!.cursor }, asAdmin)).apiKeys.edges;
    expect(next.map((e) => e.node.id)).not.toContain(first[0]!.node.id);
    expect(next).toHaveLength(1);
  });

  it('a negative first is BAD_USER_INPUT on first; neither is logged as a server error', async () => {
    const seed = await seedTenant();
    const linesBefore = logLines.length;
    const result = await execute(ListKeys, { first: -1 }, { token: seed.admin.token });
    expect(errorOf(result)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    const garbage = await execute(ListAuditEvents, { first: 5, after: '!!!' }, { token: seed.admin.token });
    expect(errorOf(garbage)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    expect(logLines.slice(linesBefore).filter((line) => JSON.parse(line).level === 'error')).toEqual([]);
  });
});

describe('7. emails are unique per tenant, and signIn never says whether an email exists elsewhere', () => {
  it("createUser with another tenant's user's email succeeds; twice in one tenant is BAD_USER_INPUT on email", async () => {
    const [seed, other] = await Promise.all([seedTenant(), seedTenant()]);
    const email = other.member.user.email;
    const input = { email, password: 'another-password-1', tenantId: seed.tenant.id };
    const { createUser } = await ok(CreateUser, { input }, { token: seed.admin.token });
    expect(createUser.email).toBe(email);
    const again = await execute(CreateUser, { input }, { token: seed.admin.token });
    expect(errorOf(again)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'email' });
    expect(errorOf(again).message).not.toMatch(/other tenant/i);
    expect(await db.user.count({ where: { email } })).toBe(2);
  });

  it('the password decides among tenants; the same password in two tenants asks for the slug; failures all look alike', async () => {
    const [a, b] = await Promise.all([seedTenant(), seedTenant()]);
    const email = `${unique('shared')}@example.test`;
    await ok(CreateUser, { input: { email, password: 'password-of-tenant-a' } }, { token: a.admin.token });
    await ok(CreateUser, { input: { email, password: 'password-of-tenant-b' } }, { token: b.admin.token });

    expect((await ok(SignIn, { email, password: 'password-of-tenant-a' })).signIn.user.tenant.slug).toBe(a.tenant.slug);
    expect((await ok(SignIn, { email, password: 'password-of-tenant-b' })).signIn.user.tenant.slug).toBe(b.tenant.slug);

    // Same email and password in both tenants: the slug decides.
    const twin = `${unique('twin')}@example.test`;
    await ok(CreateUser, { input: { email: twin, password: 'the-same-password' } }, { token: a.admin.token });
    await ok(CreateUser, { input: { email: twin, password: 'the-same-password' } }, { token: b.admin.token });
    expect(errorOf(await execute(SignIn, { email: twin, password: 'the-same-password' }))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'tenant' });
    expect((await ok(SignIn, { email: twin, password: 'the-same-password', tenant: b.tenant.slug })).signIn.user.tenant.slug).toBe(b.tenant.slug);

    const failures = await Promise.all([
      execute(SignIn, { email, password: 'wrong-password-123' }),
      execute(SignIn, { email: `${unique('nobody')}@example.test`, password: 'password-of-tenant-a' }),
      execute(SignIn, { email, password: 'password-of-tenant-a', tenant: b.tenant.slug }),
      execute(SignIn, { email, password: 'password-of-tenant-a', tenant: 'no-such-tenant' }),
    ]);
    const shapes = failures.map((result) => ({ ...errorOf(result), data: result.data }));
    for (const shape of shapes) expect(shape).toEqual(shapes[0]);
    expect(shapes[0]).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', reason: 'INVALID' });
  });

  it('a refusal takes no less than the floor, whatever the number of tenants holding the email', async () => {
    const tenants = await Promise.all([seedTenant(), seedTenant(), seedTenant()]);
    const email = `${unique('everywhere')}@example.test`;
    for (const [n, tenant] of tenants.entries()) {
      await ok(CreateUser, { input: { email, password: `password-of-tenant-${n}` } }, { token: tenant.admin.token });
    }
    for (const attempt of [{ email, password: 'wrong-password-123' }, { email: `${unique('nobody')}@example.test`, password: 'wrong-password-123' }]) {
      const began = performance.now();
      expect(errorOf(await execute(SignIn, attempt))).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'INVALID' });
      expect(performance.now() - began).toBeGreaterThanOrEqual(SIGN_IN_REFUSAL_FLOOR_MS - 5);
    }
  });
});

describe('8. one request cannot multiply password guesses', () => {
  const guess = (email: string, password: string) => ({
    query: 'mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }',
    variables: { e: email, p: password },
  });

  it('after 19 failures (limit 20), a batch of 9 wrong passwords and the right one gets no session', async () => {
    const seed = await seedTenant();
    const instance = appWith({ authFailures: { limit: 20, windowSeconds: 600 } });
    await instance.ready;
    const ip = '198.51.100.81';
    const send = (body: unknown) =>
      instance.yoga.fetch('http://keygate.test/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }, { req: { socket: { remoteAddress: ip } } });
    for (let i = 0; i < 19; i++) expect((await send(guess(seed.member.user.email, `wrong-${i}-password`))).status).toBe(401);
    const sessionsBefore = await db.session.count({ where: { userId: seed.member.user.id } });

    const batch = [...Array.from({ length: 9 }, (_, i) => guess(seed.member.user.email, `batch-${i}-password`)), guess(seed.member.user.email, PASSWORD)];
    const body = JSON.stringify(await (await send(batch)).json());
    expect(body).not.toMatch(/kgs_/);
    expect(body).toContain('RATE_LIMITED');
    expect(await db.session.count({ where: { userId: seed.member.user.id } })).toBe(sessionsBefore);
  });

  it('aliased signIn fields in one document get no session past the throttle', async () => {
    const seed = await seedTenant();
    const instance = appWith({ authFailures: { limit: 3, windowSeconds: 600 } });
    await instance.ready;
    const aliases = ['a', 'b', 'c', 'd'].map((alias, i) => `${alias}: signIn(email: $e, password: "${i === 3 ? PASSWORD : `wrong-${alias}-password`}") { token }`);
    const response = await instance.yoga.fetch(
      'http://keygate.test/graphql',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: `mutation($e: String!) { ${aliases.join(' ')} }`, variables: { e: seed.member.user.email } }) },
      { req: { socket: { remoteAddress: '198.51.100.82' } } },
    );
    expect(JSON.stringify(await response.json())).not.toMatch(/kgs_/);
    expect(await db.session.count({ where: { userId: seed.member.user.id } })).toBe(1); // the seed's own sign-in
  });
});

describe('9. client mistakes are not logged as server errors, nor with their values', () => {
  it('a password sent as a number or an array is BAD_USER_INPUT, logged at debug at most, without the value', async () => {
    const linesBefore = logLines.length;
    for (const password of [987_654_321_012, ['array-password-value']]) {
      const result = await execute('mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }', { e: 'someone@example.test', p: password });
      expect(errorOf(result)).toMatchObject({ status: 400, code: 'BAD_USER_INPUT', field: 'password' });
    }
    const lines = logLines.slice(linesBefore);
    expect(lines.filter((line) => ['error', 'warn'].includes(JSON.parse(line).level))).toEqual([]);
    expect(lines.join('\n')).not.toMatch(/987654321012|array-password-value/);
  });
});

describe('users of the system tenant', () => {
  it('a platform administrator signs in with the email alone, as before', async () => {
    const seed = await seedTenant();
    const user = await createUserRow(seed.platform.tenant.id, 'PLATFORM_ADMIN');
    expect((await ok(SignIn, { email: user.email, password: PASSWORD })).signIn.user.tenant.slug).toBe('system');
  });
});
