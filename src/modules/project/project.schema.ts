import { db } from '../../db.js';
import { builder } from '../../schema/builder.js';
import { createProject, projectFilter } from './project.service.js';

export const Project = builder.prismaObject('Project', {
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    slug: t.exposeString('slug'),
    workspace: t.relation('workspace'),
    organization: t.relation('organization'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryField('projects', (t) =>
  t.prismaField({
    type: ['Project'],
    description: 'Projects the caller may reach; X-Workspace-Id narrows to that workspace.',
    args: { tenantId: t.arg.id(), workspaceId: t.arg.id() },
    authScopes: { permission: 'projects:read' },
    resolve: async (query, _root, args, { auth, workspaceId }) =>
      db.project.findMany({
        ...query,
        where: await projectFilter(
          auth,
          { tenantId: args.tenantId?.toString(), workspaceId: args.workspaceId?.toString() },
          workspaceId,
        ),
        orderBy: { name: 'asc' },
      }),
  }),
);

const CreateProjectInput = builder.inputType('CreateProjectInput', {
  fields: (t) => ({
    workspaceId: t.id({ description: 'Defaults to the X-Workspace-Id header.' }),
    name: t.string({ required: true }),
    slug: t.string({ description: 'Derived from the name when omitted.' }),
  }),
});

builder.mutationField('createProject', (t) =>
  t.prismaField({
    type: 'Project',
    args: { input: t.arg({ type: CreateProjectInput, required: true }) },
    authScopes: { permission: 'projects:manage' },
    resolve: async (query, _root, { input }, { auth, workspaceId }) => {
      const { id } = await createProject(auth, { ...input, workspaceId: input.workspaceId?.toString() }, workspaceId);
      return db.project.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
);
