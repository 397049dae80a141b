import { db } from '../../db.js';
import { builder } from '../../schema/builder.js';
import { ActorKind } from '../../schema/enums.js';
import { CURSOR_ROW, keysetPage } from '../../schema/pagination.js';
import { ApiKey } from '../api-key/api-key.schema.js';
import { User } from '../user/user.schema.js';
import {
  createWorkflow,
  dataDeliveryScope,
  deliverData,
  triggerWorkflow,
  visibleActingUser,
  visibleKey,
  workflowScope,
} from './workflow.service.js';
import { idempotencyKeyOf } from '../webhook/idempotency.js';
import { findReadableRun, redeliverWorkflowRun, runAttempts } from '../webhook/runs.service.js';
import { WebhookAttempt } from '../webhook/webhook.schema.js';

export const WorkflowRunStatus = builder.enumType('WorkflowRunStatus', {
  description: 'Where a run stands.',
  values: {
    QUEUED: { description: 'Recorded, waiting to run.' },
    RUNNING: { description: 'Running.' },
    SUCCEEDED: { description: 'Finished successfully.' },
    FAILED: { description: 'Failed: its endpoint did not answer 2xx within the last attempt (redeliverWorkflowRun sends it again).' },
    DELIVERED: { description: 'Delivered: the workflow’s webhook endpoint answered 2xx.' },
  } as const,
});

type ActorShape = { kind: 'USER' | 'API_KEY' | 'SYSTEM'; keyId: string | null; userId: string | null };

const Actor = builder.objectRef<ActorShape>('Actor').implement({
  description: 'Who did something: a user, an API key or keygate itself. The key or user is shown only when within your reach.',
  fields: (t) => ({
    kind: t.field({ type: ActorKind, description: 'USER, API_KEY or SYSTEM.', resolve: (actor) => actor.kind }),
    apiKey: t.field({
      type: ApiKey,
      nullable: true,
      description: 'The key, when kind is API_KEY and you may read keys (api_keys:read) and reach it; null otherwise.',
      resolve: (actor, _args, { auth }) => visibleKey(auth, actor.kind === 'API_KEY' ? actor.keyId : null),
    }),
    user: t.field({
      type: User,
      nullable: true,
      description: 'The user, when kind is USER and you read with a session in the user’s tenant; null otherwise (API keys, a platform administrator, a user since deleted).',
      resolve: (actor, _args, { auth }) => visibleActingUser(auth, actor.kind === 'USER' ? actor.userId : null),
    }),
  }),
});

builder.prismaObject('Workflow', {
  description: 'Something integrations trigger in a project.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The workflow’s id.' }),
    name: t.exposeString('name', { description: 'Name, unique within the project.' }),
    project: t.relation('project', { description: 'The project the workflow belongs to.' }),
    endpointId: t.exposeID('endpointId', { nullable: true, description: 'The webhook endpoint its runs are delivered to; null: runs are only recorded.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the workflow was created.' }),
  }),
});

builder.prismaObject('WorkflowRun', {
  description: 'One triggering of a workflow.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The run’s id.' }),
    project: t.relation('project', { description: 'The project the run belongs to.' }),
    workflow: t.relation('workflow', { description: 'The workflow that was triggered.' }),
    input: t.expose('input', { type: 'JSON', description: 'The input given when triggering.' }),
    status: t.expose('status', { type: WorkflowRunStatus, description: 'Where the run stands: QUEUED until its endpoint answers, then DELIVERED or FAILED.' }),
    attempts: t.field({
      type: [WebhookAttempt],
      description: 'Every attempt to deliver the run to its workflow’s endpoint, oldest first.',
      resolve: (run) => runAttempts(run.id),
    }),
    triggeredBy: t.field({
      type: Actor,
      description: 'Who triggered the run.',
      select: { triggeredByKind: true, triggeredByKeyId: true, triggeredByUserId: true },
      resolve: (run) => ({ kind: run.triggeredByKind, keyId: run.triggeredByKeyId, userId: run.triggeredByUserId }),
    }),
    triggeredByKind: t.expose('triggeredByKind', {
      type: ActorKind,
      description: 'What kind of principal triggered the run.',
      deprecationReason: 'Use triggeredBy { kind }.',
    }),
    // What triggeredBy shows and nothing more: the id of a key or user out of the caller's reach stays hidden.
    triggeredByKeyId: t.id({
      nullable: true,
      description: 'The id of the key that triggered the run, if a key did and it is within your reach (as triggeredBy { apiKey }).',
      deprecationReason: 'Use triggeredBy { apiKey { id } }.',
      select: { triggeredByKind: true, triggeredByKeyId: true },
      resolve: async (run, _args, { auth }) => (await visibleKey(auth, run.triggeredByKind === 'API_KEY' ? run.triggeredByKeyId : null))?.id ?? null,
    }),
    triggeredByUserId: t.id({
      nullable: true,
      description: 'The id of the user who triggered the run, if a user did and it is within your reach (as triggeredBy { user }).',
      deprecationReason: 'Use triggeredBy { user { id } }.',
      select: { triggeredByKind: true, triggeredByUserId: true },
      resolve: async (run, _args, { auth }) => (await visibleActingUser(auth, run.triggeredByKind === 'USER' ? run.triggeredByUserId : null))?.id ?? null,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the run was triggered.' }),
  }),
});

