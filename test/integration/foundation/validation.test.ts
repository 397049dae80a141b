/**
 * Every mutation of the foundation names the bad input field in `extensions.field` and
 * writes nothing: the tenant's rows (audit trail included) are exactly as before.
 */
import { describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { graphql } from '../../gql/index.js';
import { errorOf, execute, ok, type Result } from '../../helpers/app.js';
import { seedTenant, unique, type Seed } from '../../helpers/seed.js';

const CreateTenant = graphql(`
  mutation ValidationCreateTenant($input: CreateTenantInput!) {
    createTenant(input: $input) {
      id
    }
  }
`);

const CreateUser = graphql(`
  mutation ValidationCreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      id
    }
  }
`);

const CreateOrganization = graphql(`
  mutation ValidationCreateOrganization($input: CreateOrganizationInput!) {
    createOrganization(input: $input) {
      id
    }
  }
`);

const CreateWorkspace = graphql(`
  mutation ValidationCreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) {
      id
    }
  }
`);

const UpdateWorkspace = graphql(`
  mutation ValidationUpdateWorkspace($id: ID!, $input: UpdateWorkspaceInput!) {
    updateWorkspace(id: $id, input: $input) {
      id
    }
  }
`);

const CreateProject = graphql(`
  mutation ValidationCreateProject($input: CreateProjectInput!) {
    createProject(input: $input) {
      id
    }
  }
`);

const CreateGroup = graphql(`
  mutation ValidationCreateGroup($input: CreateAuthorizationGroupInput!) {
    createAuthorizationGroup(input: $input) {
      id
    }
  }
`);

const UpdateGroup = graphql(`
  mutation ValidationUpdateGroup($id: ID!, $input: UpdateAuthorizationGroupInput!) {
    updateAuthorizationGroup(id: $id, input: $input) {
      id
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
    apiKeys: await db.apiKey.findMany({ where, ...byId }),
    auditEvents: await db.auditEvent.findMany({ where, ...byId }),
  };
}

type Case = {
  name: string;
  field: string;
  /** Part of the message that must name the culprit. */
  message?: string;
  run: (seed: Seed) => Promise<Result<unknown>>;
  /** Counts the rows the mutation would have made outside the seeded tenant; must stay 0. */
  writtenElsewhere?: () => Promise<number>;
};

const tenantsNamed = (name: string, slug: string) => () => db.tenant.count({ where: { OR: [{ name }, { slug }] } });
const usersWithEmail = (email: string) => () => db.user.count({ where: { email } });
const names = {
  oneChar: unique('one-char'),
  badSlugTenant: unique('Tenant'),
  dupSlugTenant: unique('Tenant'),
  negative: unique('negative'),
  paEmail: `${unique('pa')}@example.test`,
  paCrossEmail: `${unique('pa')}@example.test`,
  shortPwEmail: `${unique('short')}@example.test`,
  groupEmail: `${unique('grp')}@example.test`,
};

const longText = 'x'.repeat(1001);

const cases: Case[] = [
  // createTenant (platform administrators only)
  {
    name: 'createTenant: a one-character name',
    field: 'name',
    run: ({ platform }) => execute(CreateTenant, { input: { name: 'A', slug: names.oneChar } }, { token: platform.token }),
    writtenElsewhere: tenantsNamed('A', names.oneChar),
  },
  {
    name: 'createTenant: a slug with spaces and capitals',
    field: 'slug',
    run: ({ platform }) => execute(CreateTenant, { input: { name: names.badSlugTenant, slug: 'Bad Slug!' } }, { token: platform.token }),
    writtenElsewhere: tenantsNamed(names.badSlugTenant, 'Bad Slug!'),
  },
  {
    name: 'createTenant: a slug another tenant has',
    field: 'slug',
    run: ({ platform, tenant }) => execute(CreateTenant, { input: { name: names.dupSlugTenant, slug: tenant.slug } }, { token: platform.token }),
    writtenElsewhere: () => db.tenant.count({ where: { name: names.dupSlugTenant } }),
  },
  {
    name: 'createTenant: a negative apiKeyLimit',
    field: 'apiKeyLimit',
    run: ({ platform }) =>
      execute(CreateTenant, { input: { name: names.negative, slug: names.negative, apiKeyLimit: -1 } }, { token: platform.token }),
    writtenElsewhere: tenantsNamed(names.negative, names.negative),
  },
  // createUser
  {
    name: 'createUser: an email without a domain',
    field: 'email',
    run: ({ admin }) => execute(CreateUser, { input: { email: 'not-an-email', password: 'long-enough-password' } }, { token: admin.token }),
  },
  {
    name: 'createUser: a password shorter than 12 characters',
    field: 'password',
    run: ({ admin }) =>
      execute(CreateUser, { input: { email: names.shortPwEmail, password: 'short-pw' } }, { token: admin.token }),
    writtenElsewhere: usersWithEmail(names.shortPwEmail),
  },
  {
    name: 'createUser: PLATFORM_ADMIN by a tenant admin in their own tenant',
    field: 'role',
    run: ({ admin }) =>
      execute(
        CreateUser,
        { input: { email: names.paEmail, password: 'long-enough-password', role: 'PLATFORM_ADMIN' } },
        { token: admin.token },
      ),
    writtenElsewhere: usersWithEmail(names.paEmail),
  },
  {
    name: 'createUser: PLATFORM_ADMIN by a platform admin outside the system tenant',
    field: 'role',
    run: ({ platform, tenant }) =>
      execute(
        CreateUser,
        { input: { tenantId: tenant.id, email: names.paCrossEmail, password: 'long-enough-password', role: 'PLATFORM_ADMIN' } },
        { token: platform.token },
      ),
    writtenElsewhere: usersWithEmail(names.paCrossEmail),
  },
  {
    name: 'createUser: a TENANT_API_KEY group for a user',
    field: 'authorizationGroupId',
    run: ({ admin, keyGroup }) =>
      execute(
        CreateUser,
        { input: { email: names.groupEmail, password: 'long-enough-password', authorizationGroupId: keyGroup.id } },
        { token: admin.token },
      ),
    writtenElsewhere: usersWithEmail(names.groupEmail),
  },
  // createOrganization
  {
    name: 'createOrganization: a one-character name',
    field: 'name',
    run: ({ admin }) => execute(CreateOrganization, { input: { name: 'O' } }, { token: admin.token }),
  },
  {
    name: 'createOrganization: a slug ending with a dash',
    field: 'slug',
    run: ({ admin }) => execute(CreateOrganization, { input: { name: 'Second organization', slug: 'second-' } }, { token: admin.token }),
  },
  {
    name: 'createOrganization: a slug another organization of the tenant has',
    field: 'slug',
    run: ({ admin, organization }) =>
      execute(CreateOrganization, { input: { name: 'Copy', slug: organization.slug } }, { token: admin.token }),
  },
  // createWorkspace
  {
    name: 'createWorkspace: a blank name',
    field: 'name',
    run: ({ admin, organization }) => execute(CreateWorkspace, { input: { organizationId: organization.id, name: '   ' } }, { token: admin.token }),
  },
  {
    name: 'createWorkspace: a slug with an underscore',
    field: 'slug',
    run: ({ admin, organization }) =>
      execute(CreateWorkspace, { input: { organizationId: organization.id, name: 'Second', slug: 'bad_slug' } }, { token: admin.token }),
  },
  {
    name: 'createWorkspace: a slug another workspace of the organization has',
    field: 'slug',
    run: ({ admin, organization, workspace }) =>
      execute(CreateWorkspace, { input: { organizationId: organization.id, name: 'Copy', slug: workspace.slug } }, { token: admin.token }),
  },
  // updateWorkspace
  {
    name: 'updateWorkspace: a one-character name',
    field: 'name',
    run: ({ admin, workspace }) => execute(UpdateWorkspace, { id: workspace.id, input: { name: 'W' } }, { token: admin.token }),
  },
  {
    name: 'updateWorkspace: an empty slug',
    field: 'slug',
    run: ({ admin, workspace }) => execute(UpdateWorkspace, { id: workspace.id, input: { slug: '' } }, { token: admin.token }),
  },
  {
    name: 'updateWorkspace: a name longer than 200 characters',
    field: 'name',
    run: ({ admin, workspace }) => execute(UpdateWorkspace, { id: workspace.id, input: { name: 'w'.repeat(201) } }, { token: admin.token }),
  },
  // createProject
  {
    name: 'createProject: no workspaceId and no X-Workspace-Id',
    field: 'workspaceId',
    run: ({ admin }) => execute(CreateProject, { input: { name: 'Orphan project' } }, { token: admin.token }),
  },
  {
    name: 'createProject: a one-character name',
    field: 'name',
    run: ({ admin, workspace }) => execute(CreateProject, { input: { workspaceId: workspace.id, name: 'P' } }, { token: admin.token }),
  },
  {
    name: 'createProject: a slug another project of the workspace has',
    field: 'slug',
    run: ({ admin, workspace, project }) =>
      execute(CreateProject, { input: { workspaceId: workspace.id, name: 'Copy', slug: project.slug } }, { token: admin.token }),
  },
  // createAuthorizationGroup
  {
    name: 'createAuthorizationGroup: a permission outside the catalogue',
    field: 'permissions',
    message: 'workflows:delete',
    run: ({ admin }) =>
      execute(
        CreateGroup,
        { input: { name: 'Bad group', type: 'TENANT_API_KEY', permissions: ['projects:read', 'workflows:delete'] } },
        { token: admin.token },
      ),
  },
  {
    name: 'createAuthorizationGroup: a name another group of the tenant has',
    field: 'name',
    run: ({ admin, keyGroup }) =>
      execute(CreateGroup, { input: { name: keyGroup.name, type: 'TENANT_API_KEY', permissions: ['projects:read'] } }, { token: admin.token }),
  },
  {
    name: 'createAuthorizationGroup: a description over 1000 characters',
    field: 'description',
    run: ({ admin }) =>
      execute(CreateGroup, { input: { name: 'Long', description: longText, type: 'USER', permissions: [] } }, { token: admin.token }),
  },
  // updateAuthorizationGroup
  {
    name: 'updateAuthorizationGroup: a permission outside the catalogue',
    field: 'permissions',
    message: 'admin:everything',
    run: ({ admin, keyGroup }) =>
      execute(UpdateGroup, { id: keyGroup.id, input: { permissions: ['admin:everything'] } }, { token: admin.token }),
  },
  {
    name: 'updateAuthorizationGroup: a one-character name',
    field: 'name',
    run: ({ admin, keyGroup }) => execute(UpdateGroup, { id: keyGroup.id, input: { name: 'G' } }, { token: admin.token }),
  },
];

describe('validation', () => {
  it.each(cases)('$name → BAD_USER_INPUT on $field, nothing written', async ({ run, field, message, writtenElsewhere }) => {
    const seed = await seedTenant();
    const before = await tenantRows(seed.tenant.id);

    const result = await run(seed);

    const error = errorOf(result);
    expect(error).toMatchObject({ code: 'BAD_USER_INPUT', field });
    if (message) expect(error.message).toContain(message);
    expect(result.data ?? null).toBeNull();
    expect(await tenantRows(seed.tenant.id)).toEqual(before);
    if (writtenElsewhere) expect(await writtenElsewhere()).toBe(0);
  });

  it('updateAuthorizationGroup: renaming to another group’s name → BAD_USER_INPUT on name, nothing written', async () => {
    const seed = await seedTenant();
    const other = await ok(
      CreateGroup,
      { input: { name: 'Readers', type: 'TENANT_API_KEY', permissions: ['projects:read'] } },
      { token: seed.admin.token },
    );
    const before = await tenantRows(seed.tenant.id);

    const result = await execute(UpdateGroup, { id: other.createAuthorizationGroup.id, input: { name: seed.keyGroup.name } }, { token: seed.admin.token });

    expect(errorOf(result)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
    expect(await tenantRows(seed.tenant.id)).toEqual(before);
  });

  it('updateWorkspace: a slug another workspace of the organization has → BAD_USER_INPUT on slug, nothing written', async () => {
    const seed = await seedTenant();
    const second = await ok(
      CreateWorkspace,
      { input: { organizationId: seed.organization.id, name: 'Second workspace' } },
      { token: seed.admin.token },
    );
    const before = await tenantRows(seed.tenant.id);

    const result = await execute(UpdateWorkspace, { id: second.createWorkspace.id, input: { slug: seed.workspace.slug } }, { token: seed.admin.token });

    expect(errorOf(result)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'slug' });
    expect(await tenantRows(seed.tenant.id)).toEqual(before);
  });

  it('valid input to the same mutations succeeds, so the failures above are about the input', async () => {
    const seed = await seedTenant();
    const token = seed.admin.token;
    await ok(CreateTenant, { input: { name: unique('Tenant'), slug: unique('fine'), apiKeyLimit: 0 } }, { token: seed.platform.token });
    await ok(CreateUser, { input: { email: `${unique('fine')}@example.test`, password: 'long-enough-password' } }, { token });
    await ok(CreateOrganization, { input: { name: 'Second organization', slug: 'second' } }, { token });
    await ok(CreateWorkspace, { input: { organizationId: seed.organization.id, name: 'Second', slug: 'second' } }, { token });
    await ok(UpdateWorkspace, { id: seed.workspace.id, input: { name: 'Renamed', slug: 'renamed' } }, { token });
    await ok(CreateProject, { input: { workspaceId: seed.workspace.id, name: 'Second project' } }, { token });
    await ok(CreateGroup, { input: { name: 'Fine group', type: 'USER', permissions: ['workspaces:manage'] } }, { token });
    await ok(UpdateGroup, { id: seed.keyGroup.id, input: { name: 'Renamed group', permissions: ['projects:read'] } }, { token });
  });
});
