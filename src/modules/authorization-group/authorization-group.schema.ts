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

export const OperationPolicy = builder.enumType('OperationPolicy', {
  description: 'Which GraphQL operations the keys of a TENANT_API_KEY group may run.',
  values: {
    ANY: { description: 'Any operation (the default).' },
    AUDIT: { description: 'Any operation; those outside the group’s trusted documents are recorded as audit events (`operation.untrusted`, at most one per document per hour).' },
    TRUSTED_ONLY: { description: 'Only the group’s trusted documents; anything else is refused with OPERATION_NOT_TRUSTED (HTTP 403) before it runs.' },
  } as const,
});

const CostBudget = builder.objectRef<{ points: number; windowSeconds: number }>('CostBudget').implement({
  description: 'How many query-cost points each key of a group may spend per window.',
  fields: (t) => ({
    points: t.exposeInt('points', { description: 'Points per window and key (an operation’s cost is in `extensions.cost.requested`).' }),
    windowSeconds: t.exposeInt('windowSeconds', { description: 'The window’s length in seconds; it starts with the key’s first priced operation.' }),
  }),
});

const CostBudgetInput = builder.inputType('CostBudgetInput', {
  description: 'A query-cost budget per key of the group.',
  fields: (t) => ({
    points: t.int({ required: true, description: `Points per window and key, 1–${1_000_000_000}.` }),
    windowSeconds: t.int({ required: true, description: 'The window in seconds, 1–2678400 (31 days).' }),
  }),
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
    operationPolicy: t.expose('operationPolicy', { type: OperationPolicy, description: 'Which operations the group’s keys may run (TENANT_API_KEY groups).' }),
    costBudget: t.field({
      type: CostBudget,
      nullable: true,
      description: 'The query-cost budget of each of the group’s keys; null: none.',
      resolve: (group) =>
        group.costBudgetPoints && group.costBudgetWindowSeconds ? { points: group.costBudgetPoints, windowSeconds: group.costBudgetWindowSeconds } : null,
    }),
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
    authScopes: { can: 'authorization_group:read' },
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
    operationPolicy: t.field({ type: OperationPolicy, description: 'TENANT_API_KEY groups: which operations the keys may run. Default ANY.' }),
    costBudget: t.field({ type: CostBudgetInput, description: 'TENANT_API_KEY groups: a query-cost budget per key. Default none.' }),
  }),
});

const UpdateAuthorizationGroupInput = builder.inputType('UpdateAuthorizationGroupInput', {
  description: 'What a group edit may change; omitted fields stay as they are.',
  fields: (t) => ({
    name: t.string({ description: '2–200 characters, unique within the tenant.' }),
    description: t.string({ description: 'At most 1000 characters.' }),
    permissions: t.stringList({ description: 'Replaces the permissions; the group’s permissions once edited must all be yours to grant.' }),
    operationPolicy: t.field({ type: OperationPolicy, description: 'TENANT_API_KEY groups: which operations the keys may run.' }),
    costBudget: t.field({ type: CostBudgetInput, description: 'TENANT_API_KEY groups: a query-cost budget per key; null removes it.' }),
  }),
});

builder.mutationFields((t) => ({
  createAuthorizationGroup: t.prismaField({
    type: 'AuthorizationGroup',
    description: 'Creates a group. Needs a session with authorization_groups:manage.',
    args: { input: t.arg({ type: CreateAuthorizationGroupInput, required: true, description: 'The new group.' }) },
    authScopes: { can: 'authorization_group:manage' },
    resolve: async (query, _root, { input }, { auth }) => {
      const { id } = await createAuthorizationGroup(auth, { ...input, tenantId: input.tenantId?.toString() });
      return db.authorizationGroup.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
  updateAuthorizationGroup: t.prismaField({
    type: 'AuthorizationGroup',
    description:
      'Edits a group; every key in it does what the group allows from the next request. Needs a session with authorization_groups:manage, holding every permission the group grants once edited (FORBIDDEN names what you lack): you may remove a permission you lack, not rename or loosen a group that keeps one.',
    args: {
      id: t.arg.id({ required: true, description: 'The group to edit.' }),
      input: t.arg({ type: UpdateAuthorizationGroupInput, required: true, description: 'The changes.' }),
    },
    authScopes: { can: 'authorization_group:manage' },
    resolve: async (query, _root, { id, input }, { auth }) => {
      await updateAuthorizationGroup(auth, String(id), input);
      return db.authorizationGroup.findUniqueOrThrow({ ...query, where: { id: String(id) } });
    },
  }),
  deleteAuthorizationGroup: t.id({
    description:
      'Deletes a group; returns the deleted id. Refused while ACTIVE keys or active users use it. Revoked keys and deactivated users keep showing it (it is kept, hidden, with `deletedAt` set). Needs a session with authorization_groups:manage.',
    args: { id: t.arg.id({ required: true, description: 'The group to delete.' }) },
    authScopes: { can: 'authorization_group:manage' },
    resolve: async (_root, { id }, { auth }) => (await deleteAuthorizationGroup(auth, String(id))).id,
  }),
}));
