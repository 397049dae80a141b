import { db } from '../../db.js';
import { builder } from '../../schema/builder.js';
import { keysetPageBy, NAME_CURSOR_ROW } from '../../schema/pagination.js';
import { createWorkspace, deleteWorkspace, updateWorkspace, workspaceFilter } from './workspace.service.js';

builder.prismaObject('Workspace', {
  description: 'A group of projects inside an organization; requests may name one in X-Workspace-Id.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The workspace’s id (the value of X-Workspace-Id).' }),
    name: t.exposeString('name', { description: 'Display name, 2–200 characters.' }),
    slug: t.exposeString('slug', { description: 'URL-safe name, unique within the organization.' }),
    organization: t.relation('organization', { description: 'The organization the workspace belongs to.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the workspace was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the workspace was last changed.' }),
  }),
});

type WorkspaceArgs = { tenantId?: string | number | null; organizationId?: string | number | null };
const workspacesWhere = (auth: Parameters<typeof workspaceFilter>[0], args: WorkspaceArgs) =>
  workspaceFilter(auth, { tenantId: args.tenantId?.toString(), organizationId: args.organizationId?.toString() });

builder.queryField('workspaces', (t) =>
  t.prismaConnection(
    {
      type: 'Workspace',
      cursor: 'id',
      description: 'The workspaces the caller can see, by name.',
      args: {
        tenantId: t.arg.id({ description: 'Platform administrators: the tenant to list.' }),
        organizationId: t.arg.id({ description: 'Only the workspaces of this organization.' }),
      },
      authScopes: { permission: 'workspaces:read' },
      resolve: async (query, _root, args, { auth }) => {
        const where = workspacesWhere(auth, args);
        const page = await keysetPageBy(query, where, (id) => db.workspace.findFirst({ where: { AND: [{ id }, where] }, select: NAME_CURSOR_ROW }), {
          field: 'name',
          direction: 'asc',
        });
        return db.workspace.findMany({ ...page, orderBy: [{ name: 'asc' }, { id: 'asc' }] });
      },
      totalCount: (_connection, args, { auth }) => db.workspace.count({ where: workspacesWhere(auth, args) }),
    },
    { name: 'WorkspaceConnection', description: 'A page of workspaces.' },
    { name: 'WorkspaceEdge', description: 'A workspace in a page.' },
  ),
);

const CreateWorkspaceInput = builder.inputType('CreateWorkspaceInput', {
  description: 'A new workspace.',
  fields: (t) => ({
    organizationId: t.id({ required: true, description: 'The organization the workspace belongs to.' }),
    name: t.string({ required: true, description: '2–200 characters, trimmed.' }),
    slug: t.string({ description: 'Derived from the name when omitted.' }),
  }),
});

const UpdateWorkspaceInput = builder.inputType('UpdateWorkspaceInput', {
  description: 'What a workspace edit may change; omitted fields stay as they are.',
  fields: (t) => ({
    name: t.string({ description: '2–200 characters, trimmed.' }),
    slug: t.string({ description: 'URL-safe name, unique within the organization.' }),
  }),
});

builder.mutationFields((t) => ({
  createWorkspace: t.prismaField({
    type: 'Workspace',
    description: 'Creates a workspace in an organization. Needs workspaces:manage.',
    args: { input: t.arg({ type: CreateWorkspaceInput, required: true, description: 'The new workspace.' }) },
    authScopes: { permission: 'workspaces:manage' },
    resolve: async (query, _root, { input }, { auth }) => {
      const { id } = await createWorkspace(auth, { ...input, organizationId: String(input.organizationId) });
      return db.workspace.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
  updateWorkspace: t.prismaField({
    type: 'Workspace',
    description: 'Renames a workspace. Needs workspaces:manage.',
    args: {
      id: t.arg.id({ required: true, description: 'The workspace to change.' }),
      input: t.arg({ type: UpdateWorkspaceInput, required: true, description: 'The changes.' }),
    },
    authScopes: { permission: 'workspaces:manage' },
    resolve: async (query, _root, { id, input }, { auth, workspaceId }) => {
      await updateWorkspace(auth, String(id), input, workspaceId);
      return db.workspace.findUniqueOrThrow({ ...query, where: { id: String(id) } });
    },
  }),
  deleteWorkspace: t.id({
    description:
      'Deletes the workspace and its projects; returns the deleted id. Keys that selected those projects lose them and never fall back to ALL.',
    args: { id: t.arg.id({ required: true, description: 'The workspace to delete.' }) },
    authScopes: { permission: 'workspaces:manage' },
    resolve: async (_root, { id }, { auth, workspaceId }) => (await deleteWorkspace(auth, String(id), workspaceId)).id,
  }),
}));
