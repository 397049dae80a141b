/**
 * The hardening settings (KEYGATE_* environment variables), validated with the rest of the
 * configuration in config.ts. Every limit has a default that a normal client never meets;
 * README-SECURITY.md lists them all with what they protect against.
 */
import { z } from 'zod';
import { wholeNumber } from '../lib/env-settings.js';

const int = wholeNumber;

/** `*` or a comma-separated list of origins (`https://app.example.com`, no path). */
const origins = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
  .superRefine((list, ctx) => {
    for (const entry of list) {
      if (entry !== '*' && !isOrigin(entry)) {
        ctx.addIssue({ code: 'custom', message: `"${entry}" is not an origin (scheme://host[:port], or *)` });
      }
    }
  });

export const securitySettings = {
  /** Deepest selection nesting an operation may have. */
  KEYGATE_MAX_DEPTH: int(1, 1000).default(10),
  /** GraphQL Armor's cost estimate (objects, scalars, nesting, `first`/`last`). */
  KEYGATE_MAX_COST: int(1, 100_000_000).default(20_000),
  KEYGATE_MAX_ALIASES: int(0, 10_000).default(15),
  KEYGATE_MAX_DIRECTIVES: int(0, 10_000).default(50),
  /** Lexical tokens in the document; bounds parser work before anything else runs. */
  KEYGATE_MAX_TOKENS: int(1, 1_000_000).default(2_000),
  /** Operations in one batched (JSON array) request; 0 turns batching off. */
  KEYGATE_MAX_BATCH_SIZE: int(0, 1_000).default(10),
  /** HTTP request body, checked on Content-Length and, where Node's parser does not enforce that, while the body streams in (body-limit.ts). */
  KEYGATE_MAX_BODY_BYTES: int(1_024, 100 * 1024 * 1024).default(1024 * 1024),
  /** Nesting of JSON values sent to triggerWorkflow/deliverData. */
  KEYGATE_MAX_PAYLOAD_DEPTH: int(1, 1_000).default(64),
  /** Browser origins allowed by CORS. Empty: no cross-origin browser access. */
  KEYGATE_CORS_ORIGINS: origins.optional().transform((v) => v ?? []),
  /** Requests per window per API key; 0 = unlimited. */
  KEYGATE_RATE_LIMIT_PER_KEY: int(0, 1_000_000_000).default(0),
  /** Requests per window per tenant (every key and session of it); 0 = unlimited. */
  KEYGATE_RATE_LIMIT_PER_TENANT: int(0, 1_000_000_000).default(0),
  KEYGATE_RATE_LIMIT_WINDOW_SECONDS: int(1, 86_400).default(60),
  /** Failed credential attempts (401s, failed signIn) per client address per window; 0 = off. */
  KEYGATE_AUTH_FAILURE_LIMIT: int(0, 1_000_000).default(20),
  KEYGATE_AUTH_FAILURE_WINDOW_SECONDS: int(1, 86_400).default(900),
  /** Shared store for the counters, so that several instances count together. */
  KEYGATE_REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
    .optional(),
  KEYGATE_REDIS_KEY_PREFIX: z.string().min(1).max(100).default('keygate'),
};

type SecuritySettings = z.infer<z.ZodObject<typeof securitySettings>> & { KEYGATE_MAX_PAYLOAD_BYTES: number };

/** Cross-setting rules, run after each setting parsed on its own. */
export function checkSecuritySettings(e: SecuritySettings, ctx: z.RefinementCtx) {
  if (e.KEYGATE_MAX_BODY_BYTES < e.KEYGATE_MAX_PAYLOAD_BYTES) {
    ctx.addIssue({
      code: 'custom',
      path: ['KEYGATE_MAX_BODY_BYTES'],
      message: `must be at least KEYGATE_MAX_PAYLOAD_BYTES (${e.KEYGATE_MAX_PAYLOAD_BYTES}), or payloads of the allowed size could never arrive`,
    });
  }
}

export function securityConfig(e: SecuritySettings) {
  return {
    queryLimits: {
      maxDepth: e.KEYGATE_MAX_DEPTH,
      maxCost: e.KEYGATE_MAX_COST,
      maxAliases: e.KEYGATE_MAX_ALIASES,
      maxDirectives: e.KEYGATE_MAX_DIRECTIVES,
      maxTokens: e.KEYGATE_MAX_TOKENS,
    },
    maxBatchSize: e.KEYGATE_MAX_BATCH_SIZE,
    maxBodyBytes: e.KEYGATE_MAX_BODY_BYTES,
    maxPayloadDepth: e.KEYGATE_MAX_PAYLOAD_DEPTH,
    corsOrigins: e.KEYGATE_CORS_ORIGINS,
    rateLimits: {
      perKey: e.KEYGATE_RATE_LIMIT_PER_KEY,
      perTenant: e.KEYGATE_RATE_LIMIT_PER_TENANT,
      windowSeconds: e.KEYGATE_RATE_LIMIT_WINDOW_SECONDS,
    },
    authFailures: {
      limit: e.KEYGATE_AUTH_FAILURE_LIMIT,
      windowSeconds: e.KEYGATE_AUTH_FAILURE_WINDOW_SECONDS,
    },
    redis: e.KEYGATE_REDIS_URL ? { url: e.KEYGATE_REDIS_URL, keyPrefix: e.KEYGATE_REDIS_KEY_PREFIX } : null,
  };
}

function isOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === text;
  } catch {
    return false;
  }
}
