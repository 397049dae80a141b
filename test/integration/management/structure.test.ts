/**
 * updateProject, deleteProject, updateOrganization, deleteOrganization through the real app,
 * and what deletion does to keys bound to or selecting what is deleted: no key ever gains
 * access (a SELECTED key never falls back to ALL; an organization with active keys bound to
 * it is not deleted).
 */
import { describe, expect, it } from 'vitest';
import { PERMISSIONS } from '../../../src/auth/permissions.js';
import { db } from '../../../src/db.js';
import { revokeApiKey } from '../../../src/modules/api-key/api-key.service.js';
import { createAuthorizationGroup } from '../../../src/modules/authorization-group/authorization-group.service.js';
import { createOrganization } from '../../../src/modules/organization/organization.service.js';
import { createProject } from '../../../src/modules/project/project.service.js';
import { createWorkspace } from '../../../src/modules/workspace/workspace.service.js';
import { errorOf, execute, ok } from '../../helpers/app.js';
import { seedTenant, unique, type Seed } from '../../helpers/seed.js';
import {
  CreateOrganization,
  DeleteOrganization,
  DeleteProject,
  KeyWithCreator,
  ListOrganizations,
  ListProjects,
  TriggerWorkflow,
  UpdateOrganization,
  UpdateProject,
  Viewer,
} from './documents.js';

async function secondProject(seed: Seed) {
  const project = await createProject(seed.platform.principal, { workspaceId: seed.workspace.id, name: unique('Second') }, null);
  const workflow = await db.workflow.create({ data: { tenantId: seed.tenant.id, projectId: project.id, name: 'Flow' } });
  return { project, workflow };
}

async function secondOrganization(seed: Seed) {
  const root = seed.platform.principal;
  const organization = await createOrganization(root, { tenantId: seed.tenant.id, name: unique('Org') });
  const workspace = await createWorkspace(root, { organizationId: organization.id, name: 'Its workspace' });
  const project = await createProject(root, { workspaceId: workspace.id, name: 'Its project' }, null);
  const workflow = await db.workflow.create({ data: { tenantId: seed.tenant.id, projectId: project.id, name: 'Flow' } });
  return { organization, workspace, project, workflow };
}

const trigger = (projectId: string, workflowId: string, apiKey: string) => execute(TriggerWorkflow, { input: { projectId, workflowId } }, { apiKey });

