/**
 * What integrations do with a key: trigger workflow runs and deliver data, in the projects
 * their key allows. Every check is made here again, whatever the schema edge let through.
 */
import { actingTenantId, actorOf, assertCan, reach, requireAuthenticated, visibleUser } from '../../auth/access.js';
import { hasPermission, type AuthenticatedPrincipal, type Principal } from '../../auth/principal.js';
import { db } from '../../db.js';
import { GroupCommit } from '../../db/group-commit.js';
import { newId } from '../../db/ids.js';
import { createInsertTables, type InsertColumn, type TableRows } from '../../db/insert-many.js';
import type { DataDelivery, IdempotencyRecord, WebhookMessage, WorkflowRun } from '../../generated/prisma/client.js';
import { badInput, notFound } from '../../errors.js';
import { getConfig } from '../../config.js';
import { writeUnique, requireText } from '../../lib/validate.js';
import { assertJsonPayload } from '../../security/json-payload.js';
import { recordAudit } from '../audit/audit.service.js';
import { findAccessibleProject, reachableProjectsWhere } from '../project/project.service.js';
import { findTriggerTarget } from './trigger-lookup.js';
import { findManageableEndpoint, listensTo } from '../webhook/endpoint.service.js';
import { eventPayload, newMessageId } from '../webhook/events.js';
import {
  IDEMPOTENCY_COLUMNS,
  idempotencyRecord,
  idempotentRequest,
  previousResult,
  type IdempotentRequest,
} from '../webhook/idempotency.js';
import { MESSAGE_COLUMNS, outboxWritten, tenantHasEndpoints } from '../webhook/outbox.js';

export type TriggerWorkflowInput = { projectId: string; workflowId: string; input?: unknown };
export type DeliverDataInput = { projectId: string; source: string; payload: unknown };

/**
 * Runs and deliveries are what integrations write at volume: concurrent ones share one
 * INSERT and one commit (see group-commit.ts). Each request is answered only after its
 * batch committed, so an acknowledged run is durable.
 */
const RUN_COLUMNS: InsertColumn<WorkflowRun>[] = [
  { name: 'id' },
  { name: 'tenantId' },
  { name: 'projectId' },
  { name: 'workflowId' },
  { name: 'input', json: true, pgType: 'jsonb' },
  { name: 'status', pgType: '"WorkflowRunStatus"' },
  { name: 'triggeredByKind', pgType: '"ActorKind"' },
  { name: 'triggeredByKeyId' },
  { name: 'triggeredByUserId' },
  { name: 'createdAt' },
];
const DELIVERY_COLUMNS: InsertColumn<DataDelivery>[] = [
  { name: 'id' },
  { name: 'tenantId' },
  { name: 'projectId' },
  { name: 'source' },
  { name: 'payload', json: true, pgType: 'jsonb' },
  { name: 'deliveredByKind', pgType: '"ActorKind"' },
  { name: 'deliveredById' },
  { name: 'createdAt' },
];
const insertTables = createInsertTables(getConfig().databaseUrl, db);

/**
 * A run or a delivery travels with its outbox message (the webhook event) and, when the
 * request carried an Idempotency-Key, its idempotency record: one batch, one transaction.
 */
type WithOutbox<Row> = { row: Row; message: WebhookMessage | null; idempotency: IdempotencyRecord | null };

function outboxBatch<Row>(table: string, columns: InsertColumn<Row>[]) {
  return new GroupCommit<WithOutbox<Row>>(async (entries) => {
    const writes: TableRows[] = [
      { table, columns, rows: entries.map((entry) => entry.row) },
      { table: 'WebhookMessage', columns: MESSAGE_COLUMNS, rows: entries.flatMap((entry) => (entry.message ? [entry.message] : [])) },
      { table: 'IdempotencyRecord', columns: IDEMPOTENCY_COLUMNS, rows: entries.flatMap((entry) => (entry.idempotency ? [entry.idempotency] : [])) },
    ];
    await insertTables(writes);
    if (entries.some((entry) => entry.message)) outboxWritten();
  });
}
const runWrites = outboxBatch<WorkflowRun>('WorkflowRun', RUN_COLUMNS);
const deliveryWrites = outboxBatch<DataDelivery>('DataDelivery', DELIVERY_COLUMNS);

/**
 * Writes `entry`; with an Idempotency-Key, a concurrent identical request may have won the
 * unique (principalId, key): then its result is the answer.
 */
async function writeIdempotently<Row>(
  writes: GroupCommit<WithOutbox<Row>>,
  entry: WithOutbox<Row>,
  request: IdempotentRequest | null,
  readResult: (id: string) => Promise<Row | null>,
): Promise<Row> {
  try {
    await writes.insert(entry);
    return entry.row;
  } catch (error) {
    const winner = request ? await previousResult(request) : null;
    if (!winner) throw error;
    return answerFrom(winner, readResult);
  }
}

async function answerFrom<Row>(resultId: string, readResult: (id: string) => Promise<Row | null>): Promise<Row> {
  const row = await readResult(resultId);
  if (!row) throw notFound('The result of this Idempotency-Key');
  return row;
}

