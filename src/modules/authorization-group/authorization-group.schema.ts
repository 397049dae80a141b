import { allPermissions, describePermission, toPermissions } from '../../auth/permissions.js';
import { db } from '../../db.js';
import { builder } from '../../schema/builder.js';
import {
  createAuthorizationGroup,
  deleteAuthorizationGroup,
  groupFilter,
  updateAuthorizationGroup,
} from './authorization-group.service.js';

export const AuthorizationGroupType = builder.enumType('AuthorizationGroupType', {
  description: 'Who a group is given to.',
  values: {
    USER: { description: 'Given to users: refines what a MEMBER may do.' },
    TENANT_API_KEY: { description: 'Given to API keys of the tenant.' },
  } as const,
});

builder.prismaObject('AuthorizationGroup', {
  description: 'A named set of permissions from the catalogue, given to users (USER) or API keys (TENANT_API_KEY).',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The group’s id.' }),
    name: t.exposeString('name', { description: 'Display name, unique within the tenant.' }),
    description: t.exposeString('description', { description: 'Free text, at most 1000 characters.' }),
    type: t.expose('type', { type: AuthorizationGroupType, description: 'USER or TENANT_API_KEY.' }),
    permissions: t.stringList({
      description: 'The permissions the group grants (see `permissions` for what each means).',
      resolve: (group) => toPermissions(group.permissions),
    }),
    tenant: t.relation('tenant', { description: 'The tenant the group belongs to.' }),
    deletedAt: t.expose('deletedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the group was deleted; it is still shown by the revoked keys and deactivated users that had it. Null otherwise.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the group was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the group was last changed.' }),
  }),
});

const PermissionInfo = builder.objectRef<{ name: string; description: string }>('PermissionInfo').implement({
  description: 'One permission of the catalogue and what it allows.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The permission, `resource:verb`, as groups list it.' }),
    description: t.exposeString('description', { description: 'What the permission allows.' }),
  }),
});

builder.queryFields((t) => ({
  authorizationGroups: t.prismaField({
    type: ['AuthorizationGroup'],
    description: 'The groups the caller can see (deleted groups are not listed), by name.',
    args: {
      tenantId: t.arg.id({ description: 'Platform administrators: the tenant to list.' }),
      type: t.arg({ type: AuthorizationGroupType, description: 'Only groups of this type.' }),
    },
    authScopes: { authenticated: true },
    resolve: (query, _root, args, { auth }) =>
      db.authorizationGroup.findMany({
        ...query,
        where: groupFilter(auth, { tenantId: args.tenantId?.toString(), type: args.type }),
        orderBy: { name: 'asc' },
      }),
  }),
  permissionCatalogue: t.stringList({
    description: 'Every permission a group may grant. Public: it is the same for everyone. See `permissions` for descriptions.',
    skipTypeScopes: true,
    resolve: () => allPermissions(),
  }),
  permissions: t.field({
    type: [PermissionInfo],
    description: 'Every permission a group may grant, with what it allows. Public: it is the same for everyone.',
    skipTypeScopes: true,
    resolve: () => allPermissions().map((name) => ({ name, description: describePermission(name) })),
  }),
}));

const CreateAuthorizationGroupInput = builder.inputType('CreateAuthorizationGroupInput', {
  description: 'A new authorization group.',
  fields: (t) => ({
    tenantId: t.id({ description: "Platform administrators: the group's tenant. Default: the caller's." }),
    name: t.string({ required: true, description: '2–200 characters, unique within the tenant.' }),
    description: t.string({ description: 'At most 1000 characters.' }),
    type: t.field({ type: AuthorizationGroupType, required: true, description: 'USER or TENANT_API_KEY; fixed once created.' }),
    permissions: t.stringList({ required: true, description: 'Permissions from the catalogue, each one you hold yourself.' }),
  }),
});

const UpdateAuthorizationGroupInput = builder.inputType('UpdateAuthorizationGroupInput', {
  description: 'What a group edit may change; omitted fields stay as they are.',
  fields: (t) => ({
    name: t.string({ description: '2–200 characters, unique within the tenant.' }),
    description: t.string({ description: 'At most 1000 characters.' }),
    permissions: t.stringList({ description: 'Replaces the permissions; what it adds must be yours to grant.' }),
  }),
});

builder.mutationFields((t) => ({
  createAuthorizationGroup: t.prismaField({
    type: 'AuthorizationGroup',
    description: 'Creates a group. Needs a session with authorization_groups:manage.',
    args: { input: t.arg({ type: CreateAuthorizationGroupInput, required: true, description: 'The new group.' }) },
    authScopes: { session: true },
    resolve: async (query, _root, { input }, { auth }) => {
      const { id } = await createAuthorizationGroup(auth, { ...input, tenantId: input.tenantId?.toString() });
      return db.authorizationGroup.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
  updateAuthorizationGroup: t.prismaField({
    type: 'AuthorizationGroup',
    description: 'Edits a group; every key in it does what the group allows from the next request. Needs a session with authorization_groups:manage.',
    args: {
      id: t.arg.id({ required: true, description: 'The group to edit.' }),
      input: t.arg({ type: UpdateAuthorizationGroupInput, required: true, description: 'The changes.' }),
    },
    authScopes: { session: true },
    resolve: async (query, _root, { id, input }, { auth }) => {
      await updateAuthorizationGroup(auth, String(id), input);
      return db.authorizationGroup.findUniqueOrThrow({ ...query, where: { id: String(id) } });
    },
  }),
  deleteAuthorizationGroup: t.id({
    description:
      'Deletes a group; returns the deleted id. Refused while ACTIVE keys or active users use it. Revoked keys and deactivated users keep showing it (it is kept, hidden, with `deletedAt` set). Needs a session with authorization_groups:manage.',
    args: { id: t.arg.id({ required: true, description: 'The group to delete.' }) },
    authScopes: { session: true },
    resolve: async (_root, { id }, { auth }) => (await deleteAuthorizationGroup(auth, String(id))).id,
  }),
}));
