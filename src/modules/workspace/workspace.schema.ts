import { db } from '../../db.js';
import { builder } from '../../schema/builder.js';
import { createWorkspace, deleteWorkspace, updateWorkspace, workspaceFilter } from './workspace.service.js';

builder.prismaObject('Workspace', {
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    slug: t.exposeString('slug'),
    organization: t.relation('organization'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

builder.queryField('workspaces', (t) =>
  t.prismaField({
    type: ['Workspace'],
    args: { tenantId: t.arg.id(), organizationId: t.arg.id() },
    authScopes: { permission: 'workspaces:read' },
    resolve: (query, _root, args, { auth }) =>
      db.workspace.findMany({
        ...query,
        where: workspaceFilter(auth, { tenantId: args.tenantId?.toString(), organizationId: args.organizationId?.toString() }),
        orderBy: { name: 'asc' },
      }),
  }),
);

const CreateWorkspaceInput = builder.inputType('CreateWorkspaceInput', {
  fields: (t) => ({
    organizationId: t.id({ required: true }),
    name: t.string({ required: true }),
    slug: t.string({ description: 'Derived from the name when omitted.' }),
  }),
});

const UpdateWorkspaceInput = builder.inputType('UpdateWorkspaceInput', {
  fields: (t) => ({ name: t.string(), slug: t.string() }),
});

builder.mutationFields((t) => ({
  createWorkspace: t.prismaField({
    type: 'Workspace',
    args: { input: t.arg({ type: CreateWorkspaceInput, required: true }) },
    authScopes: { permission: 'workspaces:manage' },
    resolve: async (query, _root, { input }, { auth }) => {
      const { id } = await createWorkspace(auth, { ...input, organizationId: String(input.organizationId) });
      return db.workspace.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
  updateWorkspace: t.prismaField({
    type: 'Workspace',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateWorkspaceInput, required: true }) },
    authScopes: { permission: 'workspaces:manage' },
    resolve: async (query, _root, { id, input }, { auth }) => {
      await updateWorkspace(auth, String(id), input);
      return db.workspace.findUniqueOrThrow({ ...query, where: { id: String(id) } });
    },
  }),
  deleteWorkspace: t.id({
    description: 'Deletes the workspace and its projects; returns the deleted id.',
    args: { id: t.arg.id({ required: true }) },
    authScopes: { permission: 'workspaces:manage' },
    resolve: async (_root, { id }, { auth }) => (await deleteWorkspace(auth, String(id))).id,
  }),
}));
