/**
 * Nothing crosses a tenant: a TENANT_ADMIN of tenant A naming any object of tenant B gets
 * NOT_FOUND, exactly the answer for an id that does not exist (so B's ids cannot be probed),
 * and neither tenant's rows change.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { graphql } from '../../gql/index.js';
import { errorOf, execute, type Result } from '../../helpers/app.js';
import { seedTenant, unique, type Seed } from '../../helpers/seed.js';

const TenantById = graphql(`
  query IsolationTenant($id: ID!) {
    tenant(id: $id) {
      id
      name
    }
  }
`);

const Organizations = graphql(`
  query IsolationOrganizations($tenantId: ID) {
    organizations(tenantId: $tenantId) {
      edges {
        node {
          id
        }
      }
    }
  }
`);

const Workspaces = graphql(`
  query IsolationWorkspaces($tenantId: ID, $organizationId: ID) {
    workspaces(tenantId: $tenantId, organizationId: $organizationId) {
      edges {
        node {
          id
        }
      }
    }
  }
`);

const Projects = graphql(`
  query IsolationProjects($tenantId: ID, $workspaceId: ID) {
    projects(tenantId: $tenantId, workspaceId: $workspaceId) {
      edges {
        node {
          id
        }
      }
    }
  }
`);

const Groups = graphql(`
  query IsolationGroups($tenantId: ID) {
    authorizationGroups(tenantId: $tenantId) {
      id
    }
  }
`);

const AuditEvents = graphql(`
  query IsolationAuditEvents($tenantId: ID) {
    auditEvents(tenantId: $tenantId) {
      edges {
        node {
          id
        }
      }
    }
  }
`);

const CreateOrganization = graphql(`
  mutation IsolationCreateOrganization($input: CreateOrganizationInput!) {
    createOrganization(input: $input) {
      id
    }
  }
`);

const CreateWorkspace = graphql(`
  mutation IsolationCreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) {
      id
    }
  }
`);

const UpdateWorkspace = graphql(`
  mutation IsolationUpdateWorkspace($id: ID!, $input: UpdateWorkspaceInput!) {
    updateWorkspace(id: $id, input: $input) {
      id
    }
  }
`);

const DeleteWorkspace = graphql(`
  mutation IsolationDeleteWorkspace($id: ID!) {
    deleteWorkspace(id: $id)
  }
`);

const CreateProject = graphql(`
  mutation IsolationCreateProject($input: CreateProjectInput!) {
    createProject(input: $input) {
      id
    }
  }
`);

const CreateGroup = graphql(`
  mutation IsolationCreateGroup($input: CreateAuthorizationGroupInput!) {
    createAuthorizationGroup(input: $input) {
      id
    }
  }
`);

const UpdateGroup = graphql(`
  mutation IsolationUpdateGroup($id: ID!, $input: UpdateAuthorizationGroupInput!) {
    updateAuthorizationGroup(id: $id, input: $input) {
      id
    }
  }
`);

const DeleteGroup = graphql(`
  mutation IsolationDeleteGroup($id: ID!) {
    deleteAuthorizationGroup(id: $id)
  }
`);

const CreateUser = graphql(`
  mutation IsolationCreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      id
    }
  }
`);

const Users = graphql(`
  query IsolationUsers($tenantId: ID) {
    users(tenantId: $tenantId) {
      totalCount
    }
  }
`);

const UserById = graphql(`
  query IsolationUser($id: ID!) {
    user(id: $id) {
      email
    }
  }
`);

const UpdateUser = graphql(`
  mutation IsolationUpdateUser($id: ID!, $input: UpdateUserInput!) {
    updateUser(id: $id, input: $input) {
      id
    }
  }
`);

const DeactivateUser = graphql(`
  mutation IsolationDeactivateUser($id: ID!) {
    deactivateUser(id: $id) {
      id
    }
  }
`);

const UpdateOrganization = graphql(`
  mutation IsolationUpdateOrganization($id: ID!, $input: UpdateOrganizationInput!) {
    updateOrganization(id: $id, input: $input) {
      id
    }
  }
`);

const DeleteOrganization = graphql(`
  mutation IsolationDeleteOrganization($id: ID!) {
    deleteOrganization(id: $id)
  }
`);

const UpdateProject = graphql(`
  mutation IsolationUpdateProject($id: ID!, $input: UpdateProjectInput!) {
    updateProject(id: $id, input: $input) {
      id
    }
  }
`);

const DeleteProject = graphql(`
  mutation IsolationDeleteProject($id: ID!) {
    deleteProject(id: $id)
  }
`);

const DataDeliveries = graphql(`
  query IsolationDataDeliveries($projectId: ID!) {
    dataDeliveries(projectId: $projectId) {
      totalCount
    }
  }
`);

/** The ids an operation names: tenant B's real ones, or ids that exist nowhere. */
type Target = { tenantId: string; organizationId: string; workspaceId: string; groupId: string; projectId: string; userId: string };

