/**
 * Counts every request made with an API key as accepted or rejected (usage.ts). It decides
 * when the response is ready, from the key the authenticator settled on for the request and
 * the error codes in the result, so a refusal thrown anywhere (rate limit, permission check in
 * a resolver, a budget or trusted-document check) is counted with its reason. A credential
 * that did not authenticate has no key to count against; an address outside the allowlist is
 * refused while authenticating: the key strategy counts that one.
 */
import type { Plugin } from 'graphql-yoga';
import type { ApiKeyPrincipal, Principal } from './principal.js';
import type { Authenticator } from './use-auth.js';
import { REJECTION_REASON_BY_CODE, type RejectionReason, type UsageRecorder } from './usage.js';

export function useUsageCounting(usage: UsageRecorder, authenticator: Pick<Authenticator, 'settled'>): Plugin {
  if (!usage.enabled) return {};
  return {
    onResultProcess({ request, result }) {
      const auth = authenticator.settled(request)?.auth;
      if (auth) countResult(usage, auth, result);
    },
  };
}

/**
 * One request's result, counted against its key (nothing for a session): accepted, or rejected
 * with its reason. Each operation of a batch counts on its own, as the rate limits and budgets
 * count them: a batch of five with two rate-limited is three accepted and two rejected.
 */
export function countResult(usage: UsageRecorder, auth: Principal, result: unknown): void {
  if (auth.kind !== 'API_KEY') return;
  if (!Array.isArray(result)) return countOperation(usage, auth.apiKey, result);
  for (const operationResult of result) countOperation(usage, auth.apiKey, operationResult);
}

function countOperation(usage: UsageRecorder, key: ApiKeyPrincipal['apiKey'], result: unknown): void {
  const reason = rejectionIn(result);
  if (reason) usage.recordRejected(key.id, reason);
  else usage.recordAccepted(key.id, key.usedPreviousSecret === true);
}

/** The first refusal among one operation's errors. */
export function rejectionIn(result: unknown): RejectionReason | null {
  const errors = (result as { errors?: readonly { extensions?: { code?: unknown; cost?: unknown } }[] } | null)?.errors;
  if (!errors) return null;
  for (const error of errors) {
    const code = error.extensions?.code;
    const reason = typeof code === 'string' ? REJECTION_REASON_BY_CODE[code] : undefined;
    // A query-cost budget may refuse as RATE_LIMITED with `extensions.cost` (product.md §7).
    if (reason === 'RATE_LIMIT' && error.extensions?.cost !== undefined) return 'BUDGET';
    if (reason) return reason;
  }
  return null;
}