export async function createWorkflow(
  principal: Principal,
  input: { projectId: string; name: string; endpointId?: string | null },
  workspaceId: string | null,
) {
  const actor = assertCan(principal, 'project:manage');
  const project = await findAccessibleProject(actor, input.projectId, workspaceId);
  const name = requireText('name', input.name, { min: 2, max: 200 });
  const endpointId = input.endpointId != null ? await routableEndpointId(actor, input.endpointId, project) : null;
  return writeUnique('name', `a workflow named "${name}" already exists in this project`, () =>
    db.$transaction(async (tx) => {
      const workflow = await tx.workflow.create({ data: { tenantId: project.tenantId, projectId: project.id, name, endpointId } });
      await recordAudit(tx, actor, { tenantId: project.tenantId, organizationId: project.organizationId, projectId: project.id, action: 'workflow.created', targetType: 'Workflow', targetId: workflow.id, metadata: { name, projectId: project.id, endpointId } });
      return workflow;
    }),
  );
}

/**
 * A workflow's endpoint must be one the creator manages (webhooks:manage) and that hears
 * this project: its runs go there.
 */
async function routableEndpointId(actor: AuthenticatedPrincipal, endpointId: string, project: { id: string; organizationId: string }) {
  const endpoint = await findManageableEndpoint(actor, endpointId);
  if (endpoint.organizationId !== project.organizationId || !listensTo(endpoint, project.id)) {
    throw badInput('endpointId', 'the endpoint does not listen to this project');
  }
  return endpoint.id;
}

export async function triggerWorkflow(
  principal: Principal,
  input: TriggerWorkflowInput,
  workspaceId: string | null,
  idempotencyKey: string | null = null,
) {
  const actor = assertCan(principal, 'workflow:trigger');
  const idempotent = idempotencyKey ? idempotentRequest(actor, idempotencyKey, 'triggerWorkflow', input) : null;
  const earlier = idempotent ? await previousResult(idempotent) : null;
  if (earlier) return answerFrom(earlier, findRun);
  // One prepared statement, the checks of findAccessibleProject (trigger-lookup.ts).
  const { project, workflow } = await findTriggerTarget(actor, input, workspaceId);
  const runInput = input.input ?? {};
  assertPayloadSize('input', runInput);
  const actorFields = actorOf(actor);
  const run: WorkflowRun = {
    id: newId(),
    tenantId: project.tenantId,
    projectId: project.id,
    workflowId: workflow.id,
    input: runInput as WorkflowRun['input'],
    triggeredByKind: actorFields.actorKind,
    triggeredByKeyId: actor.kind === 'API_KEY' ? actor.apiKey.id : null,
    triggeredByUserId: actor.kind === 'SESSION' ? actor.user.id : null,
    status: 'QUEUED',
    createdAt: new Date(),
  };
  // Routed runs always go out; others only where some endpoint may listen.
  const announce = workflow.endpointId !== null || (await tenantHasEndpoints(run.tenantId, hasEndpoints));
  const message = announce ? runTriggeredMessage(run, workflow, project.organizationId, visibleActor(actor, run.tenantId)) : null;
  const idempotency = idempotent ? idempotencyRecord(idempotent, run.id, run.createdAt) : null;
  // The row as stored: the resolver answers from it without reading it back.
  return writeIdempotently(runWrites, { row: run, message, idempotency }, idempotent, findRun);
}

const hasEndpoints = async (tenantId: string) => (await db.webhookEndpoint.count({ where: { tenantId }, take: 1 })) > 0;
const findRun = (id: string) => db.workflowRun.findUnique({ where: { id } });
const findDelivery = (id: string) => db.dataDelivery.findUnique({ where: { id } });

/**
 * Who acted, as the event's tenant may see it (the API's rule for `triggeredBy`): an actor of
 * another tenant (a platform administrator, an ADMIN key of the system tenant) is its kind
 * alone, never its id.
 */
function visibleActor(actor: AuthenticatedPrincipal, tenantId: string) {
  const { actorKind, actorId, actorTenantId } = actorOf(actor);
  return { kind: actorKind, id: actorTenantId === tenantId ? actorId : null };
}

/** A webhook payload's actor: the kind, and the key's or the user's id when it may be shown. */
function payloadActor({ kind, id }: ReturnType<typeof visibleActor>) {
  return { kind, apiKeyId: kind === 'API_KEY' ? id : null, userId: kind === 'USER' ? id : null };
}

/** `id` (kept for receivers written against it), and the same fields as a run's `triggeredBy`. */
function deliveredByOf(actor: ReturnType<typeof visibleActor>) {
  return { id: actor.id, ...payloadActor(actor) };
}