const targetOf = (seed: Seed): Target => ({
  tenantId: seed.tenant.id,
  organizationId: seed.organization.id,
  workspaceId: seed.workspace.id,
  groupId: seed.keyGroup.id,
  projectId: seed.project.id,
  userId: seed.member.user.id,
});

const missing = (): Target => ({
  tenantId: unique('no-tenant'),
  organizationId: unique('no-org'),
  workspaceId: unique('no-ws'),
  groupId: unique('no-group'),
  projectId: unique('no-project'),
  userId: unique('no-user'),
});

const operations: { name: string; run: (t: Target, token: string) => Promise<Result<unknown>> }[] = [
  { name: 'tenant(id)', run: (t, token) => execute(TenantById, { id: t.tenantId }, { token }) },
  { name: 'organizations(tenantId)', run: (t, token) => execute(Organizations, { tenantId: t.tenantId }, { token }) },
  { name: 'workspaces(tenantId)', run: (t, token) => execute(Workspaces, { tenantId: t.tenantId }, { token }) },
  { name: 'projects(tenantId)', run: (t, token) => execute(Projects, { tenantId: t.tenantId }, { token }) },
  { name: 'authorizationGroups(tenantId)', run: (t, token) => execute(Groups, { tenantId: t.tenantId }, { token }) },
  { name: 'auditEvents(tenantId)', run: (t, token) => execute(AuditEvents, { tenantId: t.tenantId }, { token }) },
  {
    name: 'createOrganization(tenantId)',
    run: (t, token) => execute(CreateOrganization, { input: { tenantId: t.tenantId, name: 'Intruder organization' } }, { token }),
  },
  {
    name: 'createWorkspace(organizationId)',
    run: (t, token) => execute(CreateWorkspace, { input: { organizationId: t.organizationId, name: 'Intruder workspace' } }, { token }),
  },
  {
    name: 'updateWorkspace(id)',
    run: (t, token) => execute(UpdateWorkspace, { id: t.workspaceId, input: { name: 'Hijacked' } }, { token }),
  },
  { name: 'deleteWorkspace(id)', run: (t, token) => execute(DeleteWorkspace, { id: t.workspaceId }, { token }) },
  {
    name: 'createProject(workspaceId)',
    run: (t, token) => execute(CreateProject, { input: { workspaceId: t.workspaceId, name: 'Intruder project' } }, { token }),
  },
  {
    name: 'createAuthorizationGroup(tenantId)',
    run: (t, token) =>
      execute(CreateGroup, { input: { tenantId: t.tenantId, name: 'Intruders', type: 'TENANT_API_KEY', permissions: ['projects:read'] } }, { token }),
  },
  {
    name: 'updateAuthorizationGroup(id)',
    run: (t, token) =>
      execute(UpdateGroup, { id: t.groupId, input: { name: 'Hijacked', permissions: ['api_keys:manage', 'users:manage'] } }, { token }),
  },
  { name: 'deleteAuthorizationGroup(id)', run: (t, token) => execute(DeleteGroup, { id: t.groupId }, { token }) },
  { name: 'users(tenantId)', run: (t, token) => execute(Users, { tenantId: t.tenantId }, { token }) },
  { name: 'user(id)', run: (t, token) => execute(UserById, { id: t.userId }, { token }) },
  { name: 'updateUser(id)', run: (t, token) => execute(UpdateUser, { id: t.userId, input: { role: 'MEMBER' } }, { token }) },
  { name: 'deactivateUser(id)', run: (t, token) => execute(DeactivateUser, { id: t.userId }, { token }) },
  {
    name: 'updateOrganization(id)',
    run: (t, token) => execute(UpdateOrganization, { id: t.organizationId, input: { name: 'Hijacked' } }, { token }),
  },
  { name: 'deleteOrganization(id)', run: (t, token) => execute(DeleteOrganization, { id: t.organizationId }, { token }) },
  { name: 'updateProject(id)', run: (t, token) => execute(UpdateProject, { id: t.projectId, input: { name: 'Hijacked' } }, { token }) },
  { name: 'deleteProject(id)', run: (t, token) => execute(DeleteProject, { id: t.projectId }, { token }) },
  { name: 'dataDeliveries(projectId)', run: (t, token) => execute(DataDeliveries, { projectId: t.projectId }, { token }) },
  {
    name: 'createUser(tenantId)',
    run: (t, token) =>
      execute(
        CreateUser,
        { input: { tenantId: t.tenantId, email: `${unique('intruder')}@example.test`, password: 'long-enough-password', role: 'TENANT_ADMIN' } },
        { token },
      ),
  },
];

