/**
 * The audit trail: every create, update and delete writes one event, in the same
 * transaction as the change it records. Metadata holds names, ids and key prefixes; never
 * a secret, a token or a password.
 */
import { actorOf, requirePermission, actingTenantId, type AuthenticatedPrincipal, type Principal } from '../../auth/principal.js';
import type { Tx } from '../../db.js';

export type AuditEntry = {
  tenantId: string;
  action: string;
  targetType: string;
  targetId: string;
  metadata?: Record<string, unknown>;
};

export async function recordAudit(tx: Tx, principal: AuthenticatedPrincipal | 'SYSTEM', entry: AuditEntry): Promise<void> {
  const actor = principal === 'SYSTEM' ? { actorKind: 'SYSTEM' as const, actorId: null } : actorOf(principal);
  await tx.auditEvent.create({ data: { ...entry, ...actor, metadata: (entry.metadata ?? {}) as object } });
}

/** The tenant whose audit events the principal may read. */
export function auditTenantFor(principal: Principal, tenantId: string | null | undefined): string {
  return actingTenantId(requirePermission(principal, 'audit:read'), tenantId);
}
