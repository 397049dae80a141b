/**
 * Edges of a key's narrowing found by an attacker's review: cursors of rows outside a
 * SELECTED or bound key's reach, X-Workspace-Id on operations that take an id, ids that the
 * deprecated run fields would show past `triggeredBy`, user details in audit events read with
 * a key, and a SELECTED key writing where none of its projects are.
 */
import { describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { createAuthorizationGroup } from '../../../src/modules/authorization-group/authorization-group.service.js';
import { createOrganization } from '../../../src/modules/organization/organization.service.js';
import { createProject } from '../../../src/modules/project/project.service.js';
import { triggerWorkflow } from '../../../src/modules/workflow/workflow.service.js';
import { createWorkspace } from '../../../src/modules/workspace/workspace.service.js';
import { errorOf, execute, ok } from '../../helpers/app.js';
import { INTEGRATION_PERMISSIONS, seedTenant, unique, type Seed } from '../../helpers/seed.js';

const cursorOf = (id: string) => Buffer.from(`GPC:S:${id}`).toString('base64');

/** A second organization with its workspace and project, in the seed's tenant. */
async function otherOrganization(seed: Seed) {
  const root = seed.platform.principal;
  const organization = await createOrganization(root, { tenantId: seed.tenant.id, name: unique('Other organization') });
  const workspace = await createWorkspace(root, { organizationId: organization.id, name: 'Other workspace' });
  const project = await createProject(root, { workspaceId: workspace.id, name: 'Other project' }, null);
  return { organization, workspace, project };
}

async function managingGroup(seed: Seed) {
  return createAuthorizationGroup(seed.platform.principal, {
    tenantId: seed.tenant.id,
    name: unique('Managers'),
    type: 'TENANT_API_KEY',
    permissions: [...INTEGRATION_PERMISSIONS, 'workspaces:manage', 'projects:manage', 'audit:read'],
  });
}

describe('cursors outside a narrowed key’s reach', () => {
  it('a SELECTED key’s projects and a bound key’s organizations refuse a cursor of a row they cannot see', async () => {
    const [seed, stranger] = await Promise.all([seedTenant(), seedTenant()]);
    const other = await otherOrganization(seed);
    const selected = await seed.createKey({ projectAccess: 'SELECTED', projectIds: [seed.project.id] });
    const bound = await seed.createKey({ organizationId: seed.organization.id });
    const PROJECTS = 'query ($after: String) { projects(first: 5, after: $after) { edges { node { id } } } }';
    const ORGANIZATIONS = 'query ($after: String) { organizations(first: 5, after: $after) { edges { node { id } } } }';
    for (const id of [other.project.id, stranger.project.id, 'no-such-project']) {
      expect(errorOf(await execute(PROJECTS, { after: cursorOf(id) }, { apiKey: selected.secret })), id).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    }
    for (const id of [other.organization.id, stranger.organization.id, 'no-such-organization']) {
      expect(errorOf(await execute(ORGANIZATIONS, { after: cursorOf(id) }, { apiKey: bound.secret })), id).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    }
    // A cursor of a row they see still pages.
    expect((await ok<{ projects: { edges: unknown[] } }, unknown>(PROJECTS, { after: cursorOf(seed.project.id) }, { apiKey: selected.secret })).projects.edges).toEqual([]);
  });
});

describe('a bound key naming another organization’s workspace as a filter', () => {
  it('projects(workspaceId:) is FORBIDDEN, as workspaces(organizationId:) is; its own workspace lists its projects', async () => {
    const seed = await seedTenant();
    const other = await otherOrganization(seed);
    const bound = await seed.createKey({ organizationId: seed.organization.id });
    const PROJECTS = 'query ($w: ID) { projects(workspaceId: $w) { totalCount edges { node { id } } } }';
    const WORKSPACES = 'query ($o: ID) { workspaces(organizationId: $o) { totalCount } }';
    expect(errorOf(await execute(PROJECTS, { w: other.workspace.id }, { apiKey: bound.secret }))).toMatchObject({ code: 'FORBIDDEN' });
    expect(errorOf(await execute(WORKSPACES, { o: other.organization.id }, { apiKey: bound.secret }))).toMatchObject({ code: 'FORBIDDEN' });
    const own = await ok<{ projects: { totalCount: number; edges: { node: { id: string } }[] } }, unknown>(PROJECTS, { w: seed.workspace.id }, { apiKey: bound.secret });
    expect(own.projects.edges.map((edge) => edge.node.id)).toEqual([seed.project.id]);
    // An unbound key filters by it as by any workspace of its tenant.
    const unbound = await seed.createKey();
    const theirs = await ok<{ projects: { edges: { node: { id: string } }[] } }, unknown>(PROJECTS, { w: other.workspace.id }, { apiKey: unbound.secret });
    expect(theirs.projects.edges.map((edge) => edge.node.id)).toEqual([other.project.id]);
  });
});

describe('X-Workspace-Id on operations that take an id', () => {
  it('a run, a workspace rename or delete outside the named workspace is FORBIDDEN, as is a workspace out of reach', async () => {
    const [seed, stranger] = await Promise.all([seedTenant(), seedTenant()]);
    const other = await otherOrganization(seed);
    const key = await seed.createKey({ authorizationGroupId: (await managingGroup(seed)).id });
    const run = await triggerWorkflow(seed.platform.principal, { projectId: seed.project.id, workflowId: seed.workflow.id, input: {} }, null);
    const RUN = 'query ($id: ID!) { workflowRun(id: $id) { id } }';
    const RENAME = 'mutation ($id: ID!) { updateWorkspace(id: $id, input: { name: "Renamed" }) { id } }';
    for (const workspaceId of [other.workspace.id, stranger.workspace.id]) {
      expect(errorOf(await execute(RUN, { id: run.id }, { apiKey: key.secret, workspaceId })).code).toBe('FORBIDDEN');
      expect(errorOf(await execute(RENAME, { id: seed.workspace.id }, { apiKey: key.secret, workspaceId })).code).toBe('FORBIDDEN');
    }
    expect((await db.workspace.findUniqueOrThrow({ where: { id: seed.workspace.id } })).name).toBe('Main workspace');
    // Named rightly, or not at all, they are answered.
    expect((await ok<{ workflowRun: { id: string } }, unknown>(RUN, { id: run.id }, { apiKey: key.secret, workspaceId: seed.workspace.id })).workflowRun.id).toBe(run.id);
    expect((await ok<{ workflowRun: { id: string } }, unknown>(RUN, { id: run.id }, { apiKey: key.secret })).workflowRun.id).toBe(run.id);
  });
});

describe('X-Workspace-Id with a list filtered by another workspace', () => {
  it('projects(workspaceId:) naming a workspace other than the header’s is FORBIDDEN; the same one lists its projects', async () => {
    const seed = await seedTenant();
    const other = await otherOrganization(seed);
    const PROJECTS = 'query ($w: ID) { projects(workspaceId: $w) { totalCount edges { node { id } } } }';
    for (const caller of [{ token: seed.admin.token }, { apiKey: (await seed.createKey()).secret }]) {
      const refused = await execute(PROJECTS, { w: other.workspace.id }, { ...caller, workspaceId: seed.workspace.id });
      expect(refused.data).toBeNull();
      expect(errorOf(refused)).toMatchObject({ code: 'FORBIDDEN' });
      expect(errorOf(refused).message).toContain('X-Workspace-Id');
      const same = await ok<{ projects: { totalCount: number; edges: { node: { id: string } }[] } }, unknown>(PROJECTS, { w: seed.workspace.id }, { ...caller, workspaceId: seed.workspace.id });
      expect(same.projects.edges.map((edge) => edge.node.id)).toEqual([seed.project.id]);
    }
  });
});

describe('who triggered a run', () => {
  it('the deprecated id fields show no more than triggeredBy: no platform administrator, no key out of reach', async () => {
    const seed = await seedTenant();
    const other = await otherOrganization(seed);
    const byPlatform = await triggerWorkflow(seed.platform.principal, { projectId: seed.project.id, workflowId: seed.workflow.id, input: {} }, null);
    const outside = await seed.createKey({ organizationId: other.organization.id, authorizationGroupId: seed.keyGroup.id });
    const byOutsideKey = await db.workflowRun.create({
      data: { tenantId: seed.tenant.id, projectId: seed.project.id, workflowId: seed.workflow.id, input: {}, triggeredByKind: 'API_KEY', triggeredByKeyId: outside.id },
    });
    const bound = await seed.createKey({ organizationId: seed.organization.id });
    const RUN = 'query ($id: ID!) { workflowRun(id: $id) { triggeredBy { kind user { id } apiKey { id } } triggeredByUserId triggeredByKeyId } }';
    for (const caller of [{ token: seed.member.token }, { apiKey: bound.secret }]) {
      const platformRun = await ok<{ workflowRun: Record<string, unknown> }, unknown>(RUN, { id: byPlatform.id }, caller);
      expect(platformRun.workflowRun).toMatchObject({ triggeredBy: { kind: 'USER', user: null }, triggeredByUserId: null });
    }
    const keyRun = await ok<{ workflowRun: Record<string, unknown> }, unknown>(RUN, { id: byOutsideKey.id }, { apiKey: bound.secret });
    expect(keyRun.workflowRun).toMatchObject({ triggeredBy: { kind: 'API_KEY', apiKey: null }, triggeredByKeyId: null });
    // The tenant administrator reaches the key: both show it.
    const asAdmin = await ok<{ workflowRun: Record<string, unknown> }, unknown>(RUN, { id: byOutsideKey.id }, { token: seed.admin.token });
    expect(asAdmin.workflowRun).toMatchObject({ triggeredBy: { apiKey: { id: outside.id } }, triggeredByKeyId: outside.id });
  });
});

describe('audit events read with a key', () => {
  it('no event about a user, and no user as actor: users are read with a session only', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey({ authorizationGroupId: (await managingGroup(seed)).id });
    const email = `${unique('audited')}@example.test`;
    await ok('mutation ($input: CreateUserInput!) { createUser(input: $input) { id } }', { input: { email, password: 'audited-password-1' } }, { token: seed.admin.token });
    await ok('mutation ($id: ID!) { updateProject(id: $id, input: { name: "Renamed by admin" }) { id } }', { id: seed.project.id }, { token: seed.admin.token });
    const EVENTS = '{ auditEvents(first: 50) { edges { node { action actorKind actorId targetType metadata } } } }';
    const asKey = await ok<{ auditEvents: { edges: { node: { action: string; actorKind: string; actorId: string | null; targetType: string } }[] } }, unknown>(EVENTS, {}, { apiKey: key.secret });
    const events = asKey.auditEvents.edges.map((edge) => edge.node);
    expect(JSON.stringify(events)).not.toContain(email);
    expect(events.filter((event) => event.targetType === 'User')).toEqual([]);
    expect(events.find((event) => event.action === 'project.updated')).toMatchObject({ actorKind: 'USER', actorId: null });
    // A session of the tenant reads them whole.
    const asAdmin = await ok<{ auditEvents: { edges: { node: { metadata: unknown } }[] } }, unknown>(EVENTS, {}, { token: seed.admin.token });
    expect(JSON.stringify(asAdmin)).toContain(email);
  });
});

