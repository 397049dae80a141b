/**
 * Every setting keygate reads, validated once at start. A bad value stops the process
 * with one line naming the variable and what is wrong (see `ConfigError`).
 */
import { z } from 'zod';
import { wholeNumber } from './lib/env-settings.js';
import { hiddenRandomBits, MIN_HIDDEN_RANDOM_BITS, parseKeyFormat, SESSION_TOKEN_PREFIX, type KeyFormat } from './auth/credentials.js';
import { characterCount } from './lib/validate.js';
import { parseAddressRange } from './lib/ip.js';
import { decode32ByteKey } from './lib/key-material.js';
import { parseLeakReportPublicKeys } from './lib/leak-report-keys.js';
import { checkSecuritySettings, securityConfig, securitySettings } from './security/settings.js';

/** The longest any instance may serve a verified key from memory (bounds cross-instance retries too). */
export const MAX_KEY_CACHE_TTL_MS = 10 * 60_000;
/** The longest any instance may serve a verified session from memory. */
export const MAX_SESSION_CACHE_TTL_MS = 60_000;

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const int = wholeNumber;
const list = z.string().transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean));

/** What the drivers would refuse later with an unexpected error, refused here naming DATABASE_URL. */
function checkDatabaseUrl(url: string, context: z.RefinementCtx): void {
  if (url.startsWith('file:')) {
    const path = url.slice('file:'.length);
    if (path.includes('?')) context.addIssue({ code: 'custom', message: 'takes no ?parameters: file: and a path' });
    else if (path === ':memory:') context.addIssue({ code: 'custom', message: 'must name a file: an in-memory database would lose everything at each start' });
    return;
  }
  if (!URL.canParse(url)) context.addIssue({ code: 'custom', message: 'is not a valid postgresql:// URL (user, host, port and database name; percent-encode special characters of the password)' });
}

