/**
 * Counts every request made with an API key as accepted or rejected (usage.ts). Place right
 * after useAuth and before the rate limits: it notes the key while the context is built, and
 * decides when the response is ready, from the error codes in it, so a refusal thrown
 * anywhere later (rate limit, permission check in a resolver, a budget or trusted-document
 * check added by another plugin) is counted with its reason. An address outside the
 * allowlist is refused inside useAuth, before this runs: the key strategy counts that one.
 */
import type { Plugin } from 'graphql-yoga';
import type { AuthContext } from './use-auth.js';
import { REJECTION_REASON_BY_CODE, type RejectionReason, type UsageRecorder } from './usage.js';

type Counted = { keyId: string; previousSecret: boolean };

export function useUsageCounting(usage: UsageRecorder): Plugin<AuthContext> {
  if (!usage.enabled) return {};
  const inFlight = new WeakMap<Request, Counted>();
  return {
    onContextBuilding({ context }) {
      const { auth } = context;
      if (auth.kind === 'API_KEY') {
        inFlight.set(context.request, { keyId: auth.apiKey.id, previousSecret: auth.apiKey.usedPreviousSecret === true });
      }
    },
    onResultProcess({ request, result }) {
      const counted = inFlight.get(request);
      if (!counted) return;
      inFlight.delete(request);
      const reason = rejectionIn(result);
      if (reason) usage.recordRejected(counted.keyId, reason);
      else usage.recordAccepted(counted.keyId, counted.previousSecret);
    },
  };
}

/** The first refusal among the result's errors (a batch counts once, as its first refusal). */
export function rejectionIn(result: unknown): RejectionReason | null {
  const results = Array.isArray(result) ? result : [result];
  for (const one of results) {
    const errors = (one as { errors?: readonly { extensions?: { code?: unknown; cost?: unknown } }[] } | null)?.errors;
    if (!errors) continue;
    for (const error of errors) {
      const code = error.extensions?.code;
      const reason = typeof code === 'string' ? REJECTION_REASON_BY_CODE[code] : undefined;
      // A query-cost budget may refuse as RATE_LIMITED with `extensions.cost` (product.md §7).
      if (reason === 'RATE_LIMIT' && error.extensions?.cost !== undefined) return 'BUDGET';
      if (reason) return reason;
    }
  }
  return null;
}