describe('updateProject', () => {
  it('renames a project, audited with its organization; a SELECTED key manages only its own projects', async () => {
    const seed = await seedTenant();
    const renamed = (await ok(UpdateProject, { id: seed.project.id, input: { name: 'Renamed project' } }, { token: seed.admin.token })).updateProject;
    expect(renamed).toMatchObject({ name: 'Renamed project', slug: seed.project.slug });
    expect((await db.project.findUniqueOrThrow({ where: { id: seed.project.id } })).name).toBe('Renamed project');
    const event = await db.auditEvent.findFirstOrThrow({ where: { action: 'project.updated', targetId: seed.project.id } });
    expect(event.organizationId).toBe(seed.organization.id);
    // An update that changes nothing writes and audits nothing.
    for (const input of [{}, { name: null }]) {
      expect((await ok(UpdateProject, { id: seed.project.id, input }, { token: seed.admin.token })).updateProject).toMatchObject({ name: 'Renamed project' });
    }
    expect(await db.auditEvent.count({ where: { action: 'project.updated', targetId: seed.project.id } })).toBe(1);

    const managers = await createAuthorizationGroup(seed.platform.principal, { tenantId: seed.tenant.id, name: 'Managers', type: 'TENANT_API_KEY', permissions: ['projects:manage', 'projects:read'] });
    const { project: other } = await secondProject(seed);
    const key = await seed.createKey({ authorizationGroupId: managers.id, projectAccess: 'SELECTED', projectIds: [seed.project.id] });
    expect(errorOf(await execute(UpdateProject, { id: other.id, input: { name: 'Hijacked' } }, { apiKey: key.secret })).code).toBe('FORBIDDEN');
    expect(errorOf(await execute(DeleteProject, { id: other.id }, { apiKey: key.secret })).code).toBe('FORBIDDEN');
    expect((await db.project.findUniqueOrThrow({ where: { id: other.id } })).name).toBe(other.name);
    await ok(UpdateProject, { id: seed.project.id, input: { name: 'By its key' } }, { apiKey: key.secret });
  });

  it('another tenant’s project is NOT_FOUND; bad names and duplicate slugs are BAD_USER_INPUT; nothing is written', async () => {
    const [seed, other] = await Promise.all([seedTenant(), seedTenant()]);
    const { project: second } = await secondProject(seed);
    const events = await db.auditEvent.count({ where: { tenantId: seed.tenant.id } });
    expect(errorOf(await execute(UpdateProject, { id: seed.project.id, input: { name: 'Theirs now' } }, { token: other.admin.token })).code).toBe('NOT_FOUND');
    expect(errorOf(await execute(DeleteProject, { id: seed.project.id }, { token: other.admin.token })).code).toBe('NOT_FOUND');
    const cases = [
      { input: { name: 'x' }, field: 'name' },
      { input: { name: 'Fine name', slug: 'Not A Slug' }, field: 'slug' },
      { input: { name: 'Fine name', slug: second.slug }, field: 'slug' },
    ];
    for (const { input, field } of cases) {
      expect(errorOf(await execute(UpdateProject, { id: seed.project.id, input }, { token: seed.admin.token }))).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    expect(await db.project.findUniqueOrThrow({ where: { id: seed.project.id } })).toMatchObject({ name: seed.project.name, slug: seed.project.slug });
    expect(await db.auditEvent.count({ where: { tenantId: seed.tenant.id } })).toBe(events);
  });
});

describe('deleteProject', () => {
  it('deletes the project with its runs; a key whose every SELECTED project is gone reaches none (never ALL), at once', async () => {
    const seed = await seedTenant();
    const { project: kept, workflow: keptFlow } = await secondProject(seed);
    const selecting = await seed.createKey({ projectAccess: 'SELECTED', projectIds: [seed.project.id] });
    const all = await seed.createKey();
    // Used once before the deletion, so it sits in the key cache with its old selection.
    expect((await trigger(seed.project.id, seed.workflow.id, selecting.secret)).errors).toBeUndefined();
    expect(errorOf(await trigger(kept.id, keptFlow.id, selecting.secret)).code).toBe('FORBIDDEN');

    expect((await ok(DeleteProject, { id: seed.project.id }, { token: seed.admin.token })).deleteProject).toBe(seed.project.id);
    expect(await db.project.count({ where: { id: seed.project.id } })).toBe(0);
    expect(await db.workflowRun.count({ where: { projectId: seed.project.id } })).toBe(0);
    const event = await db.auditEvent.findFirstOrThrow({ where: { action: 'project.deleted', targetId: seed.project.id } });
    expect(event).toMatchObject({ organizationId: seed.organization.id, metadata: expect.objectContaining({ keysThatSelectedIt: 1 }) });

    const stored = await db.apiKey.findUniqueOrThrow({ where: { id: selecting.id }, include: { projects: true } });
    expect(stored).toMatchObject({ projectAccess: 'SELECTED', status: 'ACTIVE', projects: [] });
    expect(errorOf(await trigger(kept.id, keptFlow.id, selecting.secret)).code).toBe('FORBIDDEN');
    expect((await ok(Viewer, {}, { apiKey: selecting.secret })).viewer).toEqual({ kind: 'API_KEY', projectAccess: 'SELECTED', projects: [] });
    expect((await ok(ListProjects, {}, { apiKey: selecting.secret })).projects).toEqual({ totalCount: 0, edges: [] });
    // A key with ALL projects keeps reaching the others.
    expect((await trigger(kept.id, keptFlow.id, all.secret)).errors).toBeUndefined();
  });
});

describe('updateOrganization and deleteOrganization', () => {
  it('a slug derived from a name drops its accents instead of breaking the word', async () => {
    const seed = await seedTenant();
    const names = { 'Café Zürich': 'cafe-zurich', 'Crème Brûlée': 'creme-brulee', 'Cafe\u0301 decomposed': 'cafe-decomposed' };
    for (const [name, slug] of Object.entries(names)) {
      const created = await createOrganization(seed.platform.principal, { tenantId: seed.tenant.id, name });
      expect(created.slug, name).toBe(slug);
    }
  });

  it('a tenant admin renames an organization (audited); a member or a key cannot; another tenant’s is NOT_FOUND', async () => {
    const [seed, other] = await Promise.all([seedTenant(), seedTenant()]);
    const renamed = (await ok(UpdateOrganization, { id: seed.organization.id, input: { name: 'Renamed org', slug: 'renamed-org' } }, { token: seed.admin.token }))
      .updateOrganization;
    expect(renamed).toMatchObject({ name: 'Renamed org', slug: 'renamed-org' });
    expect(await db.auditEvent.count({ where: { action: 'organization.updated', targetId: seed.organization.id, organizationId: seed.organization.id } })).toBe(1);

    const everything = await createAuthorizationGroup(seed.platform.principal, { tenantId: seed.tenant.id, name: 'All', type: 'TENANT_API_KEY', permissions: [...PERMISSIONS] });
    const key = await seed.createKey({ authorizationGroupId: everything.id });
    for (const credentials of [{ token: seed.member.token }, { apiKey: key.secret }]) {
      expect(errorOf(await execute(UpdateOrganization, { id: seed.organization.id, input: { name: 'Nope' } }, credentials)).code).toBe('FORBIDDEN');
      expect(errorOf(await execute(DeleteOrganization, { id: seed.organization.id }, credentials)).code).toBe('FORBIDDEN');
    }
    expect(errorOf(await execute(UpdateOrganization, { id: seed.organization.id, input: { name: 'Nope' } }, { token: other.admin.token })).code).toBe('NOT_FOUND');
    expect(errorOf(await execute(DeleteOrganization, { id: seed.organization.id }, { token: other.admin.token })).code).toBe('NOT_FOUND');
    expect((await db.organization.findUniqueOrThrow({ where: { id: seed.organization.id } })).name).toBe('Renamed org');

    const events = await db.auditEvent.count({ where: { tenantId: seed.tenant.id } });
    const bad = await execute(UpdateOrganization, { id: seed.organization.id, input: { name: ' ' } }, { token: seed.admin.token });
    expect(errorOf(bad)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
    expect(await db.auditEvent.count({ where: { tenantId: seed.tenant.id } })).toBe(events);
  });

  it('refuses while active keys are bound to it, naming how many; nothing is deleted', async () => {
    const seed = await seedTenant();
    const { organization, project } = await secondOrganization(seed);
    await seed.createKey({ organizationId: organization.id });
    await seed.createKey({ organizationId: organization.id });
    const result = await execute(DeleteOrganization, { id: organization.id }, { token: seed.admin.token });
    expect(errorOf(result)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    expect(errorOf(result).message).toContain('2 active API key(s)');
    expect(await db.organization.count({ where: { id: organization.id } })).toBe(1);
    expect(await db.project.count({ where: { id: project.id } })).toBe(1);
    expect(await db.auditEvent.count({ where: { action: 'organization.deleted', targetId: organization.id } })).toBe(0);
  });

  it('once its keys are revoked it is deleted with everything in it; revoked keys stay listed, unbound; selections shrink, never to ALL', async () => {
    const seed = await seedTenant();
    const { organization, project, workflow } = await secondOrganization(seed);
    const bound = await seed.createKey({ organizationId: organization.id });
    await revokeApiKey(seed.platform.principal, bound.id);
    // A tenant-wide key that selected only a project of this organization.
    const selecting = await seed.createKey({ projectAccess: 'SELECTED', projectIds: [project.id] });
    expect((await trigger(project.id, workflow.id, selecting.secret)).errors).toBeUndefined();

    expect((await ok(DeleteOrganization, { id: organization.id }, { token: seed.admin.token })).deleteOrganization).toBe(organization.id);
    expect(await db.organization.count({ where: { id: organization.id } })).toBe(0);
    expect(await db.workspace.count({ where: { organizationId: organization.id } })).toBe(0);
    expect(await db.project.count({ where: { id: project.id } })).toBe(0);
    const event = await db.auditEvent.findFirstOrThrow({ where: { action: 'organization.deleted', targetId: organization.id } });
    expect(event).toMatchObject({ organizationId: organization.id, metadata: expect.objectContaining({ unboundRevokedKeyIds: [bound.id] }) });

    const revoked = (await ok(KeyWithCreator, { id: bound.id }, { token: seed.admin.token })).apiKey;
    expect(revoked).toMatchObject({ status: 'REVOKED', organization: null });
    expect(errorOf(await execute(Viewer, {}, { apiKey: bound.secret }))).toMatchObject({ status: 401, reason: 'REVOKED' });

    expect(await db.apiKey.findUniqueOrThrow({ where: { id: selecting.id } })).toMatchObject({ projectAccess: 'SELECTED', status: 'ACTIVE' });
    expect(errorOf(await trigger(seed.project.id, seed.workflow.id, selecting.secret)).code).toBe('FORBIDDEN');
    expect((await ok(ListProjects, {}, { apiKey: selecting.secret })).projects.totalCount).toBe(0);
  });
});

describe('slugs derived from names', () => {
  it('names without Latin letters or digits each get a slug of their own; the same name twice is refused by its slug', async () => {
    const seed = await seedTenant();
    const create = (name: string) => execute(CreateOrganization, { input: { name } }, { token: seed.admin.token });
    const slugs: string[] = [];
    for (const name of ['東京', 'Москва', 'القاهرة', '!!!', '???']) {
      const result = await create(name);
      expect(result.errors).toBeUndefined();
      slugs.push(result.data!.createOrganization.slug);
    }
    expect(new Set(slugs).size).toBe(5);
    for (const slug of slugs) expect(slug).toMatch(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/);
    expect(errorOf(await create('東京'))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'slug' });
    expect(await db.organization.count({ where: { tenantId: seed.tenant.id, name: '東京' } })).toBe(1);
  });
});

describe('organizations as a connection', () => {
  it('pages by name with totalCount, forwards and backwards', async () => {
    const seed = await seedTenant();
    for (const name of ['Bravo', 'Alpha', 'Charlie']) await createOrganization(seed.platform.principal, { tenantId: seed.tenant.id, name });
    const asAdmin = { token: seed.admin.token };
    const all = (await ok(ListOrganizations, {}, asAdmin)).organizations;
    expect(all.totalCount).toBe(4);
    expect(all.edges.map((e) => e.node.name)).toEqual(['Alpha', 'Bravo', 'Charlie', 'Main organization']);
    const first = (await ok(ListOrganizations, { first: 2 }, asAdmin)).organizations;
    expect(first.edges.map((e) => e.node.name)).toEqual(['Alpha', 'Bravo']);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const next = (await ok(ListOrganizations, { first: 2, after: first.pageInfo.endCursor }, asAdmin)).organizations;
    expect(next.edges.map((e) => e.node.name)).toEqual(['Charlie', 'Main organization']);
    expect(next.totalCount).toBe(4);
    const back = (await ok(ListOrganizations, { last: 2, before: next.edges[0]!.cursor }, asAdmin)).organizations;
    expect(back.edges.map((e) => e.node.name)).toEqual(['Alpha', 'Bravo']);
  });
});
