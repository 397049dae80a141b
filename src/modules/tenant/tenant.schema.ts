import { db } from '../../db.js';
import { builder } from '../../schema/builder.js';
import { createTenant, findReachableTenant, tenantFilter, updateTenant } from './tenant.service.js';

export const Tenant = builder.prismaObject('Tenant', {
  fields: (t) => ({
    id: t.exposeID('id'),
    slug: t.exposeString('slug'),
    name: t.exposeString('name'),
    apiKeyLimit: t.exposeInt('apiKeyLimit', { description: 'Maximum number of ACTIVE API keys.' }),
    isSystem: t.exposeBoolean('isSystem', { description: 'The built-in tenant of the platform administrators.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
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
    args: { id: t.arg.id({ required: true }) },
    authScopes: { authenticated: true },
    resolve: async (query, _root, { id }, { auth }) => {
      await findReachableTenant(auth, String(id));
      return db.tenant.findUniqueOrThrow({ ...query, where: { id: String(id) } });
    },
  }),
}));

const CreateTenantInput = builder.inputType('CreateTenantInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    slug: t.string({ description: 'Derived from the name when omitted.' }),
    apiKeyLimit: t.int({ description: 'Maximum ACTIVE API keys. Default 10.' }),
  }),
});

const UpdateTenantInput = builder.inputType('UpdateTenantInput', {
  fields: (t) => ({ name: t.string(), apiKeyLimit: t.int() }),
});

builder.mutationFields((t) => ({
  createTenant: t.prismaField({
    type: 'Tenant',
    args: { input: t.arg({ type: CreateTenantInput, required: true }) },
    authScopes: { platformAdmin: true },
    resolve: async (query, _root, { input }, { auth }) => {
      const { id } = await createTenant(auth, input);
      return db.tenant.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
  updateTenant: t.prismaField({
    type: 'Tenant',
    description: "Platform administrators rename a tenant or change its API-key limit.",
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateTenantInput, required: true }) },
    authScopes: { platformAdmin: true },
    resolve: async (query, _root, { id, input }, { auth }) => {
      await updateTenant(auth, String(id), input);
      return db.tenant.findUniqueOrThrow({ ...query, where: { id: String(id) } });
    },
  }),
}));