const schema = z.object({
  NODE_ENV: z.string().default('development'),
  PORT: int(1, 65535).default(4000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: z
    .string()
    .regex(/^(file:.|postgres(ql)?:\/\/)/, 'must start with file: and a path (SQLite) or postgresql:// (PostgreSQL)')
    .superRefine(checkDatabaseUrl)
    .default('file:./data/keygate.db'),
  KEYGATE_ADMIN_EMAIL: z.string().email().default('admin@keygate.local'),
  KEYGATE_ADMIN_PASSWORD: z.string().refine((password) => characterCount(password) >= 12, 'must be at least 12 characters').optional(),
  KEYGATE_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** Template for new API keys; see auth/credentials.ts for the syntax. */
  KEYGATE_KEY_FORMAT: z.string().default('kg_{base62:40}{checksum}'),
  KEYGATE_KEY_PREFIX_LENGTH: int(4, 64).default(16),
  KEYGATE_EXPIRING_SOON_DAYS: int(1, 365).default(7),
  KEYGATE_SESSION_TTL_MINUTES: int(1, 60 * 24 * 90).default(60 * 12),
  /** Addresses/CIDRs of reverse proxies whose X-Forwarded-For is believed. Empty: never read it. */
  KEYGATE_TRUSTED_PROXIES: list.optional().transform((v) => v ?? []),
  /** How long a verified key may be served from memory before the database is asked again. */
  KEYGATE_KEY_CACHE_TTL_MS: int(0, MAX_KEY_CACHE_TTL_MS).default(30_000),
  KEYGATE_KEY_CACHE_MAX_ENTRIES: int(0, 10_000_000).default(100_000),
  /**
   * How long a verified session may be served from memory. Short: a change made by another
   * process without a channel to this one (a CLI run on SQLite) applies within this time.
   */
  KEYGATE_SESSION_CACHE_TTL_MS: int(0, MAX_SESSION_CACHE_TTL_MS).default(5_000),
  /** lastUsedAt/lastUsedIp are coalesced in memory and written at most once per key per interval. */
  KEYGATE_LAST_USED_FLUSH_MS: int(100, 60_000).default(30_000),
  /** Count requests per key and hour (ApiKey.usage). Off only to measure what counting costs. */
  KEYGATE_USAGE_COUNTING: bool.default(true),
  /** Public keys of leak reporters (GitHub secret scanning): JSON or a file path; see lib/leak-report-keys.ts. */
  KEYGATE_LEAK_REPORT_PUBLIC_KEYS: z.string().optional(),
  KEYGATE_MAX_PAYLOAD_BYTES: int(1, 10 * 1024 * 1024).default(256 * 1024),
  KEYGATE_GRAPHIQL: bool.optional(),
  // Webhooks (see README "Webhooks"): delivery schedule, limits and the key that encrypts signing secrets.
  KEYGATE_WEBHOOK_SECRET_KEY: z
    .string()
    .refine((text) => decode32ByteKey(text) !== null, 'must be 32 bytes, base64 or 64 hex digits (e.g. `openssl rand -base64 32`)')
    .optional(),
  KEYGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS: bool.default(false),
  KEYGATE_WEBHOOK_MAX_ATTEMPTS: int(1, 100).default(10),
  KEYGATE_WEBHOOK_RETRY_BASE_MS: int(1, 24 * 3600_000).default(30_000),
  KEYGATE_WEBHOOK_RETRY_MAX_MS: int(1, 7 * 24 * 3600_000).default(3600_000),
  KEYGATE_WEBHOOK_TIMEOUT_MS: int(100, 120_000).default(10_000),
  KEYGATE_WEBHOOK_POLL_MS: int(10, 60_000).default(1_000),
  KEYGATE_WEBHOOK_CONCURRENCY: int(1, 1000).default(16),
  KEYGATE_WEBHOOK_SWEEP_MS: int(100, 24 * 3600_000).default(60_000),
  KEYGATE_INTROSPECTION: bool.optional(),
  /** The web console at /console (on by default, in production too: it is what admins use). */
  KEYGATE_CONSOLE: bool.default(true),
  /** Gateway mode: a JSON file listing the upstream GraphQL services (README "Gateway mode"). */
  KEYGATE_UPSTREAMS: z.string().optional(),
  /** An Ed25519 private key (PKCS#8 PEM) that signs principal tokens; else one is kept in the database. */
  KEYGATE_SIGNING_KEY: z.string().optional(),
  /** Encrypts the signing key kept in the database. Required in production when that key is used. */
  KEYGATE_SIGNING_KEY_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** How long a principal token (X-Keygate-Principal) is valid. */
  KEYGATE_PRINCIPAL_TOKEN_TTL_SECONDS: int(5, 3600).default(60),
  ...securitySettings,
}).superRefine(checkSecuritySettings);

export type Config = ReturnType<typeof loadConfig>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`invalid setting ${String(issue.path[0])}: ${issue.message}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  const keyFormat = checked('KEYGATE_KEY_FORMAT', () => apiKeyFormat(e.KEYGATE_KEY_FORMAT));
  return {
    production,
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    adminEmail: e.KEYGATE_ADMIN_EMAIL,
    adminPassword: e.KEYGATE_ADMIN_PASSWORD,
    logLevel: e.KEYGATE_LOG_LEVEL,
    keyFormat,
    keyPrefixLength: checked('KEYGATE_KEY_PREFIX_LENGTH', () => prefixLengthFor(keyFormat, e.KEYGATE_KEY_PREFIX_LENGTH)),
    expiringSoonMs: e.KEYGATE_EXPIRING_SOON_DAYS * 24 * 3600_000,
    sessionTtlMs: e.KEYGATE_SESSION_TTL_MINUTES * 60_000,
    trustedProxies: e.KEYGATE_TRUSTED_PROXIES.map((entry) =>
      checked('KEYGATE_TRUSTED_PROXIES', () => parseAddressRange(entry)),
    ),
    keyCacheTtlMs: e.KEYGATE_KEY_CACHE_TTL_MS,
    keyCacheMaxEntries: e.KEYGATE_KEY_CACHE_MAX_ENTRIES,
    sessionCacheTtlMs: e.KEYGATE_SESSION_CACHE_TTL_MS,
    lastUsedFlushMs: e.KEYGATE_LAST_USED_FLUSH_MS,
    usageCounting: e.KEYGATE_USAGE_COUNTING,
    leakReportPublicKeys: checked('KEYGATE_LEAK_REPORT_PUBLIC_KEYS', () => parseLeakReportPublicKeys(e.KEYGATE_LEAK_REPORT_PUBLIC_KEYS)),
    maxPayloadBytes: e.KEYGATE_MAX_PAYLOAD_BYTES,
    graphiql: e.KEYGATE_GRAPHIQL ?? !production,
    webhooks: {
      secretKey: e.KEYGATE_WEBHOOK_SECRET_KEY,
      allowPrivateNetworks: e.KEYGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS,
      maxAttempts: e.KEYGATE_WEBHOOK_MAX_ATTEMPTS,
      retryBaseMs: e.KEYGATE_WEBHOOK_RETRY_BASE_MS,
      retryMaxMs: e.KEYGATE_WEBHOOK_RETRY_MAX_MS,
      timeoutMs: e.KEYGATE_WEBHOOK_TIMEOUT_MS,
      pollMs: e.KEYGATE_WEBHOOK_POLL_MS,
      concurrency: e.KEYGATE_WEBHOOK_CONCURRENCY,
      sweepMs: e.KEYGATE_WEBHOOK_SWEEP_MS,
    },
    introspection: e.KEYGATE_INTROSPECTION ?? !production,
    console: e.KEYGATE_CONSOLE,
    gateway: {
      upstreamsFile: e.KEYGATE_UPSTREAMS ?? null,
      signingKeyPem: e.KEYGATE_SIGNING_KEY?.replace(/\\n/g, '\n') ?? null,
      signingKeySecret: e.KEYGATE_SIGNING_KEY_SECRET ?? null,
      tokenTtlSeconds: e.KEYGATE_PRINCIPAL_TOKEN_TTL_SECONDS,
    },
    ...securityConfig(e),
  };
}

let loaded: Config | undefined;

/** The process's configuration, read from the environment on first use. */
export function getConfig(): Config {
  return (loaded ??= loadConfig());
}

/** The key format, which must not make keys that read as session tokens (those are tried first, and would never work). */
function apiKeyFormat(template: string): KeyFormat {
  if (template.startsWith(SESSION_TOKEN_PREFIX)) throw new Error(`keys must not start with "${SESSION_TOKEN_PREFIX}", the prefix of session tokens`);
  return parseKeyFormat(template);
}

/** A prefix length that shows enough of each key to tell keys apart, and keeps enough of it hidden. */
function prefixLengthFor(format: KeyFormat, length: number): number {
  const hidden = hiddenRandomBits(format, length);
  if (hidden < MIN_HIDDEN_RANDOM_BITS) {
    throw new Error(`a prefix of ${length} characters leaves only ${Math.floor(hidden)} random bits of a key hidden; at least ${MIN_HIDDEN_RANDOM_BITS} must stay hidden (the prefix is stored and shown)`);
  }
  return length;
}

function checked<T>(variable: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new ConfigError(`invalid setting ${variable}: ${(error as Error).message}`);
  }
}
