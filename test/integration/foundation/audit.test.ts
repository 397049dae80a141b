/**
 * The audit trail: every create, update and delete writes one AuditEvent (actor, tenant,
 * action, target) that tenant admins read with `auditEvents`, newest first.
 */
import { describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { graphql } from '../../gql/index.js';
import { errorOf, execute, ok } from '../../helpers/app.js';
import { seedTenant, unique } from '../../helpers/seed.js';

const AuditEvents = graphql(`
  query AuditEventsList($tenantId: ID, $targetId: ID, $action: String) {
    auditEvents(tenantId: $tenantId, targetId: $targetId, action: $action, first: 50) {
      edges {
        node {
          id
          action
          actorKind
          actorId
          targetType
          targetId
          metadata
        }
      }
    }
  }
`);

const CreateWorkspace = graphql(`
  mutation AuditCreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) {
      id
    }
  }
`);

const UpdateWorkspace = graphql(`
  mutation AuditUpdateWorkspace($id: ID!, $input: UpdateWorkspaceInput!) {
    updateWorkspace(id: $id, input: $input) {
      id
    }
  }
`);

const DeleteWorkspace = graphql(`
  mutation AuditDeleteWorkspace($id: ID!) {
    deleteWorkspace(id: $id)
  }
`);

const CreateOrganization = graphql(`
  mutation AuditCreateOrganization($input: CreateOrganizationInput!) {
    createOrganization(input: $input) {
      id
    }
  }
`);

const CreateProject = graphql(`
  mutation AuditCreateProject($input: CreateProjectInput!) {
    createProject(input: $input) {
      id
    }
  }
`);

const CreateGroup = graphql(`
  mutation AuditCreateGroup($input: CreateAuthorizationGroupInput!) {
    createAuthorizationGroup(input: $input) {
      id
    }
  }
`);

const CreateUser = graphql(`
  mutation AuditCreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      id
    }
  }
`);

describe('audit events', () => {
  it('a workspace’s create, update and delete are recorded, readable newest first by the tenant admin', async () => {
    const seed = await seedTenant();
    const token = seed.admin.token;
    const { createWorkspace } = await ok(CreateWorkspace, { input: { organizationId: seed.organization.id, name: 'Audited' } }, { token });
    const id = createWorkspace.id;
    await ok(UpdateWorkspace, { id, input: { name: 'Audited and renamed' } }, { token });
    await ok(DeleteWorkspace, { id }, { token });

    const { auditEvents } = await ok(AuditEvents, { targetId: id }, { token });

    const expected = ['workspace.deleted', 'workspace.updated', 'workspace.created'].map((action) => ({
      action,
      actorKind: 'USER',
      actorId: seed.admin.user.id,
      targetType: 'Workspace',
      targetId: id,
    }));
    expect(auditEvents.edges.map(({ node }) => node)).toMatchObject(expected);

    const rows = await db.auditEvent.findMany({ where: { targetId: id }, orderBy: { action: 'asc' } });
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      expect(row).toMatchObject({ tenantId: seed.tenant.id, actorKind: 'USER', actorId: seed.admin.user.id, targetType: 'Workspace' });
    }
    expect(rows.map((row) => row.action)).toEqual(['workspace.created', 'workspace.deleted', 'workspace.updated']);
  });

  it('creating an organization, a project, a group and a user each records one event', async () => {
    const seed = await seedTenant();
    const token = seed.admin.token;
    const password = `never-${unique('logged')}`;

    const targets = {
      'organization.created': (await ok(CreateOrganization, { input: { name: 'Audited organization' } }, { token })).createOrganization.id,
      'project.created': (await ok(CreateProject, { input: { workspaceId: seed.workspace.id, name: 'Audited project' } }, { token })).createProject
        .id,
      'authorization_group.created': (
        await ok(CreateGroup, { input: { name: 'Audited group', type: 'USER', permissions: ['audit:read'] } }, { token })
      ).createAuthorizationGroup.id,
      'user.created': (await ok(CreateUser, { input: { email: `${unique('audited')}@example.test`, password } }, { token })).createUser.id,
    };

    for (const [action, targetId] of Object.entries(targets)) {
      const { auditEvents } = await ok(AuditEvents, { action, targetId }, { token });
      expect(auditEvents.edges.map(({ node }) => node)).toMatchObject([{ action, targetId, actorId: seed.admin.user.id }]);
      const rows = await db.auditEvent.findMany({ where: { targetId } });
      expect(rows).toMatchObject([{ tenantId: seed.tenant.id, action, actorKind: 'USER', actorId: seed.admin.user.id }]);
    }
    const everything = JSON.stringify(await db.auditEvent.findMany({ where: { tenantId: seed.tenant.id } }));
    expect(everything).not.toContain(password);
  });

  it('a tenant admin reads only their own tenant’s events', async () => {
    const [a, b] = await Promise.all([seedTenant(), seedTenant()]);

    const own = await ok(AuditEvents, {}, { token: a.admin.token });
    const other = await execute(AuditEvents, { tenantId: b.tenant.id }, { token: a.admin.token });

    const ownTargets = own.auditEvents.edges.map(({ node }) => node.targetId);
    expect(ownTargets).toEqual(expect.arrayContaining([a.organization.id, a.workspace.id, a.project.id]));
    expect(ownTargets).not.toContain(b.workspace.id);
    expect(errorOf(other).code).toBe('NOT_FOUND');
    expect(other.data ?? null).toBeNull();
  });

  it('a platform admin reads another tenant’s events with tenantId', async () => {
    const seed = await seedTenant();
    const { auditEvents } = await ok(AuditEvents, { tenantId: seed.tenant.id, action: 'workspace.created' }, { token: seed.platform.token });
    expect(auditEvents.edges.map(({ node }) => node.targetId)).toEqual([seed.workspace.id]);
  });
});
