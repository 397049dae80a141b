/** Reading a run with its delivery attempts, and sending a failed run again. */
import { assertCan, tenantReach } from '../../auth/access.js';
import type { Principal } from '../../auth/principal.js';
import { getConfig } from '../../config.js';
import { db } from '../../db.js';
import { badInput, forbidden, notFound } from '../../errors.js';
import { recordAudit } from '../audit/audit.service.js';
import { workspaceContext } from '../workspace/workspace.service.js';
import { outboxWritten } from './outbox.js';
import { publishRunUpdate } from './run-updates.js';

/** A run the principal may read: NOT_FOUND in another tenant, FORBIDDEN outside a key's reach. */
/** `contextWorkspaceId`: the request's X-Workspace-Id; when sent, the run must be in that workspace (FORBIDDEN otherwise). */
export async function findReadableRun(
  principal: Principal,
  id: string,
  action: 'workflow:read' | 'workflow:redeliver' = 'workflow:read',
  contextWorkspaceId: string | null = null,
) {
  const actor = assertCan(principal, action);
  const run = await db.workflowRun.findFirst({ where: { id, ...tenantReach(actor) }, include: { project: { select: { organizationId: true, workspaceId: true } } } });
  if (!run) throw notFound('WorkflowRun');
  assertCan(actor, action, { what: 'WorkflowRun', tenantId: run.tenantId, organizationId: run.project.organizationId, projectIds: [run.projectId] });
  const context = await workspaceContext(actor, contextWorkspaceId);
  if (context && context.id !== run.project.workspaceId) throw forbidden('The run is not in the workspace named by X-Workspace-Id.');
  return run;
}

export function runAttempts(runId: string) {
  return db.webhookAttempt.findMany({ where: { workflowRunId: runId }, orderBy: [{ startedAt: 'asc' }, { number: 'asc' }] });
}

/** A FAILED run's delivery, scheduled again with a fresh set of attempts. */
export async function redeliverWorkflowRun(principal: Principal, id: string, contextWorkspaceId: string | null = null) {
  const run = await findReadableRun(principal, id, 'workflow:redeliver', contextWorkspaceId);
  const actor = assertCan(principal, 'workflow:redeliver');
  if (run.status !== 'FAILED') throw badInput('id', `only a FAILED run can be redelivered; this one is ${run.status}`);
  const delivery = await db.webhookDelivery.findFirst({ where: { workflowRunId: run.id }, orderBy: { createdAt: 'desc' } });
  if (!delivery || !delivery.endpointId) throw badInput('id', 'this run has no endpoint to deliver to (its workflow’s endpoint was removed)');
  const updated = await db.$transaction(async (tx) => {
    // Only while still FAILED: of two redeliveries at once (on one instance or two) one wins;
    // the other would reset a delivery already under way, and send a delivered run again.
    const { count } = await tx.workflowRun.updateMany({ where: { id: run.id, status: 'FAILED' }, data: { status: 'QUEUED' } });
    if (count === 0) throw badInput('id', 'only a FAILED run can be redelivered; this one is being redelivered already');
    await tx.webhookDelivery.update({
      where: { id: delivery.id },
      data: {
        status: 'PENDING',
        attemptLimit: delivery.attemptCount + getConfig().webhooks.maxAttempts,
        nextAttemptAt: new Date(),
        lockedUntil: null,
        lockedBy: null,
        deliveredAt: null,
      },
    });
    await recordAudit(tx, actor, {
      tenantId: run.tenantId,
      organizationId: run.project.organizationId,
      projectId: run.projectId,
      action: 'workflow_run.redelivered',
      targetType: 'WorkflowRun',
      targetId: run.id,
    });
    return tx.workflowRun.findUniqueOrThrow({ where: { id: run.id } });
  });
  outboxWritten();
  await publishRunUpdate(run.id).catch(() => {});
  return updated;
}
