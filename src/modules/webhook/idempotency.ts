/**
 * Idempotency-Key (as Stripe's): the same key from the same principal with the same request
 * within 24 hours answers the first result and creates nothing; with a different request it
 * is refused (IDEMPOTENCY_CONFLICT). The record is written in the same batch/transaction as
 * the row it answers for, under a unique (principalId, key): of concurrent identical
 * requests exactly one commits, the others find its record and answer its result.
 */
import { createHash } from 'node:crypto';
import { GraphQLError } from 'graphql';
import type { AuthenticatedPrincipal } from '../../auth/principal.js';
import { db } from '../../db.js';
import { newId } from '../../db/ids.js';
import type { InsertColumn } from '../../db/insert-many.js';
import { badInput } from '../../errors.js';
import type { IdempotencyRecord } from '../../generated/prisma/client.js';

export const IDEMPOTENCY_WINDOW_MS = 24 * 3600_000;
export const IDEMPOTENCY_HEADER = 'idempotency-key';

export const IDEMPOTENCY_COLUMNS: InsertColumn<IdempotencyRecord>[] = [
  { name: 'id' },
  { name: 'tenantId' },
  { name: 'principalId' },
  { name: 'key' },
  { name: 'operation' },
  { name: 'requestHash' },
  { name: 'resultId' },
  { name: 'createdAt' },
];

export function idempotencyConflict() {
  return new GraphQLError('This Idempotency-Key was already used with a different request.', {
    extensions: { code: 'IDEMPOTENCY_CONFLICT', field: 'Idempotency-Key' },
  });
}

/** The header's value, checked: 1–255 visible ASCII characters; null when absent. */
export function idempotencyKeyOf(headers: Headers | undefined): string | null {
  const value = headers?.get(IDEMPOTENCY_HEADER);
  if (value === null || value === undefined) return null;
  if (!/^[\x21-\x7e]{1,255}$/.test(value)) throw badInput('Idempotency-Key', 'must be 1–255 visible ASCII characters');
  return value;
}

export type IdempotentRequest = { key: string; principalId: string; tenantId: string; operation: string; requestHash: string };

export function idempotentRequest(actor: AuthenticatedPrincipal, key: string, operation: string, input: unknown): IdempotentRequest {
  const principalId = actor.kind === 'SESSION' ? actor.user.id : actor.apiKey.id;
  const requestHash = createHash('sha256').update(operation).update('\0').update(canonicalJson(input)).digest('hex');
  return { key, principalId, tenantId: actor.tenantId, operation, requestHash };
}

/** The record to write with the result row. */
export function idempotencyRecord(request: IdempotentRequest, resultId: string, now: Date): IdempotencyRecord {
  return { id: newId(), ...request, resultId, createdAt: now };
}

/**
 * The first result's id when this key was seen within 24 hours with the same request; throws
 * IDEMPOTENCY_CONFLICT for a different request; null when the key is new (an expired record is
 * removed so that the key can be used again).
 */
export async function previousResult(request: IdempotentRequest): Promise<string | null> {
  const record = await db.idempotencyRecord.findUnique({ where: { principalId_key: { principalId: request.principalId, key: request.key } } });
  if (!record) return null;
  if (record.createdAt.getTime() < Date.now() - IDEMPOTENCY_WINDOW_MS) {
    await db.idempotencyRecord.deleteMany({ where: { id: record.id } });
    return null;
  }
  if (record.requestHash !== request.requestHash || record.operation !== request.operation) throw idempotencyConflict();
  return record.resultId;
}

/** Deletes records past the window (the dispatcher's sweep calls it). */
export async function purgeExpiredIdempotencyRecords(now = Date.now()): Promise<number> {
  const { count } = await db.idempotencyRecord.deleteMany({ where: { createdAt: { lt: new Date(now - IDEMPOTENCY_WINDOW_MS) } } });
  return count;
}

/** JSON with object keys sorted: the same request hashes the same whatever its key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}
