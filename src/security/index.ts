/**
 * The hardening layer, assembled from the configuration for createApp: plugins that run
 * before authentication (CSRF, the failed-credential throttle, query limits, introspection,
 * codes for variable errors),
 * after it (rate limits per key and tenant), and Yoga's own limits (batching, body size,
 * CORS). One module per concern sits next to this file; README-SECURITY.md lists every
 * setting.
 */
import type { Plugin } from 'graphql-yoga';
import type { Config } from '../config.js';
import type { Logger } from '../lib/logger.js';
import { useRequestBodyLimit } from './body-limit.js';
import { corsOptions, useVaryByOrigin } from './cors.js';
import { useRequestParseErrors } from './request-parse-errors.js';
import { createCredentialFailures, useCredentialThrottle } from './credential-throttle.js';
import { useCsrfPrevention } from './csrf.js';
import { useVariableErrorCodes } from './input-errors.js';
import { useIntrospectionPolicy } from './introspection.js';
import { useNoNulCharacters } from './nul-characters.js';
import { useBatchStatus } from './batch-status.js';
import { createLimiterStore } from './limiter-store.js';
import { useQueryLimits } from './query-limits.js';
import { createRateLimitCheck, useRateLimits } from './rate-limit.js';

export { isDatabaseUnavailable, isMissingReference } from './database-faults.js';
export { useReadiness } from './readiness.js';

export function createSecurity(config: Config, logger: Logger) {
  const store = createLimiterStore({ redis: config.redis, logger });
  const rateLimitCheck = createRateLimitCheck({ ...config.rateLimits, store, logger });
  const credentialFailures = createCredentialFailures({ ...config.authFailures, store, logger });
  return {
    beforeAuth: [
      useRequestParseErrors(),
      useBatchStatus(),
      useCsrfPrevention(),
      useCredentialThrottle({ ...config.authFailures, trustedProxies: config.trustedProxies, store, logger }, credentialFailures),
      useQueryLimits(config.queryLimits, { hideSuggestions: !config.introspection }),
      ...useIntrospectionPolicy({ introspection: config.introspection }),
      useVariableErrorCodes(),
      useNoNulCharacters(),
      ...useVaryByOrigin(config.corsOrigins),
    ] as Plugin[],
    // The body limit last: it wraps whichever request parser the plugins before it selected.
    afterAuth: [useRateLimits(rateLimitCheck), useRequestBodyLimit(config.maxBodyBytes)] as Plugin[],
    /** The same counters for requests outside GraphQL (/auth/verify). */
    rateLimitCheck,
    credentialFailures,
    yogaOptions: {
      batching: config.maxBatchSize > 0 ? { limit: config.maxBatchSize } : false,
      // Enforced by useRequestBodyLimit instead, with the same checks (see body-limit.ts).
      maxRequestBodySize: false as const,
      cors: corsOptions(config.corsOrigins),
      // No Upload scalar: a multipart request's file would reach a JSON argument as the
      // server's own File object (and be stored as such). Refused with 415 instead.
      multipart: false,
    },
    /** The counters' store, shared with the cost budgets (modules/key-controls/cost-budget.ts). */
    store,
    /** Settles once the counters' store (Redis) is connected or has failed to connect. */
    ready: store.ready,
    /** Closes the Redis connection, if any. */
    close: () => store.close(),
  };
}
