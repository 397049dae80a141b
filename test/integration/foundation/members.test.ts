/**
 * A MEMBER reads the tenant but manages nothing, unless their USER authorization group
 * grants the permission.
 */
import { describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { graphql } from '../../gql/index.js';
import { errorOf, execute, ok, type Result } from '../../helpers/app.js';
import { seedTenant, signedIn, unique, type Seed } from '../../helpers/seed.js';

const CreateOrganization = graphql(`
  mutation MembersCreateOrganization($input: CreateOrganizationInput!) {
    createOrganization(input: $input) {
      id
    }
  }
`);

const CreateWorkspace = graphql(`
  mutation MembersCreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) {
      id
      name
      organization {
        id
      }
    }
  }
`);

const UpdateWorkspace = graphql(`
  mutation MembersUpdateWorkspace($id: ID!, $input: UpdateWorkspaceInput!) {
    updateWorkspace(id: $id, input: $input) {
      id
    }
  }
`);

const DeleteWorkspace = graphql(`
  mutation MembersDeleteWorkspace($id: ID!) {
    deleteWorkspace(id: $id)
  }
`);

const CreateProject = graphql(`
  mutation MembersCreateProject($input: CreateProjectInput!) {
    createProject(input: $input) {
      id
    }
  }
`);

const CreateGroup = graphql(`
  mutation MembersCreateGroup($input: CreateAuthorizationGroupInput!) {
    createAuthorizationGroup(input: $input) {
      id
    }
  }
`);

const CreateUser = graphql(`
  mutation MembersCreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      id
    }
  }
`);

const AuditEvents = graphql(`
  query MembersAuditEvents {
    auditEvents {
      edges {
        node {
          id
        }
      }
    }
  }
`);

const Workspaces = graphql(`
  query MembersWorkspaces {
    workspaces {
      edges {
        node {
          id
          name
        }
      }
    }
  }
`);

const Projects = graphql(`
  query MembersProjects {
    projects {
      edges {
        node {
          id
          name
        }
      }
    }
  }
`);

/** Every row the tenant owns, in a stable order: equal snapshots mean nothing was written. */
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
    auditEvents: await db.auditEvent.findMany({ where, ...byId }),
  };
}

const managing: { name: string; run: (seed: Seed, token: string) => Promise<Result<unknown>> }[] = [
  { name: 'createOrganization', run: (_s, token) => execute(CreateOrganization, { input: { name: 'Member organization' } }, { token }) },
  {
    name: 'createWorkspace',
    run: (s, token) => execute(CreateWorkspace, { input: { organizationId: s.organization.id, name: 'Member workspace' } }, { token }),
  },
  { name: 'updateWorkspace', run: (s, token) => execute(UpdateWorkspace, { id: s.workspace.id, input: { name: 'Renamed' } }, { token }) },
  { name: 'deleteWorkspace', run: (s, token) => execute(DeleteWorkspace, { id: s.workspace.id }, { token }) },
  {
    name: 'createProject',
    run: (s, token) => execute(CreateProject, { input: { workspaceId: s.workspace.id, name: 'Member project' } }, { token }),
  },
  {
    name: 'createAuthorizationGroup',
    run: (_s, token) => execute(CreateGroup, { input: { name: 'Member group', type: 'USER', permissions: ['users:manage'] } }, { token }),
  },
  {
    name: 'createUser',
    run: (_s, token) =>
      execute(CreateUser, { input: { email: `${unique('by-member')}@example.test`, password: 'long-enough-password' } }, { token }),
  },
  { name: 'auditEvents', run: (_s, token) => execute(AuditEvents, {}, { token }) },
];

describe('members', () => {
  it.each(managing)('a MEMBER gets FORBIDDEN for $name, and nothing is written', async ({ run }) => {
    const seed = await seedTenant();
    const before = await tenantRows(seed.tenant.id);

    const result = await run(seed, seed.member.token);

    expect(errorOf(result).code).toBe('FORBIDDEN');
    expect(result.data ?? null).toBeNull();
    expect(await tenantRows(seed.tenant.id)).toEqual(before);
  });

  it.each(managing)('a TENANT_ADMIN of the same tenant may do $name', async ({ run }) => {
    const seed = await seedTenant();
    expect((await run(seed, seed.admin.token)).errors).toBeUndefined();
  });

  it('a MEMBER reads the workspaces and projects of their tenant', async () => {
    const seed = await seedTenant();

    const { workspaces } = await ok(Workspaces, {}, { token: seed.member.token });
    const { projects } = await ok(Projects, {}, { token: seed.member.token });

    expect(workspaces.edges.map((e) => e.node)).toEqual([{ id: seed.workspace.id, name: seed.workspace.name }]);
    expect(projects.edges.map((e) => e.node)).toEqual([{ id: seed.project.id, name: seed.project.name }]);
  });

  it('a MEMBER whose USER group grants workspaces:manage can create a workspace, and only that', async () => {
    const seed = await seedTenant();
    const { createAuthorizationGroup: group } = await ok(
      CreateGroup,
      { input: { name: 'Workspace managers', type: 'USER', permissions: ['workspaces:manage'] } },
      { token: seed.admin.token },
    );
    const manager = await signedIn(seed.tenant.id, 'MEMBER', group.id);

    const { createWorkspace } = await ok(
      CreateWorkspace,
      { input: { organizationId: seed.organization.id, name: 'Managed by a member' } },
      { token: manager.token },
    );

    expect(createWorkspace).toMatchObject({ name: 'Managed by a member', organization: { id: seed.organization.id } });
    const row = await db.workspace.findUniqueOrThrow({ where: { id: createWorkspace.id } });
    expect(row.tenantId).toBe(seed.tenant.id);
    const audit = await db.auditEvent.findFirstOrThrow({ where: { targetId: createWorkspace.id, action: 'workspace.created' } });
    expect(audit).toMatchObject({ actorKind: 'USER', actorId: manager.user.id, tenantId: seed.tenant.id });

    const project = await execute(CreateProject, { input: { workspaceId: row.id, name: 'Not allowed' } }, { token: manager.token });
    expect(errorOf(project).code).toBe('FORBIDDEN');
  });

  it('a TENANT_API_KEY group on a member grants nothing: those permissions are for keys', async () => {
    const seed = await seedTenant();
    const { createAuthorizationGroup: group } = await ok(
      CreateGroup,
      { input: { name: 'Key managers', type: 'TENANT_API_KEY', permissions: ['workspaces:manage'] } },
      { token: seed.admin.token },
    );
    // createUser refuses such a group; the row is written directly to model a stale assignment.
    const member = await signedIn(seed.tenant.id, 'MEMBER', group.id);

    const result = await execute(
      CreateWorkspace,
      { input: { organizationId: seed.organization.id, name: 'Should not exist' } },
      { token: member.token },
    );

    expect(errorOf(result).code).toBe('FORBIDDEN');
    expect(await db.workspace.count({ where: { tenantId: seed.tenant.id, name: 'Should not exist' } })).toBe(0);
  });
});
