/**
 * What integrations do with a key: trigger workflow runs and deliver data, in the projects
 * their key allows. Every check is made here again, whatever the schema edge let through.
 */
import { actingTenantId, actorOf, assertCan, reach, requireAuthenticated, visibleUser } from '../../auth/access.js';
import { hasPermission, type Principal } from '../../auth/principal.js';
import { db } from '../../db.js';
import { GroupCommit } from '../../db/group-commit.js';
import { newId } from '../../db/ids.js';
import { createInsertMany, type InsertColumn } from '../../db/insert-many.js';
import type { DataDelivery, WorkflowRun } from '../../generated/prisma/client.js';
import { getConfig } from '../../config.js';
import { writeUnique, requireText } from '../../lib/validate.js';
import { assertJsonPayload } from '../../security/json-payload.js';
import { recordAudit } from '../audit/audit.service.js';
import { findAccessibleProject, reachableProjectsWhere } from '../project/project.service.js';
import { findTriggerTarget } from './trigger-lookup.js';

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
const insertMany = createInsertMany(getConfig().databaseUrl, db);
const runWrites = new GroupCommit<WorkflowRun>((rows) => insertMany('WorkflowRun', RUN_COLUMNS, rows));
const deliveryWrites = new GroupCommit<DataDelivery>((rows) => insertMany('DataDelivery', DELIVERY_COLUMNS, rows));

export async function createWorkflow(principal: Principal, input: { projectId: string; name: string }, workspaceId: string | null) {
  const actor = assertCan(principal, 'project:manage');
  const project = await findAccessibleProject(actor, input.projectId, workspaceId);
  const name = requireText('name', input.name, { min: 2, max: 200 });
  return writeUnique('name', `a workflow named "${name}" already exists in this project`, () =>
    db.$transaction(async (tx) => {
      const workflow = await tx.workflow.create({ data: { tenantId: project.tenantId, projectId: project.id, name } });
      await recordAudit(tx, actor, { tenantId: project.tenantId, organizationId: project.organizationId, action: 'workflow.created', targetType: 'Workflow', targetId: workflow.id, metadata: { name, projectId: project.id } });
      return workflow;
    }),
  );
}

export async function triggerWorkflow(principal: Principal, input: TriggerWorkflowInput, workspaceId: string | null) {
  const actor = assertCan(principal, 'workflow:trigger');
  // One prepared statement, the checks of findAccessibleProject (trigger-lookup.ts).
  const { project, workflowId } = await findTriggerTarget(actor, input, workspaceId);
  const runInput = input.input ?? {};
  assertPayloadSize('input', runInput);
  const actorFields = actorOf(actor);
  const run: WorkflowRun = {
    id: newId(),
    tenantId: project.tenantId,
    projectId: project.id,
    workflowId,
    input: runInput as WorkflowRun['input'],
    triggeredByKind: actorFields.actorKind,
    triggeredByKeyId: actor.kind === 'API_KEY' ? actor.apiKey.id : null,
    triggeredByUserId: actor.kind === 'SESSION' ? actor.user.id : null,
    status: 'QUEUED',
    createdAt: new Date(),
  };
  await runWrites.insert(run);
  // The row as stored: the resolver answers from it without reading it back.
  return run;
}

export async function deliverData(principal: Principal, input: DeliverDataInput, workspaceId: string | null) {
  const actor = assertCan(principal, 'data:deliver');
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
  await deliveryWrites.insert(delivery);
  return delivery;
}

/** The `where` of workflows and of runs: visible to whoever may read projects or trigger workflows there. */
export async function workflowScope(principal: Principal, args: { tenantId?: string | null; projectId?: string | null }, workspaceId: string | null) {
  const actor = assertCan(principal, 'workflow:read');
  if (args.projectId) {
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
  return db.apiKey.findFirst({ where: { id: keyId, ...reach(actor).apiKey } });
}

/**
 * The user behind a run or delivery, when within the caller's reach: users of its own tenant
 * for sessions (keys read no users), never a platform administrator from outside the tenant.
 */
export async function visibleActingUser(principal: Principal, userId: string | null) {
  if (!userId || principal.kind === 'ANONYMOUS') return null;
  return visibleUser(principal, await db.user.findFirst({ where: { id: userId, ...reach(principal).user } }));
}
