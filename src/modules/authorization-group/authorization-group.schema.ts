import { PERMISSIONS, toPermissions } from '../../auth/permissions.js';
import { db } from '../../db.js';
import { builder } from '../../schema/builder.js';
import {
  createAuthorizationGroup,
  deleteAuthorizationGroup,
  groupFilter,
  updateAuthorizationGroup,
} from './authorization-group.service.js';

export const AuthorizationGroupType = builder.enumType('AuthorizationGroupType', {
  values: ['USER', 'TENANT_API_KEY'] as const,
});

builder.prismaObject('AuthorizationGroup', {
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    type: t.expose('type', { type: AuthorizationGroupType }),
    permissions: t.stringList({ resolve: (group) => toPermissions(group.permissions) }),
    tenant: t.relation('tenant'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  authorizationGroups: t.prismaField({
    type: ['AuthorizationGroup'],
    args: { tenantId: t.arg.id(), type: t.arg({ type: AuthorizationGroupType }) },
    authScopes: { authenticated: true },
    resolve: (query, _root, args, { auth }) =>
      db.authorizationGroup.findMany({
        ...query,
        where: groupFilter(auth, { tenantId: args.tenantId?.toString(), type: args.type }),
        orderBy: { name: 'asc' },
      }),
  }),
  permissionCatalogue: t.stringList({
    description: 'Every permission a group may grant. Public: it is the same for everyone.',
    skipTypeScopes: true,
    resolve: () => [...PERMISSIONS],
  }),
}));

const CreateAuthorizationGroupInput = builder.inputType('CreateAuthorizationGroupInput', {
  fields: (t) => ({
    tenantId: t.id(),
    name: t.string({ required: true }),
    description: t.string(),
    type: t.field({ type: AuthorizationGroupType, required: true }),
    permissions: t.stringList({ required: true }),
  }),
});

const UpdateAuthorizationGroupInput = builder.inputType('UpdateAuthorizationGroupInput', {
  fields: (t) => ({ name: t.string(), description: t.string(), permissions: t.stringList() }),
});

builder.mutationFields((t) => ({
  createAuthorizationGroup: t.prismaField({
    type: 'AuthorizationGroup',
    args: { input: t.arg({ type: CreateAuthorizationGroupInput, required: true }) },
    authScopes: { session: true },
    resolve: async (query, _root, { input }, { auth }) => {
      const { id } = await createAuthorizationGroup(auth, { ...input, tenantId: input.tenantId?.toString() });
      return db.authorizationGroup.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
  updateAuthorizationGroup: t.prismaField({
    type: 'AuthorizationGroup',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateAuthorizationGroupInput, required: true }) },
    authScopes: { session: true },
    resolve: async (query, _root, { id, input }, { auth }) => {
      await updateAuthorizationGroup(auth, String(id), input);
      return db.authorizationGroup.findUniqueOrThrow({ ...query, where: { id: String(id) } });
    },
  }),
  deleteAuthorizationGroup: t.id({
    description: 'Deletes a group no key or user uses; returns the deleted id.',
    args: { id: t.arg.id({ required: true }) },
    authScopes: { session: true },
    resolve: async (_root, { id }, { auth }) => (await deleteAuthorizationGroup(auth, String(id))).id,
  }),
}));
