import { db } from '../../db.js';
import { builder } from '../../schema/builder.js';
import { createTenant, findReachableTenant, tenantFilter, updateTenant } from './tenant.service.js';

export const Tenant = builder.prismaObject('Tenant', {
  description: 'The isolation boundary: nothing crosses from one tenant to another.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The tenant’s id.' }),
    slug: t.exposeString('slug', { description: 'URL-safe name, unique; given to signIn as `tenant`.' }),
    name: t.exposeString('name', { description: 'Display name.' }),
    apiKeyLimit: t.exposeInt('apiKeyLimit', { description: 'Maximum number of ACTIVE API keys.' }),
    isSystem: t.exposeBoolean('isSystem', { description: 'The built-in tenant of the platform administrators.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the tenant was created.' }),
  }),
});

builder.queryFields((t) => ({
  tenants: t.prismaField({
    type: ['Tenant'],
    description: "Every tenant for platform administrators (the tenant selector); otherwise the caller's own.",
    authScopes: { authenticated: true },
    resolve: (query, _root, _args, { auth }) =>
      db.tenant.findMany({
        ...query,
        where: tenantFilter(auth),
        orderBy: { name: 'asc' },
      }),
  }),
  tenant: t.prismaField({
    type: 'Tenant',
    description: 'One tenant: your own, or any for platform administrators; others are NOT_FOUND.',
    args: { id: t.arg.id({ required: true, description: 'The tenant’s id.' }) },
    authScopes: { authenticated: true },
    resolve: async (query, _root, { id }, { auth }) => {
      await findReachableTenant(auth, String(id));
      return db.tenant.findUniqueOrThrow({ ...query, where: { id: String(id) } });
    },
  }),
}));

const CreateTenantInput = builder.inputType('CreateTenantInput', {
  description: 'A new tenant.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Display name, 2–200 characters.' }),
    slug: t.string({ description: 'Derived from the name when omitted.' }),
    apiKeyLimit: t.int({ description: 'Maximum ACTIVE API keys. Default 10.' }),
  }),
});

const UpdateTenantInput = builder.inputType('UpdateTenantInput', {
  description: 'What a tenant edit may change; omitted fields stay as they are.',
  fields: (t) => ({
    name: t.string({ description: 'Display name, 2–200 characters.' }),
    apiKeyLimit: t.int({ description: 'Maximum ACTIVE API keys.' }),
  }),
});

builder.mutationFields((t) => ({
  createTenant: t.prismaField({
    type: 'Tenant',
    description: 'Creates a tenant. Platform administrators only.',
    args: { input: t.arg({ type: CreateTenantInput, required: true, description: 'The new tenant.' }) },
    authScopes: { platformAdmin: true },
    resolve: async (query, _root, { input }, { auth }) => {
      const { id } = await createTenant(auth, input);
      return db.tenant.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
  updateTenant: t.prismaField({
    type: 'Tenant',
    description: "Platform administrators rename a tenant or change its API-key limit.",
    args: {
      id: t.arg.id({ required: true, description: 'The tenant to change.' }),
      input: t.arg({ type: UpdateTenantInput, required: true, description: 'The changes.' }),
    },
    authScopes: { platformAdmin: true },
    resolve: async (query, _root, { id, input }, { auth }) => {
      await updateTenant(auth, String(id), input);
      return db.tenant.findUniqueOrThrow({ ...query, where: { id: String(id) } });
    },
  }),
}));
