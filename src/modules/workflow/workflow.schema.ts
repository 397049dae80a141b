import { db } from '../../db.js';
import { builder } from '../../schema/builder.js';
import { createWorkflow, deliverData, triggerWorkflow, workflowScope } from './workflow.service.js';

const WorkflowRunStatus = builder.enumType('WorkflowRunStatus', { values: ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED'] as const });
const ActorKind = builder.enumType('ActorKind', { values: ['USER', 'API_KEY', 'SYSTEM'] as const });

builder.prismaObject('Workflow', {
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    project: t.relation('project'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.prismaObject('WorkflowRun', {
  fields: (t) => ({
    id: t.exposeID('id'),
    project: t.relation('project'),
    workflow: t.relation('workflow'),
    input: t.expose('input', { type: 'JSON' }),
    status: t.expose('status', { type: WorkflowRunStatus }),
    triggeredByKind: t.expose('triggeredByKind', { type: ActorKind }),
    triggeredByKeyId: t.exposeID('triggeredByKeyId', { nullable: true }),
    triggeredByUserId: t.exposeID('triggeredByUserId', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.prismaObject('DataDelivery', {
  fields: (t) => ({
    id: t.exposeID('id'),
    project: t.relation('project'),
    source: t.exposeString('source'),
    deliveredByKind: t.expose('deliveredByKind', { type: ActorKind }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  workflows: t.prismaField({
    type: ['Workflow'],
    args: { tenantId: t.arg.id(), projectId: t.arg.id() },
    authScopes: { authenticated: true },
    resolve: async (query, _root, args, { auth, workspaceId }) =>
      db.workflow.findMany({
        ...query,
        where: await workflowScope(auth, { tenantId: args.tenantId?.toString(), projectId: args.projectId?.toString() }, workspaceId),
        orderBy: { name: 'asc' },
      }),
  }),
  workflowRuns: t.prismaConnection(
    {
      type: 'WorkflowRun',
      cursor: 'id',
      description: 'Newest first.',
      args: { tenantId: t.arg.id(), projectId: t.arg.id() },
      authScopes: { authenticated: true },
      resolve: async (query, _root, args, { auth, workspaceId }) =>
        db.workflowRun.findMany({
          ...query,
          where: await workflowScope(auth, { tenantId: args.tenantId?.toString(), projectId: args.projectId?.toString() }, workspaceId),
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        }),
    },
    { name: 'WorkflowRunConnection' },
    { name: 'WorkflowRunEdge' },
  ),
}));

const CreateWorkflowInput = builder.inputType('CreateWorkflowInput', {
  fields: (t) => ({ projectId: t.id({ required: true }), name: t.string({ required: true }) }),
});
const TriggerWorkflowInput = builder.inputType('TriggerWorkflowInput', {
  fields: (t) => ({
    projectId: t.id({ required: true }),
    workflowId: t.id({ required: true }),
    input: t.field({ type: 'JSON', description: 'Any JSON value, up to the payload size limit.' }),
  }),
});
const DeliverDataInput = builder.inputType('DeliverDataInput', {
  fields: (t) => ({
    projectId: t.id({ required: true }),
    source: t.string({ required: true }),
    payload: t.field({ type: 'JSON', required: true }),
  }),
});

builder.mutationFields((t) => ({
  createWorkflow: t.prismaField({
    type: 'Workflow',
    args: { input: t.arg({ type: CreateWorkflowInput, required: true }) },
    authScopes: { session: true },
    resolve: async (query, _root, { input }, { auth, workspaceId }) => {
      const { id } = await createWorkflow(auth, { projectId: String(input.projectId), name: input.name }, workspaceId);
      return db.workflow.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
  triggerWorkflow: t.prismaField({
    type: 'WorkflowRun',
    args: { input: t.arg({ type: TriggerWorkflowInput, required: true }) },
    authScopes: { permission: 'workflows:trigger' },
    resolve: async (_query, _root, { input }, { auth, workspaceId }) => {
      // The stored row itself, not a re-read: relations a client selects are loaded by
      // Pothos's fallback queries, and the write path stays one batched INSERT (group-commit.ts).
      return triggerWorkflow(
        auth,
        { projectId: String(input.projectId), workflowId: String(input.workflowId), input: input.input },
        workspaceId,
      );
    },
  }),
  deliverData: t.prismaField({
    type: 'DataDelivery',
    args: { input: t.arg({ type: DeliverDataInput, required: true }) },
    authScopes: { permission: 'data:deliver' },
    resolve: async (_query, _root, { input }, { auth, workspaceId }) => {
      return deliverData(auth, { projectId: String(input.projectId), source: input.source, payload: input.payload }, workspaceId);
    },
  }),
}));
