import { db } from '../../db.js';
import { builder } from '../../schema/builder.js';
import { createOrganization, organizationFilter } from './organization.service.js';

export const Organization = builder.prismaObject('Organization', {
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    slug: t.exposeString('slug'),
    tenant: t.relation('tenant'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryField('organizations', (t) =>
  t.prismaField({
    type: ['Organization'],
    args: { tenantId: t.arg.id({ description: 'Platform administrators: the tenant to list.' }) },
    authScopes: { authenticated: true },
    resolve: (query, _root, { tenantId }, { auth }) =>
      db.organization.findMany({ ...query, where: organizationFilter(auth, tenantId?.toString()), orderBy: { name: 'asc' } }),
  }),
);

const CreateOrganizationInput = builder.inputType('CreateOrganizationInput', {
  fields: (t) => ({
    tenantId: t.id({ description: "Defaults to the caller's tenant." }),
    name: t.string({ required: true }),
    slug: t.string({ description: 'Derived from the name when omitted.' }),
  }),
});

builder.mutationField('createOrganization', (t) =>
  t.prismaField({
    type: 'Organization',
    args: { input: t.arg({ type: CreateOrganizationInput, required: true }) },
    authScopes: { session: true },
    resolve: async (query, _root, { input }, { auth }) => {
      const { id } = await createOrganization(auth, { ...input, tenantId: input.tenantId?.toString() });
      return db.organization.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
);