/** Every row a tenant owns, in a stable order: equal snapshots mean nothing was written. */
async function tenantRows(tenantId: string) {
  const where = { tenantId };
  const byId = { orderBy: { id: 'asc' as const } };
  return {
    tenant: await db.tenant.findUnique({ where: { id: tenantId } }),
    users: await db.user.findMany({ where, ...byId }),
    organizations: await db.organization.findMany({ where, ...byId }),
    workspaces: await db.workspace.findMany({ where, ...byId }),
    projects: await db.project.findMany({ where, ...byId }),
    authorizationGroups: await db.authorizationGroup.findMany({ where, ...byId }),
    apiKeys: await db.apiKey.findMany({ where, ...byId }),
    auditEvents: await db.auditEvent.findMany({ where, ...byId }),
  };
}

describe('tenant isolation: a tenant admin of A naming tenant B', () => {
  let a: Seed;
  let b: Seed;
  beforeAll(async () => {
    [a, b] = await Promise.all([seedTenant(), seedTenant()]);
  });

  it.each(operations)('$name → NOT_FOUND, as for an id that does not exist; neither tenant changes', async ({ run }) => {
    const before = { a: await tenantRows(a.tenant.id), b: await tenantRows(b.tenant.id) };

    const result = await run(targetOf(b), a.admin.token);
    const forMissing = await run(missing(), a.admin.token);

    expect(errorOf(result).code).toBe('NOT_FOUND');
    expect(result.data ?? null).toBeNull();
    expect(JSON.stringify(result.errors)).not.toContain(b.tenant.name);
    expect(errorOf(result)).toEqual(errorOf(forMissing));
    expect({ a: await tenantRows(a.tenant.id), b: await tenantRows(b.tenant.id) }).toEqual(before);
  });

  it('the same operations succeed for A’s own objects, so the refusals above are about the tenant', async () => {
    const outcomes = await Promise.all(
      operations.map(async ({ name, run }) => {
        const own = await seedTenant();
        return { name, errors: (await run(targetOf(own), own.admin.token)).errors };
      }),
    );
    expect(outcomes).toEqual(operations.map(({ name }) => ({ name, errors: undefined })));
  });

  it('filtering workspaces and projects by B’s organization or workspace id returns none of B’s rows', async () => {
    const token = a.admin.token;
    const workspaces = await execute(Workspaces, { organizationId: b.organization.id }, { token });
    const projects = await execute(Projects, { workspaceId: b.workspace.id }, { token });

    for (const result of [workspaces, projects]) {
      if (result.errors) expect(errorOf(result).code).toBe('NOT_FOUND');
    }
    expect(workspaces.data?.workspaces.edges ?? []).toEqual([]);
    expect(projects.data?.projects.edges ?? []).toEqual([]);
  });
});
