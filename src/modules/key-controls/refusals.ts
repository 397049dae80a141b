/**
 * The two refusals of the GraphQL key controls, each made in exactly one function, so
 * whoever counts rejections per key (usage statistics) hooks one place each:
 * `onControlRefusal(listener)` hears both, with the key and the reason.
 */
import { GraphQLError } from 'graphql';
import type { ApiKeyPrincipal } from '../../auth/principal.js';
import type { CostReport } from './cost-budget.js';

export type ControlRefusal =
  | { reason: 'budget'; keyId: string; tenantId: string; cost: CostReport }
  | { reason: 'untrusted operation'; keyId: string; tenantId: string; documentId: string | null };

const listeners = new Set<(refusal: ControlRefusal) => void>();

/** Hears every refusal made here; returns the unsubscribe function. Listeners must not throw. */
export function onControlRefusal(listener: (refusal: ControlRefusal) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function tell(refusal: ControlRefusal): void {
  for (const listener of listeners) listener(refusal);
}

/** The operation does not fit the key's cost budget: HTTP 429, RATE_LIMITED, Retry-After. */
export function costBudgetExceeded(principal: ApiKeyPrincipal, cost: CostReport, retryAfterSeconds: number): GraphQLError {
  tell({ reason: 'budget', keyId: principal.apiKey.id, tenantId: principal.tenantId, cost });
  const retryAfter = Math.max(1, retryAfterSeconds);
  return new GraphQLError(`This operation costs ${cost.requested} points; ${cost.remaining} remain in this key's budget until ${cost.resetAt}.`, {
    extensions: {
      code: 'RATE_LIMITED',
      retryAfter,
      cost,
      http: { status: 429, headers: { 'Retry-After': String(retryAfter) } },
    },
  });
}

/**
 * A TRUSTED_ONLY key sent an operation (by text or `documentId`) that is not one of its
 * group's trusted documents: HTTP 403 OPERATION_NOT_TRUSTED, before anything is parsed.
 */
export function operationNotTrusted(principal: ApiKeyPrincipal, documentId: string | null): GraphQLError {
  tell({ reason: 'untrusted operation', keyId: principal.apiKey.id, tenantId: principal.tenantId, documentId });
  return new GraphQLError('This API key may only run the trusted documents of its authorization group.', {
    extensions: { code: 'OPERATION_NOT_TRUSTED', ...(documentId ? { documentId } : {}), http: { status: 403 } },
  });
}
