import { db } from '../../db.js';
import { builder } from '../../schema/builder.js';
import { keysetPageBy, NAME_CURSOR_ROW } from '../../schema/pagination.js';
import { createOrganization, deleteOrganization, organizationFilter, updateOrganization } from './organization.service.js';

export const Organization = builder.prismaObject('Organization', {
  description: 'The first level inside a tenant; it holds workspaces, and API keys may be bound to one.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The organization’s id.' }),
    name: t.exposeString('name', { description: 'Display name, 2–200 characters.' }),
    slug: t.exposeString('slug', { description: 'URL-safe name, unique within the tenant.' }),
    tenant: t.relation('tenant', { description: 'The tenant the organization belongs to.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the organization was created.' }),
  }),
});

const organizationsWhere = (auth: Parameters<typeof organizationFilter>[0], tenantId: string | number | null | undefined) =>
  organizationFilter(auth, tenantId?.toString());

builder.queryField('organizations', (t) =>
  t.prismaConnection(
    {
      type: 'Organization',
      cursor: 'id',
      description: 'The organizations the caller can see, by name. An organization-bound key sees its own only.',
      args: { tenantId: t.arg.id({ description: 'Platform administrators: the tenant to list.' }) },
      authScopes: { authenticated: true },
      resolve: async (query, _root, { tenantId }, { auth }) => {
        const where = organizationsWhere(auth, tenantId);
        const page = await keysetPageBy(query, where, (id) => db.organization.findFirst({ where: { AND: [{ id }, where] }, select: NAME_CURSOR_ROW }), {
          field: 'name',
          direction: 'asc',
        });
        return db.organization.findMany({ ...page, orderBy: [{ name: 'asc' }, { id: 'asc' }] });
      },
      totalCount: (_connection, { tenantId }, { auth }) => db.organization.count({ where: organizationsWhere(auth, tenantId) }),
    },
    { name: 'OrganizationConnection', description: 'A page of organizations.' },
    { name: 'OrganizationEdge', description: 'An organization in a page.' },
  ),
);

const CreateOrganizationInput = builder.inputType('CreateOrganizationInput', {
  description: 'A new organization.',
  fields: (t) => ({
    tenantId: t.id({ description: "Defaults to the caller's tenant." }),
    name: t.string({ required: true, description: '2–200 characters, trimmed.' }),
    slug: t.string({ description: 'Derived from the name when omitted.' }),
  }),
});

const UpdateOrganizationInput = builder.inputType('UpdateOrganizationInput', {
  description: 'What an organization edit may change; omitted fields stay as they are.',
  fields: (t) => ({
    name: t.string({ description: '2–200 characters, trimmed.' }),
    slug: t.string({ description: 'URL-safe name, unique within the tenant.' }),
  }),
});

builder.mutationFields((t) => ({
  createOrganization: t.prismaField({
    type: 'Organization',
    description: 'Creates an organization. Tenant administrators only.',
    args: { input: t.arg({ type: CreateOrganizationInput, required: true, description: 'The new organization.' }) },
    authScopes: { can: 'organization:manage' },
    resolve: async (query, _root, { input }, { auth }) => {
      const { id } = await createOrganization(auth, { ...input, tenantId: input.tenantId?.toString() });
      return db.organization.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
  updateOrganization: t.prismaField({
    type: 'Organization',
    description: 'Renames an organization. Tenant administrators only.',
    args: {
      id: t.arg.id({ required: true, description: 'The organization to change.' }),
      input: t.arg({ type: UpdateOrganizationInput, required: true, description: 'The changes.' }),
    },
    authScopes: { can: 'organization:manage' },
    resolve: async (query, _root, { id, input }, { auth }) => {
      await updateOrganization(auth, String(id), input);
      return db.organization.findUniqueOrThrow({ ...query, where: { id: String(id) } });
    },
  }),
  deleteOrganization: t.id({
    description:
      'Deletes an organization with its workspaces, projects, workflows, runs and deliveries; returns the deleted id. Refused (BAD_USER_INPUT) while ACTIVE API keys are bound to it: revoke them first. Revoked keys bound to it stay listed, unbound. Keys that selected its projects lose them and never fall back to ALL. Tenant administrators only.',
    args: { id: t.arg.id({ required: true, description: 'The organization to delete.' }) },
    authScopes: { can: 'organization:manage' },
    resolve: async (_root, { id }, { auth }) => (await deleteOrganization(auth, String(id))).id,
  }),
}));
