import { db } from '../../db.js';
import { builder } from '../../schema/builder.js';
import { keysetPageBy, NAME_CURSOR_ROW } from '../../schema/pagination.js';
import { createProject, deleteProject, projectFilter, updateProject } from './project.service.js';

export const Project = builder.prismaObject('Project', {
  description: 'Where integrations work: workflows run and data is delivered in a project.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The project’s id.' }),
    name: t.exposeString('name', { description: 'Display name, 2–200 characters.' }),
    slug: t.exposeString('slug', { description: 'URL-safe name, unique within the workspace.' }),
    workspace: t.relation('workspace', { description: 'The workspace the project belongs to.' }),
    organization: t.relation('organization', { description: 'The organization the project belongs to.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the project was created.' }),
  }),
});

type ProjectArgs = { tenantId?: string | number | null; workspaceId?: string | number | null };
const projectsWhere = (auth: Parameters<typeof projectFilter>[0], args: ProjectArgs, contextWorkspaceId: string | null) =>
  projectFilter(auth, { tenantId: args.tenantId?.toString(), workspaceId: args.workspaceId?.toString() }, contextWorkspaceId);

builder.queryField('projects', (t) =>
  t.prismaConnection(
    {
      type: 'Project',
      cursor: 'id',
      description: 'Projects the caller may reach, by name; X-Workspace-Id narrows to that workspace.',
      args: {
        tenantId: t.arg.id({ description: 'Platform administrators: the tenant to list.' }),
        workspaceId: t.arg.id({ description: 'Only the projects of this workspace.' }),
      },
      authScopes: { permission: 'projects:read' },
      resolve: async (query, _root, args, { auth, workspaceId }) => {
        const where = await projectsWhere(auth, args, workspaceId);
        const page = await keysetPageBy(query, where, (id) => db.project.findFirst({ where: { AND: [{ id }, where] }, select: NAME_CURSOR_ROW }), {
          field: 'name',
          direction: 'asc',
        });
        return db.project.findMany({ ...page, orderBy: [{ name: 'asc' }, { id: 'asc' }] });
      },
      totalCount: async (_connection, args, { auth, workspaceId }) => db.project.count({ where: await projectsWhere(auth, args, workspaceId) }),
    },
    { name: 'ProjectConnection', description: 'A page of projects.' },
    { name: 'ProjectEdge', description: 'A project in a page.' },
  ),
);

const CreateProjectInput = builder.inputType('CreateProjectInput', {
  description: 'A new project.',
  fields: (t) => ({
    workspaceId: t.id({ description: 'Defaults to the X-Workspace-Id header.' }),
    name: t.string({ required: true, description: '2–200 characters, trimmed.' }),
    slug: t.string({ description: 'Derived from the name when omitted.' }),
  }),
});

const UpdateProjectInput = builder.inputType('UpdateProjectInput', {
  description: 'What a project edit may change; omitted fields stay as they are.',
  fields: (t) => ({
    name: t.string({ description: '2–200 characters, trimmed.' }),
    slug: t.string({ description: 'URL-safe name, unique within the workspace.' }),
  }),
});

builder.mutationFields((t) => ({
  createProject: t.prismaField({
    type: 'Project',
    description: 'Creates a project in a workspace. Needs projects:manage.',
    args: { input: t.arg({ type: CreateProjectInput, required: true, description: 'The new project.' }) },
    authScopes: { permission: 'projects:manage' },
    resolve: async (query, _root, { input }, { auth, workspaceId }) => {
      const { id } = await createProject(auth, { ...input, workspaceId: input.workspaceId?.toString() }, workspaceId);
      return db.project.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
  updateProject: t.prismaField({
    type: 'Project',
    description: 'Renames a project. Needs projects:manage and access to the project.',
    args: {
      id: t.arg.id({ required: true, description: 'The project to change.' }),
      input: t.arg({ type: UpdateProjectInput, required: true, description: 'The changes.' }),
    },
    authScopes: { permission: 'projects:manage' },
    resolve: async (query, _root, { id, input }, { auth, workspaceId }) => {
      await updateProject(auth, String(id), input, workspaceId);
      return db.project.findUniqueOrThrow({ ...query, where: { id: String(id) } });
    },
  }),
  deleteProject: t.id({
    description:
      'Deletes a project with its workflows, runs and deliveries; returns the deleted id. Keys that selected it lose it; a key left with no selected project reaches none (it never falls back to ALL). Needs projects:manage and access to the project.',
    args: { id: t.arg.id({ required: true, description: 'The project to delete.' }) },
    authScopes: { permission: 'projects:manage' },
    resolve: async (_root, { id }, { auth, workspaceId }) => (await deleteProject(auth, String(id), workspaceId)).id,
  }),
}));
