/**
 * Request rate limits per API key and per tenant, counted after authentication (so the
 * principal is known) and before any resolver runs. Over the limit: HTTP 429,
 * `extensions.code: RATE_LIMITED` and a Retry-After header.
 *
 * The per-key limit stops one runaway integration; the per-tenant limit (every key and
 * session of the tenant together) stops one tenant from starving the others on a shared
 * gateway. Anonymous requests are not counted here: the only thing they can do is signIn,
 * which the failed-credential throttle (credential-throttle.ts) covers.
 *
 * Each operation of a batched request counts, so batching does not multiply the allowance.
 */
import type { Plugin } from 'graphql-yoga';
import type { Principal } from '../auth/principal.js';
import type { AuthContext } from '../auth/use-auth.js';
import type { ServerContext } from '../context.js';
import { rateLimited } from '../errors.js';
import type { Logger } from '../lib/logger.js';
import { retryAfterSeconds, take, type LimiterStore } from './limiter-store.js';

export type RateLimitOptions = {
  /** Requests per window per API key. 0 = unlimited. */
  perKey: number;
  /** Requests per window per tenant. 0 = unlimited. */
  perTenant: number;
  windowSeconds: number;
  store: LimiterStore;
  logger: Logger;
};

/** Counts one request of `auth`; throws RATE_LIMITED over a limit. Null when no limit is set. */
export type RateLimitCheck = (auth: Principal) => Promise<void>;

/** One set of counters, shared by the GraphQL plugin and /auth/verify (gateway/forward-auth.ts). */
export function createRateLimitCheck(options: RateLimitOptions): RateLimitCheck | null {
  const { perKey, perTenant, windowSeconds, store, logger } = options;
  const keyLimiter = perKey > 0 ? store.create({ name: 'key', points: perKey, durationSeconds: windowSeconds }) : null;
  const tenantLimiter = perTenant > 0 ? store.create({ name: 'tenant', points: perTenant, durationSeconds: windowSeconds }) : null;
  if (!keyLimiter && !tenantLimiter) return null;

  return async (auth) => {
    if (auth.kind === 'ANONYMOUS') return;
    if (keyLimiter && auth.kind === 'API_KEY') {
      const limited = await take(keyLimiter, auth.apiKey.id, logger);
      if (limited) throw rateLimited(retryAfterSeconds(limited));
    }
    if (tenantLimiter) {
      const limited = await take(tenantLimiter, auth.tenantId, logger);
      if (limited) throw rateLimited(retryAfterSeconds(limited));
    }
  };
}

/** Place after useAuth: it reads `context.auth`. */
export function useRateLimits(check: RateLimitCheck | null): Plugin<AuthContext & ServerContext> {
  if (!check) return {};
  return {
    async onContextBuilding({ context }) {
      // The upstream lane counted this request already and was refused (gateway/upstream-lane.ts).
      const handedOver = context.laneHandoff;
      if (handedOver && 'rateLimitRefusal' in handedOver) throw handedOver.rateLimitRefusal;
      await check(context.auth);
    },
  };
}