/** The outbox message of a run: to the workflow's endpoint when it has one (see outbox.ts). */
function runTriggeredMessage(
  run: WorkflowRun,
  workflow: { id: string; name: string; endpointId: string | null },
  organizationId: string,
  actor: ReturnType<typeof visibleActor>,
): WebhookMessage {
  const data = {
    run: {
      id: run.id,
      status: run.status,
      workflow: { id: workflow.id, name: workflow.name },
      projectId: run.projectId,
      input: run.input,
      triggeredBy: payloadActor(actor),
      createdAt: run.createdAt.toISOString(),
    },
  };
  return outboxMessage(run.tenantId, organizationId, run.projectId, 'workflow.run.triggered', data, run.createdAt, {
    endpointId: workflow.endpointId,
    workflowRunId: run.id,
  });
}

function outboxMessage(
  tenantId: string,
  organizationId: string,
  projectId: string,
  eventType: string,
  data: unknown,
  at: Date,
  route: { endpointId?: string | null; workflowRunId?: string | null } = {},
): WebhookMessage {
  return {
    id: newMessageId(),
    tenantId,
    organizationId,
    projectId,
    eventType,
    payload: eventPayload(eventType, data, at) as WebhookMessage['payload'],
    endpointId: route.endpointId ?? null,
    workflowRunId: route.workflowRunId ?? null,
    dedupeKey: null,
    fannedOutAt: null,
    createdAt: at,
  };
}

export async function deliverData(
  principal: Principal,
  input: DeliverDataInput,
  workspaceId: string | null,
  idempotencyKey: string | null = null,
) {
  const actor = assertCan(principal, 'data:deliver');
  const idempotent = idempotencyKey ? idempotentRequest(actor, idempotencyKey, 'deliverData', input) : null;
  const earlier = idempotent ? await previousResult(idempotent) : null;
  if (earlier) return answerFrom(earlier, findDelivery);
  const project = await findAccessibleProject(actor, input.projectId, workspaceId);
  const source = requireText('source', input.source, { min: 1, max: 200 });
  assertPayloadSize('payload', input.payload);
  const { actorKind, actorId } = actorOf(actor);
  const delivery: DataDelivery = {
    id: newId(),
    tenantId: project.tenantId,
    projectId: project.id,
    source,
    payload: input.payload as DataDelivery['payload'],
    deliveredByKind: actorKind,
    deliveredById: actorId,
    createdAt: new Date(),
  };
  const data = {
    delivery: {
      id: delivery.id,
      projectId: delivery.projectId,
      source,
      payload: delivery.payload,
      deliveredBy: deliveredByOf(visibleActor(actor, delivery.tenantId)),
      createdAt: delivery.createdAt.toISOString(),
    },
  };
  const announce = await tenantHasEndpoints(delivery.tenantId, hasEndpoints);
  const message = announce ? outboxMessage(delivery.tenantId, project.organizationId, project.id, 'data.delivered', data, delivery.createdAt) : null;
  const idempotency = idempotent ? idempotencyRecord(idempotent, delivery.id, delivery.createdAt) : null;
  return writeIdempotently(deliveryWrites, { row: delivery, message, idempotency }, idempotent, findDelivery);
}

/** The `where` of workflows and of runs: visible to whoever may read projects or trigger workflows there. */
export async function workflowScope(principal: Principal, args: { tenantId?: string | null; projectId?: string | null }, workspaceId: string | null) {
  const actor = assertCan(principal, 'workflow:read');
  if (args.projectId != null) {
    const project = await findAccessibleProject(actor, args.projectId, workspaceId);
    return { tenantId: project.tenantId, projectId: project.id };
  }
  const projects = await reachableProjectsWhere(actor, { tenantId: args.tenantId }, workspaceId);
  return { ...reach(actor).workflowRun, tenantId: actingTenantId(actor, args.tenantId), project: projects };
}


function assertPayloadSize(field: string, value: unknown) {
  const { maxPayloadBytes, maxPayloadDepth } = getConfig();
  assertJsonPayload(field, value, { maxBytes: maxPayloadBytes, maxDepth: maxPayloadDepth });
}

/** The `where` of a project's data deliveries: 'data:read' and access to the project. */
export async function dataDeliveryScope(principal: Principal, projectId: string, workspaceId: string | null) {
  const actor = assertCan(principal, 'data:read');
  const project = await findAccessibleProject(actor, projectId, workspaceId);
  return { ...reach(actor).dataDelivery, tenantId: project.tenantId, projectId: project.id };
}

/**
 * The key behind a run or delivery, when the caller may read keys and reaches this one (an
 * organization-bound key sees its organization's keys only); null otherwise.
 */
export async function visibleKey(principal: Principal, keyId: string | null) {
  if (!keyId || !hasPermission(principal, 'api_keys:read')) return null;
  const actor = requireAuthenticated(principal);
  return db.apiKey.findFirst({ where: { AND: [{ id: keyId }, reach(actor).apiKey] } });
}

/**
 * The user behind a run or delivery, when within the caller's reach: users of its own tenant
 * for sessions (keys read no users), never a platform administrator from outside the tenant.
 */
export async function visibleActingUser(principal: Principal, userId: string | null) {
  if (!userId || principal.kind === 'ANONYMOUS') return null;
  return visibleUser(principal, await db.user.findFirst({ where: { AND: [{ id: userId }, reach(principal).user] } }));
}
