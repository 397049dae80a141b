/**
 * AUDIT groups: an operation outside the group's trusted documents runs, and is recorded as
 * an audit event (`operation.untrusted`) at most once per document per hour, across
 * instances. Between events the sightings are counted in memory and the next event (or the
 * sighting row) carries the count.
 *
 * The once-per-hour claim is a conditional write on `UntrustedOperationSighting` (one row
 * per group and document): the instance whose update moves `lastRecordedAt` past the hour
 * records the event, in the same transaction; the others only count. The in-memory note in
 * front of it keeps the database out of the request path for the rest of the hour.
 */
import type { ApiKeyPrincipal, GroupControls } from '../../auth/principal.js';
import { db } from '../../db.js';
import type { Logger } from '../../lib/logger.js';
import { isUniqueViolation } from '../../lib/validate.js';
import { recordAudit } from '../audit/audit.service.js';

export const SIGHTING_INTERVAL_MS = 60 * 60 * 1000;
const MAX_NOTES = 10_000;

type Note = { checkedAt: number; unrecorded: number };

export class UntrustedOperationSightings {
  private readonly notes = new Map<string, Note>();

  constructor(private readonly logger: Logger) {}

  /** Counts one sighting; records the audit event when none was recorded for it this hour. */
  async note(principal: ApiKeyPrincipal, controls: GroupControls, documentId: string, operationName: string | null, now = Date.now()): Promise<void> {
    const noteKey = `${controls.groupId}\u0000${documentId}`;
    let note = this.notes.get(noteKey);
    if (note && now - note.checkedAt < SIGHTING_INTERVAL_MS) {
      note.unrecorded++;
      return;
    }
    if (this.notes.size >= MAX_NOTES) this.notes.clear();
    const occurrences = (note?.unrecorded ?? 0) + 1;
    note = { checkedAt: now, unrecorded: 0 };
    this.notes.set(noteKey, note);
    try {
      const recorded = await claimAndRecord(principal, controls.groupId, documentId, operationName, occurrences, new Date(now));
      if (!recorded) note.unrecorded = occurrences;
    } catch (error) {
      // Auditing must not fail the operation it audits; the next hour tries again.
      this.logger.warn('could not record an untrusted operation', { groupId: controls.groupId, error: error instanceof Error ? error.message : String(error) });
    }
  }
}

async function claimAndRecord(principal: ApiKeyPrincipal, groupId: string, documentId: string, operationName: string | null, occurrences: number, now: Date): Promise<boolean> {
  const where = { authorizationGroupId_documentId: { authorizationGroupId: groupId, documentId } };
  return db.$transaction(async (tx) => {
    const existing = await tx.untrustedOperationSighting.findUnique({ where });
    if (existing) {
      if (now.getTime() - existing.lastRecordedAt.getTime() < SIGHTING_INTERVAL_MS) {
        await tx.untrustedOperationSighting.update({ where, data: { count: { increment: occurrences } } });
        return false;
      }
      // Conditional on the value read: of two instances racing here, one moves it.
      const claimed = await tx.untrustedOperationSighting.updateMany({
        where: { id: existing.id, lastRecordedAt: existing.lastRecordedAt },
        data: { lastRecordedAt: now, count: { increment: occurrences } },
      });
      if (claimed.count !== 1) return false;
    } else {
      try {
        await tx.untrustedOperationSighting.create({ data: { authorizationGroupId: groupId, documentId, lastRecordedAt: now, count: occurrences } });
      } catch (error) {
        // Another instance created it first: it records the event.
        if (isUniqueViolation(error)) return false;
        throw error;
      }
    }
    await recordAudit(tx, principal, {
      tenantId: principal.tenantId,
      organizationId: principal.apiKey.organizationId,
      action: 'operation.untrusted',
      targetType: 'AuthorizationGroup',
      targetId: groupId,
      metadata: { documentId, operationName, occurrences, apiKeyId: principal.apiKey.id },
    });
    return true;
  });
}
