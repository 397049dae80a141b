/**
 * Access through relations and through groups: a SELECTED key reading another key's
 * `projects`, a key reading users through `createdBy` / `revokedBy`, and a system-tenant
 * administrator who is not a platform administrator changing what an ADMIN key may do.
 */
import { describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { createAuthorizationGroup } from '../../../src/modules/authorization-group/authorization-group.service.js';
import { createApiKey } from '../../../src/modules/api-key/api-key.service.js';
import { createProject } from '../../../src/modules/project/project.service.js';
import { errorOf, execute, ok } from '../../helpers/app.js';
import { seedTenant, signedIn, unique } from '../../helpers/seed.js';

const KEY_PROJECTS = `query KeyProjects($id: ID!) { apiKey(id: $id) { projects { id name } } }`;

describe('another key’s projects', () => {
  it('a SELECTED key sees only its own projects among another key’s selection; the selection itself is unchanged', async () => {
    const seed = await seedTenant();
    const hidden = await createProject(seed.platform.principal, { workspaceId: seed.workspace.id, name: 'Hidden project' }, null);
    const selected = await seed.createKey({ projectAccess: 'SELECTED', projectIds: [seed.project.id] });
    const other = await seed.createKey({ projectAccess: 'SELECTED', projectIds: [hidden.id, seed.project.id] });

    const seen = await ok<{ apiKey: { projects: { id: string; name: string }[] } }, unknown>(KEY_PROJECTS, { id: other.id }, { apiKey: selected.secret });
    expect(seen.apiKey.projects).toEqual([{ id: seed.project.id, name: 'Main project' }]);

    // A key of ALL projects, and the tenant administrator, see the whole selection.
    const everyProject = await seed.createKey();
    for (const caller of [{ apiKey: everyProject.secret }, { token: seed.admin.token }]) {
      const all = await ok<{ apiKey: { projects: { id: string }[] } }, unknown>(KEY_PROJECTS, { id: other.id }, caller);
      expect(all.apiKey.projects.map((project) => project.id).sort()).toEqual([hidden.id, seed.project.id].sort());
    }
    const stored = await db.apiKeyProject.findMany({ where: { apiKeyId: other.id } });
    expect(stored.map((row) => row.projectId).sort()).toEqual([hidden.id, seed.project.id].sort());
  });
});

describe('users through a key’s relations', () => {
  const CREATORS = `query Creators($id: ID!) { apiKey(id: $id) { createdBy { id email role } revokedBy { id email } } }`;

  it('an API key reads no user through createdBy or revokedBy; a session of the tenant does', async () => {
    const seed = await seedTenant();
    const made = await ok<{ createApiKey: { apiKey: { id: string } } }, unknown>(
      `mutation Make($g: ID!) { createApiKey(input: { name: "Made by the admin", authorizationGroupId: $g }) { apiKey { id } } }`,
      { g: seed.keyGroup.id },
      { token: seed.admin.token },
    );
    const keyId = made.createApiKey.apiKey.id;
    await ok(`mutation Revoke($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: keyId }, { token: seed.admin.token });
    const reader = await seed.createKey();

    const byKey = await ok<{ apiKey: { createdBy: unknown; revokedBy: unknown } }, unknown>(CREATORS, { id: keyId }, { apiKey: reader.secret });
    expect(byKey.apiKey).toEqual({ createdBy: null, revokedBy: null });

    const bySession = await ok<{ apiKey: { createdBy: { id: string; email: string }; revokedBy: { id: string } } }, unknown>(CREATORS, { id: keyId }, { token: seed.member.token });
    expect(bySession.apiKey.createdBy).toMatchObject({ id: seed.admin.user.id, email: seed.admin.user.email });
    expect(bySession.apiKey.revokedBy).toMatchObject({ id: seed.admin.user.id });
    const stored = await db.apiKey.findUniqueOrThrow({ where: { id: keyId } });
    expect(stored).toMatchObject({ createdById: seed.admin.user.id, revokedById: seed.admin.user.id });
  });
});

describe('the group of an ADMIN key', () => {
  const UPDATE_GROUP = `mutation Widen($id: ID!, $permissions: [String!]!) { updateAuthorizationGroup(id: $id, input: { permissions: $permissions }) { permissions } }`;
  const ADD_DOCUMENTS = `mutation Trust($id: ID!) { addTrustedDocuments(authorizationGroupId: $id, documents: ["{ viewer { kind } }"]) { id } }`;

  async function adminKeyGroup() {
    const seed = await seedTenant();
    const system = seed.platform.tenant.id;
    const group = await createAuthorizationGroup(seed.platform.principal, { tenantId: system, name: unique('Operators'), type: 'TENANT_API_KEY', permissions: ['projects:read'] });
    const { secret } = await createApiKey(seed.platform.principal, { tenantId: system, name: unique('operator'), authorizationGroupId: group.id, role: 'ADMIN' });
    const systemAdmin = await signedIn(system, 'TENANT_ADMIN');
    return { seed, group, secret, systemAdmin };
  }

  it('a system-tenant administrator who is not a platform administrator cannot widen it, nor trust documents for it', async () => {
    const { seed, group, secret, systemAdmin } = await adminKeyGroup();
    const widened = await execute(UPDATE_GROUP, { id: group.id, permissions: ['projects:read', 'workspaces:manage'] }, { token: systemAdmin.token });
    expect(errorOf(widened)).toMatchObject({ code: 'FORBIDDEN' });
    expect(widened.errors![0]!.message).toBe('Only platform administrators may change a group that ADMIN keys use.');
    expect(errorOf(await execute(ADD_DOCUMENTS, { id: group.id }, { token: systemAdmin.token }))).toMatchObject({ code: 'FORBIDDEN' });

    // Nothing changed: the group, its documents, and what the ADMIN key may do in another tenant.
    expect((await db.authorizationGroup.findUniqueOrThrow({ where: { id: group.id } })).permissions).toEqual(['projects:read']);
    expect(await db.trustedDocument.count({ where: { authorizationGroupId: group.id } })).toBe(0);
    const planted = await execute(`mutation Plant($o: ID!) { createWorkspace(input: { organizationId: $o, name: "Planted" }) { id } }`, { o: seed.organization.id }, { apiKey: secret });
    expect(errorOf(planted)).toMatchObject({ code: 'FORBIDDEN' });
    expect(await db.workspace.count({ where: { tenantId: seed.tenant.id, name: 'Planted' } })).toBe(0);
  });

  it('a platform administrator can; and the system-tenant administrator still edits groups without ADMIN keys', async () => {
    const { seed, group, systemAdmin } = await adminKeyGroup();
    const widened = await ok<{ updateAuthorizationGroup: { permissions: string[] } }, unknown>(UPDATE_GROUP, { id: group.id, permissions: ['projects:read', 'workspaces:read'] }, { token: seed.platform.token });
    expect(widened.updateAuthorizationGroup.permissions).toEqual(['projects:read', 'workspaces:read']);

    const plain = await createAuthorizationGroup(seed.platform.principal, { tenantId: seed.platform.tenant.id, name: unique('Plain'), type: 'TENANT_API_KEY', permissions: ['projects:read'] });
    await createApiKey(seed.platform.principal, { tenantId: seed.platform.tenant.id, name: unique('plain'), authorizationGroupId: plain.id });
    await ok(UPDATE_GROUP, { id: plain.id, permissions: ['projects:read', 'workspaces:read'] }, { token: systemAdmin.token });
    expect((await db.authorizationGroup.findUniqueOrThrow({ where: { id: plain.id } })).permissions).toEqual(['projects:read', 'workspaces:read']);
  });
});

describe('audit events about projects', () => {
  const EVENTS = `query Events($target: ID) { auditEvents(first: 100, targetId: $target) { edges { node { action targetId } } } }`;
  type Events = { auditEvents: { edges: { node: { action: string; targetId: string } }[] } };

  it('a SELECTED key reads its projects’ events only, and none about a project it cannot name', async () => {
    const seed = await seedTenant();
    const root = seed.platform.principal;
    const group = await createAuthorizationGroup(root, { tenantId: seed.tenant.id, name: unique('Auditors'), type: 'TENANT_API_KEY', permissions: ['audit:read', 'projects:read'] });
    const hidden = await createProject(root, { workspaceId: seed.workspace.id, name: 'Hidden project' }, null);
    await ok(`mutation Flow($p: ID!) { createWorkflow(input: { projectId: $p, name: "Hidden flow" }) { id } }`, { p: hidden.id }, { token: seed.admin.token });
    const own = await createProject(root, { workspaceId: seed.workspace.id, name: 'Own project' }, null);
    // An event recorded before events carried their project: about a run, project unknown.
    await db.auditEvent.create({ data: { tenantId: seed.tenant.id, organizationId: seed.organization.id, actorKind: 'SYSTEM', action: 'workflow_run.redelivered', targetType: 'WorkflowRun', targetId: 'run-of-old', metadata: {} } });
    const key = await seed.createKey({ authorizationGroupId: group.id, projectAccess: 'SELECTED', projectIds: [own.id] });

    const seen = await ok<Events, unknown>(EVENTS, {}, { apiKey: key.secret });
    const about = seen.auditEvents.edges.map(({ node }) => `${node.action} ${node.targetId}`);
    expect(about).toContain(`project.created ${own.id}`);
    expect(about).toContain(`workspace.created ${seed.workspace.id}`);
    expect(about.filter((line) => line.startsWith('project.') || line.startsWith('workflow'))).toEqual([`project.created ${own.id}`]);
    expect((await ok<Events, unknown>(EVENTS, { target: hidden.id }, { apiKey: key.secret })).auditEvents.edges).toEqual([]);

    // A key of ALL projects reads them all; the events carry their project.
    const everyProject = await seed.createKey({ authorizationGroupId: group.id });
    const all = (await ok<Events, unknown>(EVENTS, {}, { apiKey: everyProject.secret })).auditEvents.edges.map(({ node }) => node.action);
    expect(all).toEqual(expect.arrayContaining(['project.created', 'workflow.created', 'workflow_run.redelivered']));
    const stored = await db.auditEvent.findMany({ where: { tenantId: seed.tenant.id, action: { in: ['project.created', 'workflow.created'] } }, orderBy: { createdAt: 'asc' } });
    expect(stored.filter((event) => event.targetId === hidden.id || event.action === 'workflow.created').map((event) => event.projectId)).toEqual([hidden.id, hidden.id]);
  });
});