describe('a SELECTED key writing outside its projects', () => {
  it('creates no workspace or project, and renames or deletes no workspace that holds none of its projects', async () => {
    const seed = await seedTenant();
    const other = await otherOrganization(seed);
    const empty = await createWorkspace(seed.platform.principal, { organizationId: seed.organization.id, name: 'Empty workspace' });
    const key = await seed.createKey({ authorizationGroupId: (await managingGroup(seed)).id, projectAccess: 'SELECTED', projectIds: [seed.project.id] });
    const asKey = { apiKey: key.secret };
    expect(errorOf(await execute('mutation ($input: CreateWorkspaceInput!) { createWorkspace(input: $input) { id } }', { input: { organizationId: other.organization.id, name: 'Sneaky' } }, asKey)).code).toBe('FORBIDDEN');
    expect(errorOf(await execute('mutation ($input: CreateProjectInput!) { createProject(input: $input) { id } }', { input: { workspaceId: seed.workspace.id, name: 'Sneaky' } }, asKey)).code).toBe('FORBIDDEN');
    expect(errorOf(await execute('mutation ($id: ID!) { updateWorkspace(id: $id, input: { name: "Sneaky" }) { id } }', { id: empty.id }, asKey)).code).toBe('FORBIDDEN');
    expect(errorOf(await execute('mutation ($id: ID!) { deleteWorkspace(id: $id) }', { id: empty.id }, asKey)).code).toBe('FORBIDDEN');
    expect(await db.workspace.count({ where: { tenantId: seed.tenant.id, name: 'Sneaky' } })).toBe(0);
    expect(await db.project.count({ where: { tenantId: seed.tenant.id, name: 'Sneaky' } })).toBe(0);
    expect(await db.workspace.findUnique({ where: { id: empty.id } })).not.toBeNull();
    // Its own project's workspace (every project in it selected) it still renames.
    await ok('mutation ($id: ID!) { updateWorkspace(id: $id, input: { name: "Renamed by its key" }) { id } }', { id: seed.workspace.id }, asKey);
  });
});
