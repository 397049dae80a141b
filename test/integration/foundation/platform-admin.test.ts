/**
 * Platform administrators pick a tenant with `tenantId` (the tenant selector); only they
 * list every tenant, create tenants and change a tenant's API-key limit.
 */
import { describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { graphql } from '../../gql/index.js';
import { errorOf, execute, ok } from '../../helpers/app.js';
import { seedTenant, unique } from '../../helpers/seed.js';

const Tenants = graphql(`
  query PlatformTenants {
    tenants {
      id
      slug
      isSystem
    }
  }
`);

const TenantLists = graphql(`
  query PlatformTenantLists($tenantId: ID!) {
    organizations(tenantId: $tenantId) {
      totalCount
      edges {
        node {
          id
        }
      }
    }
    workspaces(tenantId: $tenantId) {
      edges {
        node {
          id
        }
      }
    }
    projects(tenantId: $tenantId) {
      edges {
        node {
          id
        }
      }
    }
    authorizationGroups(tenantId: $tenantId) {
      id
    }
    auditEvents(tenantId: $tenantId, first: 100) {
      edges {
        node {
          targetId
        }
      }
    }
  }
`);

const CreateOrganization = graphql(`
  mutation PlatformCreateOrganization($input: CreateOrganizationInput!) {
    createOrganization(input: $input) {
      id
      tenant {
        id
      }
    }
  }
`);

const CreateWorkspace = graphql(`
  mutation PlatformCreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) {
      id
    }
  }
`);

const CreateProject = graphql(`
  mutation PlatformCreateProject($input: CreateProjectInput!) {
    createProject(input: $input) {
      id
    }
  }
`);

const CreateGroup = graphql(`
  mutation PlatformCreateGroup($input: CreateAuthorizationGroupInput!) {
    createAuthorizationGroup(input: $input) {
      id
      tenant {
        id
      }
    }
  }
`);

const CreateUser = graphql(`
  mutation PlatformCreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      id
      role
      tenant {
        id
      }
    }
  }
`);

const CreateTenant = graphql(`
  mutation PlatformCreateTenant($input: CreateTenantInput!) {
    createTenant(input: $input) {
      id
      name
      slug
      apiKeyLimit
      isSystem
    }
  }
`);

const UpdateTenant = graphql(`
  mutation PlatformUpdateTenant($id: ID!, $input: UpdateTenantInput!) {
    updateTenant(id: $id, input: $input) {
      id
      apiKeyLimit
    }
  }
`);

describe('platform administrators', () => {
  it('list the organizations, workspaces, projects, groups and audit events of any tenant by tenantId', async () => {
    const seed = await seedTenant();

    const data = await ok(TenantLists, { tenantId: seed.tenant.id }, { token: seed.platform.token });

    expect(data.organizations.edges.map((e) => e.node)).toEqual([{ id: seed.organization.id }]);
    expect(data.organizations.totalCount).toBe(1);
    expect(data.workspaces.edges.map((e) => e.node)).toEqual([{ id: seed.workspace.id }]);
    expect(data.projects.edges.map((e) => e.node)).toEqual([{ id: seed.project.id }]);
    expect(data.authorizationGroups).toEqual([{ id: seed.keyGroup.id }]);
    const audited = data.auditEvents.edges.map((e) => e.node.targetId);
    expect(audited).toEqual(expect.arrayContaining([seed.tenant.id, seed.organization.id, seed.workspace.id, seed.project.id]));
  });

  it('create organizations, workspaces, projects, groups and users in any tenant', async () => {
    const seed = await seedTenant();
    const token = seed.platform.token;
    const tenantId = seed.tenant.id;

    const { createOrganization: org } = await ok(CreateOrganization, { input: { tenantId, name: 'Chosen tenant org' } }, { token });
    const { createWorkspace: ws } = await ok(CreateWorkspace, { input: { organizationId: org.id, name: 'Chosen ws' } }, { token });
    const { createProject: project } = await ok(CreateProject, { input: { workspaceId: ws.id, name: 'Chosen project' } }, { token });
    const { createAuthorizationGroup: group } = await ok(
      CreateGroup,
      { input: { tenantId, name: 'Chosen group', type: 'USER', permissions: ['projects:manage'] } },
      { token },
    );
    const { createUser: user } = await ok(
      CreateUser,
      { input: { tenantId, email: `${unique('chosen')}@example.test`, password: 'long-enough-password', role: 'TENANT_ADMIN' } },
      { token },
    );

    expect(org.tenant.id).toBe(tenantId);
    expect(group.tenant.id).toBe(tenantId);
    expect(user).toMatchObject({ role: 'TENANT_ADMIN', tenant: { id: tenantId } });
    expect((await db.organization.findUniqueOrThrow({ where: { id: org.id } })).tenantId).toBe(tenantId);
    expect((await db.workspace.findUniqueOrThrow({ where: { id: ws.id } })).tenantId).toBe(tenantId);
    expect((await db.project.findUniqueOrThrow({ where: { id: project.id } })).tenantId).toBe(tenantId);
    expect((await db.authorizationGroup.findUniqueOrThrow({ where: { id: group.id } })).tenantId).toBe(tenantId);
    expect((await db.user.findUniqueOrThrow({ where: { id: user.id } })).tenantId).toBe(tenantId);
    const audit = await db.auditEvent.findMany({ where: { tenantId, targetId: { in: [org.id, ws.id, project.id, group.id, user.id] } } });
    expect(audit).toHaveLength(5);
    expect(audit.every((event) => event.actorId === seed.platform.user.id)).toBe(true);
  });

  it('`tenants` lists every tenant for a platform admin, and only the own tenant for a tenant admin', async () => {
    const [a, b] = await Promise.all([seedTenant(), seedTenant()]);

    const asPlatform = (await ok(Tenants, {}, { token: a.platform.token })).tenants.map((t) => t.id);
    const asTenantAdmin = await ok(Tenants, {}, { token: a.admin.token });
    const asMember = await ok(Tenants, {}, { token: b.member.token });

    expect(asPlatform).toEqual(expect.arrayContaining([a.tenant.id, b.tenant.id, a.platform.tenant.id]));
    expect(asTenantAdmin.tenants).toEqual([{ id: a.tenant.id, slug: a.tenant.slug, isSystem: false }]);
    expect(asMember.tenants.map((t) => t.id)).toEqual([b.tenant.id]);
  });

  it('createTenant makes a tenant with its limit and an audit event', async () => {
    const { platform } = await seedTenant();
    const name = unique('Created tenant');
    const slug = unique('created');

    const { createTenant } = await ok(CreateTenant, { input: { name, slug, apiKeyLimit: 3 } }, { token: platform.token });

    expect(createTenant).toMatchObject({ name, slug, apiKeyLimit: 3, isSystem: false });
    expect(await db.tenant.findUniqueOrThrow({ where: { id: createTenant.id } })).toMatchObject({ name, slug, apiKeyLimit: 3, isSystem: false });
    expect(await db.auditEvent.count({ where: { tenantId: createTenant.id, action: 'tenant.created', actorId: platform.user.id } })).toBe(1);
  });

  it('createTenant defaults the limit to 10 and derives the slug from the name', async () => {
    const { platform } = await seedTenant();
    const name = unique('Derived Slug');

    const { createTenant } = await ok(CreateTenant, { input: { name } }, { token: platform.token });

    expect(createTenant.apiKeyLimit).toBe(10);
    expect(createTenant.slug).toBe(name.toLowerCase().replace(' ', '-'));
  });

  it.each(['admin', 'member'] as const)('createTenant by a tenant %s → FORBIDDEN, no tenant made', async (who) => {
    const seed = await seedTenant();
    const name = unique('Forbidden tenant');

    const result = await execute(CreateTenant, { input: { name } }, { token: seed[who].token });

    expect(errorOf(result).code).toBe('FORBIDDEN');
    expect(await db.tenant.count({ where: { name } })).toBe(0);
  });

  it('updateTenant changes the API-key limit, with an audit event', async () => {
    const seed = await seedTenant({ apiKeyLimit: 10 });

    const { updateTenant } = await ok(UpdateTenant, { id: seed.tenant.id, input: { apiKeyLimit: 25 } }, { token: seed.platform.token });

    expect(updateTenant).toEqual({ id: seed.tenant.id, apiKeyLimit: 25 });
    expect((await db.tenant.findUniqueOrThrow({ where: { id: seed.tenant.id } })).apiKeyLimit).toBe(25);
    const audit = await db.auditEvent.findFirstOrThrow({ where: { tenantId: seed.tenant.id, action: 'tenant.updated' } });
    expect(audit).toMatchObject({ actorId: seed.platform.user.id, targetId: seed.tenant.id });
  });

  it.each(['admin', 'member'] as const)('updateTenant by a tenant %s → FORBIDDEN, the limit unchanged', async (who) => {
    const seed = await seedTenant({ apiKeyLimit: 10 });

    const result = await execute(UpdateTenant, { id: seed.tenant.id, input: { apiKeyLimit: 1000 } }, { token: seed[who].token });

    expect(errorOf(result).code).toBe('FORBIDDEN');
    expect((await db.tenant.findUniqueOrThrow({ where: { id: seed.tenant.id } })).apiKeyLimit).toBe(10);
  });

  it('updateTenant of a tenant that does not exist → NOT_FOUND', async () => {
    const { platform } = await seedTenant();
    const result = await execute(UpdateTenant, { id: unique('no-tenant'), input: { apiKeyLimit: 5 } }, { token: platform.token });
    expect(errorOf(result).code).toBe('NOT_FOUND');
  });
});
