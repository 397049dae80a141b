import { describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { graphql } from '../../gql/index.js';
import { errorOf, execute, ok } from '../../helpers/app.js';
import { seedTenant, signedIn } from '../../helpers/seed.js';

const CreateGroup = graphql(`
  mutation GroupsCreate($input: CreateAuthorizationGroupInput!) {
    createAuthorizationGroup(input: $input) {
      id
      name
      description
      type
      permissions
      tenant {
        id
      }
    }
  }
`);

const UpdateGroup = graphql(`
  mutation GroupsUpdate($id: ID!, $input: UpdateAuthorizationGroupInput!) {
    updateAuthorizationGroup(id: $id, input: $input) {
      id
      name
      permissions
    }
  }
`);

const DeleteGroup = graphql(`
  mutation GroupsDelete($id: ID!) {
    deleteAuthorizationGroup(id: $id)
  }
`);

const ListGroups = graphql(`
  query GroupsList($type: AuthorizationGroupType) {
    authorizationGroups(type: $type) {
      id
      type
    }
  }
`);

describe('authorization groups', () => {
  it('createAuthorizationGroup stores the group in the caller’s tenant with its permissions, de-duplicated', async () => {
    const seed = await seedTenant();

    const { createAuthorizationGroup: group } = await ok(
      CreateGroup,
      {
        input: {
          name: '  Deployers  ',
          description: 'Trigger and read',
          type: 'TENANT_API_KEY',
          permissions: ['workflows:trigger', 'projects:read', 'workflows:trigger'],
        },
      },
      { token: seed.admin.token },
    );

    expect(group).toMatchObject({
      name: 'Deployers',
      description: 'Trigger and read',
      type: 'TENANT_API_KEY',
      tenant: { id: seed.tenant.id },
    });
    expect([...group.permissions].sort()).toEqual(['projects:read', 'workflows:trigger']);
    const row = await db.authorizationGroup.findUniqueOrThrow({ where: { id: group.id } });
    expect(row).toMatchObject({ tenantId: seed.tenant.id, name: 'Deployers', type: 'TENANT_API_KEY' });
    expect(await db.auditEvent.count({ where: { targetId: group.id, action: 'authorization_group.created' } })).toBe(1);
  });

  it('updateAuthorizationGroup replaces the permissions', async () => {
    const seed = await seedTenant();

    const { updateAuthorizationGroup } = await ok(
      UpdateGroup,
      { id: seed.keyGroup.id, input: { permissions: ['data:deliver'] } },
      { token: seed.admin.token },
    );

    expect(updateAuthorizationGroup.permissions).toEqual(['data:deliver']);
    const row = await db.authorizationGroup.findUniqueOrThrow({ where: { id: seed.keyGroup.id } });
    expect(row.permissions).toEqual(['data:deliver']);
    expect(await db.auditEvent.count({ where: { targetId: seed.keyGroup.id, action: 'authorization_group.updated' } })).toBe(1);
  });

  it('authorizationGroups filters by type', async () => {
    const seed = await seedTenant();
    const { createAuthorizationGroup: userGroup } = await ok(
      CreateGroup,
      { input: { name: 'People', type: 'USER', permissions: [] } },
      { token: seed.admin.token },
    );

    const users = await ok(ListGroups, { type: 'USER' }, { token: seed.member.token });
    const keys = await ok(ListGroups, { type: 'TENANT_API_KEY' }, { token: seed.member.token });

    expect(users.authorizationGroups).toEqual([{ id: userGroup.id, type: 'USER' }]);
    expect(keys.authorizationGroups).toEqual([{ id: seed.keyGroup.id, type: 'TENANT_API_KEY' }]);
  });

  it('deleting a group still used by an API key is refused on field id, and the group stays', async () => {
    const seed = await seedTenant();
    await seed.createKey();
    const auditBefore = await db.auditEvent.count({ where: { tenantId: seed.tenant.id } });

    const result = await execute(DeleteGroup, { id: seed.keyGroup.id }, { token: seed.admin.token });

    expect(errorOf(result)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    expect(await db.authorizationGroup.findUnique({ where: { id: seed.keyGroup.id } })).toMatchObject({ id: seed.keyGroup.id });
    expect(await db.auditEvent.count({ where: { tenantId: seed.tenant.id } })).toBe(auditBefore);
  });

  it('deleting a group still used by a user is refused on field id, and the group stays', async () => {
    const seed = await seedTenant();
    const { createAuthorizationGroup: group } = await ok(
      CreateGroup,
      { input: { name: 'Editors', type: 'USER', permissions: ['projects:manage'] } },
      { token: seed.admin.token },
    );
    await signedIn(seed.tenant.id, 'MEMBER', group.id);

    const result = await execute(DeleteGroup, { id: group.id }, { token: seed.admin.token });

    expect(errorOf(result)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    expect(await db.authorizationGroup.count({ where: { id: group.id } })).toBe(1);
  });

  it('deleting an unused group removes it, returns its id and records who did it', async () => {
    const seed = await seedTenant();

    const { deleteAuthorizationGroup } = await ok(DeleteGroup, { id: seed.keyGroup.id }, { token: seed.admin.token });

    expect(deleteAuthorizationGroup).toBe(seed.keyGroup.id);
    expect(await db.authorizationGroup.count({ where: { id: seed.keyGroup.id } })).toBe(0);
    const audit = await db.auditEvent.findFirstOrThrow({ where: { targetId: seed.keyGroup.id, action: 'authorization_group.deleted' } });
    expect(audit).toMatchObject({ tenantId: seed.tenant.id, actorKind: 'USER', actorId: seed.admin.user.id });
  });

  it('deleting a group that does not exist → NOT_FOUND', async () => {
    const seed = await seedTenant();
    const result = await execute(DeleteGroup, { id: 'no-such-group' }, { token: seed.admin.token });
    expect(errorOf(result).code).toBe('NOT_FOUND');
  });
});
