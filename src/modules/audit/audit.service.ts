/**
 * The audit trail: every create, update and delete writes one event, in the same
 * transaction as the change it records. Metadata holds names, ids and key prefixes; never
 * a secret, a token or a password.
 */
import { actingTenantId, actorOf, assertCan, reach } from '../../auth/access.js';
import type { AuthenticatedPrincipal, Principal } from '../../auth/principal.js';
import type { Tx } from '../../db.js';

export type AuditEntry = {
  tenantId: string;
  /** The organization the event is about, if any: organization-bound keys read only theirs. */
  organizationId?: string | null;
  /** The project the event is about, if any (a project, its workflows and runs): SELECTED keys read only their projects'. */
  projectId?: string | null;
  action: string;
  targetType: string;
  targetId: string;
  metadata?: Record<string, unknown>;
};

export async function recordAudit(tx: Tx, principal: AuthenticatedPrincipal | 'SYSTEM', entry: AuditEntry): Promise<void> {
  const actor = principal === 'SYSTEM' ? { actorKind: 'SYSTEM' as const, actorId: null, actorTenantId: null } : actorOf(principal);
  await tx.auditEvent.create({
    data: { ...entry, organizationId: entry.organizationId ?? null, projectId: entry.projectId ?? null, ...actor, metadata: (entry.metadata ?? {}) as object },
  });
}

/** The `where` of the audit events the principal may read, in the tenant it acts in. */
export function auditEventFilter(principal: Principal, args: { tenantId?: string | null; action?: string | null; targetId?: string | null }) {
  const actor = assertCan(principal, 'audit:read');
  return {
    ...reach(actor).auditEvent,
    tenantId: actingTenantId(actor, args.tenantId),
    ...(args.action ? { action: args.action } : {}),
    ...(args.targetId != null ? { targetId: args.targetId } : {}),
  };
}

/**
 * An event's actor id, when the caller may know it: a platform administrator (or an ADMIN
 * key) acting in this tenant is an operator from outside it, shown by its kind alone.
 */
export function visibleActorId(principal: Principal, event: { tenantId: string; actorKind: string; actorId: string | null; actorTenantId: string | null }) {
  if (principal.kind === 'ANONYMOUS') return null;
  // A user is a user relation, which API keys do not read: the kind alone is shown.
  if (principal.kind === 'API_KEY' && event.actorKind === 'USER') return null;
  if (principal.crossTenant) return event.actorId;
  return event.actorTenantId === event.tenantId ? event.actorId : null;
}