builder.prismaObject('DataDelivery', {
  description: 'Data an integration delivered to a project.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The delivery’s id.' }),
    project: t.relation('project', { description: 'The project the data was delivered to.' }),
    source: t.exposeString('source', { description: 'Where the data came from, as the integration named it.' }),
    payload: t.expose('payload', { type: 'JSON', description: 'The data as delivered.' }),
    deliveredBy: t.field({
      type: Actor,
      description: 'Who delivered the data.',
      select: { deliveredByKind: true, deliveredById: true },
      resolve: (delivery) => ({
        kind: delivery.deliveredByKind,
        keyId: delivery.deliveredByKind === 'API_KEY' ? delivery.deliveredById : null,
        userId: delivery.deliveredByKind === 'USER' ? delivery.deliveredById : null,
      }),
    }),
    deliveredByKind: t.expose('deliveredByKind', { type: ActorKind, description: 'What kind of principal delivered the data.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the data was delivered.' }),
  }),
});

type ScopeArgs = { tenantId?: string | number | null; projectId?: string | number | null };
const scopeOf = (args: ScopeArgs) => ({ tenantId: args.tenantId?.toString(), projectId: args.projectId?.toString() });

builder.queryFields((t) => ({
  workflowRun: t.prismaField({
    type: 'WorkflowRun',
    description: 'One run, with its status and delivery attempts. Needs projects:read or workflows:trigger and access to its project.',
    args: { id: t.arg.id({ required: true, description: 'The run’s id.' }) },
    authScopes: { can: 'workflow:read' },
    resolve: async (query, _root, { id }, { auth, workspaceId }) => {
      const run = await findReadableRun(auth, String(id), 'workflow:read', workspaceId);
      return db.workflowRun.findUniqueOrThrow({ ...query, where: { id: run.id } });
    },
  }),
  workflows: t.prismaField({
    type: ['Workflow'],
    description: 'The workflows of the projects the caller reaches, by name. Needs projects:read or workflows:trigger.',
    args: {
      tenantId: t.arg.id({ description: 'Platform administrators: the tenant to list.' }),
      projectId: t.arg.id({ description: 'Only the workflows of this project.' }),
    },
    authScopes: { can: 'workflow:read' },
    resolve: async (query, _root, args, { auth, workspaceId }) =>
      db.workflow.findMany({ ...query, where: await workflowScope(auth, scopeOf(args), workspaceId), orderBy: { name: 'asc' } }),
  }),
  workflowRuns: t.prismaConnection(
    {
      type: 'WorkflowRun',
      cursor: 'id',
      description: 'Runs in the projects the caller reaches, newest first. Needs projects:read or workflows:trigger.',
      args: {
        tenantId: t.arg.id({ description: 'Platform administrators: the tenant to list.' }),
        projectId: t.arg.id({ description: 'Only the runs of this project.' }),
      },
      authScopes: { can: 'workflow:read' },
      resolve: async (query, _root, args, { auth, workspaceId }) => {
        const where = await workflowScope(auth, scopeOf(args), workspaceId);
        return db.workflowRun.findMany({
          ...(await keysetPage(query, where, (id) => db.workflowRun.findFirst({ where: { AND: [{ id }, where] }, select: CURSOR_ROW }))),
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        });
      },
    },
    { name: 'WorkflowRunConnection', description: 'A page of workflow runs.' },
    { name: 'WorkflowRunEdge', description: 'A workflow run in a page.' },
  ),
  dataDeliveries: t.prismaConnection(
    {
      type: 'DataDelivery',
      cursor: 'id',
      description: 'What integrations delivered to a project, newest first, payload included. Needs projects:read or data:deliver, and access to the project.',
      args: { projectId: t.arg.id({ required: true, description: 'The project to read.' }) },
      authScopes: { can: 'data:read' },
      resolve: async (query, _root, { projectId }, { auth, workspaceId }) => {
        const where = await dataDeliveryScope(auth, String(projectId), workspaceId);
        return db.dataDelivery.findMany({
          ...(await keysetPage(query, where, (id) => db.dataDelivery.findFirst({ where: { AND: [{ id }, where] }, select: CURSOR_ROW }))),
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        });
      },
      totalCount: async (_connection, { projectId }, { auth, workspaceId }) =>
        db.dataDelivery.count({ where: await dataDeliveryScope(auth, String(projectId), workspaceId) }),
    },
    { name: 'DataDeliveryConnection', description: 'A page of data deliveries.' },
    { name: 'DataDeliveryEdge', description: 'A data delivery in a page.' },
  ),
}));

const CreateWorkflowInput = builder.inputType('CreateWorkflowInput', {
  description: 'A new workflow.',
  fields: (t) => ({
    projectId: t.id({ required: true, description: 'The project the workflow belongs to.' }),
    name: t.string({ required: true, description: '2–200 characters, unique within the project.' }),
    endpointId: t.id({ description: 'A webhook endpoint listening to the project: every run is delivered there (needs webhooks:manage).' }),
  }),
});
const TriggerWorkflowInput = builder.inputType('TriggerWorkflowInput', {
  description: 'A workflow to trigger.',
  fields: (t) => ({
    projectId: t.id({ required: true, description: 'The project of the workflow.' }),
    workflowId: t.id({ required: true, description: 'The workflow to trigger.' }),
    input: t.field({ type: 'JSON', description: 'Any JSON value, up to the payload size limit.' }),
  }),
});
const DeliverDataInput = builder.inputType('DeliverDataInput', {
  description: 'Data to deliver to a project.',
  fields: (t) => ({
    projectId: t.id({ required: true, description: 'The project the data is for.' }),
    source: t.string({ required: true, description: 'Where the data comes from, 1–200 characters.' }),
    payload: t.field({ type: 'JSON', required: true, description: 'Any JSON value, up to the payload size limit.' }),
  }),
});

builder.mutationFields((t) => ({
  createWorkflow: t.prismaField({
    type: 'Workflow',
    description: 'Creates a workflow in a project. Needs a session with projects:manage.',
    args: { input: t.arg({ type: CreateWorkflowInput, required: true, description: 'The new workflow.' }) },
    authScopes: { $all: { session: true, can: 'project:manage' } },
    resolve: async (query, _root, { input }, { auth, workspaceId }) => {
      const endpointId = input.endpointId != null ? String(input.endpointId) : null;
      const { id } = await createWorkflow(auth, { projectId: String(input.projectId), name: input.name, endpointId }, workspaceId);
      return db.workflow.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
  triggerWorkflow: t.prismaField({
    type: 'WorkflowRun',
    description:
      'Records a run of a workflow (status QUEUED) and, in the same transaction, its delivery to the workflow’s endpoint. Needs workflows:trigger and access to the project. An Idempotency-Key header makes retries safe.',
    args: { input: t.arg({ type: TriggerWorkflowInput, required: true, description: 'What to trigger.' }) },
    authScopes: { permission: 'workflows:trigger' },
    resolve: async (_query, _root, { input }, { auth, workspaceId, request }) => {
      // The stored row itself, not a re-read: relations a client selects are loaded by
      // Pothos's fallback queries, and the write path stays one batched INSERT (group-commit.ts).
      return triggerWorkflow(
        auth,
        { projectId: String(input.projectId), workflowId: String(input.workflowId), input: input.input },
        workspaceId,
        idempotencyKeyOf(request?.headers),
      );
    },
  }),
  deliverData: t.prismaField({
    type: 'DataDelivery',
    description: 'Stores data for a project (and announces it as data.delivered). Needs data:deliver and access to the project. An Idempotency-Key header makes retries safe.',
    args: { input: t.arg({ type: DeliverDataInput, required: true, description: 'The data.' }) },
    authScopes: { permission: 'data:deliver' },
    resolve: async (_query, _root, { input }, { auth, workspaceId, request }) => {
      const data = { projectId: String(input.projectId), source: input.source, payload: input.payload };
      return deliverData(auth, data, workspaceId, idempotencyKeyOf(request?.headers));
    },
  }),
  redeliverWorkflowRun: t.prismaField({
    type: 'WorkflowRun',
    description: 'Sends a FAILED run to its endpoint again, with a fresh set of attempts (status back to QUEUED). Needs workflows:trigger or webhooks:manage and access to the project.',
    args: { id: t.arg.id({ required: true, description: 'The failed run.' }) },
    authScopes: { can: 'workflow:redeliver' },
    resolve: async (query, _root, { id }, { auth, workspaceId }) => {
      const run = await redeliverWorkflowRun(auth, String(id), workspaceId);
      return db.workflowRun.findUniqueOrThrow({ ...query, where: { id: run.id } });
    },
  }),
}));
