/**
 * Cross-instance invalidation of the verification cache on PostgreSQL, through
 * LISTEN/NOTIFY on one channel (`keygate_key_changes`). Every change published on this
 * instance (publishKeyChange, after its transaction committed) is sent as
 * `NOTIFY keygate_key_changes, '<JSON KeyChange>'`; every instance LISTENs and evicts what
 * the change names. An instance also hears its own notifications: evicting twice is
 * harmless, and not filtering them keeps the code free of instance ids.
 *
 * It uses raw `pg` connections, not Prisma: LISTEN needs one long-lived session that the
 * Prisma pool would neither keep nor report the loss of.
 *
 * ## Staleness bound: how long another instance may still accept a key after it was revoked,
 * rotated, edited, or its group or tenant changed
 *
 * - Listener connected: the NOTIFY round trip, milliseconds. PostgreSQL delivers a
 *   notification to every session listening when it is sent.
 * - Listener connection lost (error, end, or a heartbeat that fails or hangs): the cache is
 *   cleared and bypassed, so every request reads the database, until LISTEN is active again
 *   (reconnect with exponential backoff). Fail-closed: nothing read before the loss is served
 *   after it. A connection that dies silently (no FIN, no error) is noticed by the heartbeat,
 *   so changes missed during that time are served stale for at most
 *   `heartbeatIntervalMs + heartbeatTimeoutMs` (default 5 s + 2 s).
 * - The NOTIFY itself cannot be sent (this instance lost the database just after the
 *   commit): it is retried with backoff for `retryForMs` (the longest cache TTL an instance
 *   may have); after that every entry read before the change has expired anyway.
 *
 * In every case the bound is at most KEYGATE_KEY_CACHE_TTL_MS, the cache's own TTL.
 *
 * Sessions (session-cache.ts) have the same bridge on their own channel
 * (`keygate_session_changes`, startPgSessionInvalidation), with the same bounds and
 * KEYGATE_SESSION_CACHE_TTL_MS in place of the key cache's TTL.
 */
import pg from 'pg';
import type { Logger } from '../lib/logger.js';
import { onKeyChange, onSessionChange } from './invalidation.js';
import type { KeyChange, VerifiedCache } from './key-cache.js';
import { parseSessionChange, type SessionChange } from './session-cache.js';
import { parseIdChange } from './change-payload.js';

export const KEY_CHANGES_CHANNEL = 'keygate_key_changes';
/** Sessions have their own channel, listener and cache, with the same bounds as keys. */
export const SESSION_CHANGES_CHANNEL = 'keygate_session_changes';

/** The part of a verified cache the bridge drives. */
type InvalidatedCache<Change> = Pick<VerifiedCache<unknown, Change>, 'suspend' | 'resume' | 'invalidate' | 'clear'>;

export type PgInvalidationOptions<Change> = {
  connectionString: string;
  cache: InvalidatedCache<Change>;
  logger: Logger;
  /**
   * How long a NOTIFY that cannot be sent is retried: the staleness bound in that case.
   * Use the longest cache TTL any instance may have: after it, no instance holds an entry
   * older than the change.
   */
  retryForMs: number;
  channel: string;
  /** Where local changes come from; each is sent to every instance. */
  subscribe: (listener: (change: Change) => void) => () => void;
  /** A notification's payload → the change, or null when unreadable. */
  parse: (payload: string | undefined) => Change | null;
  /** What changes are about, for log lines: `key` or `session`. */
  subject: string;
  /** @default 5000 */
  heartbeatIntervalMs?: number;
  /** A heartbeat slower than this counts as a lost connection. @default 2000 */
  heartbeatTimeoutMs?: number;
  /** First reconnect delay; doubles per failed attempt up to `maxReconnectDelayMs`. @default 100 */
  reconnectDelayMs?: number;
  /** @default 5000 */
  maxReconnectDelayMs?: number;
  /** Shown in pg_stat_activity. @default 'keygate-<subject>-invalidation' */
  applicationName?: string;
};

export type PgKeyInvalidationOptions = Omit<PgInvalidationOptions<KeyChange>, 'channel' | 'subscribe' | 'parse' | 'subject'> & {
  /** @default 'keygate_key_changes' */
  channel?: string;
  /** @default onKeyChange (src/auth/invalidation.ts) */
  subscribe?: (listener: (change: KeyChange) => void) => () => void;
};

export type PgSessionInvalidationOptions = Omit<PgInvalidationOptions<SessionChange>, 'channel' | 'subscribe' | 'parse' | 'subject'> & {
  /** @default 'keygate_session_changes' */
  channel?: string;
  /** @default onSessionChange (src/auth/invalidation.ts) */
  subscribe?: (listener: (change: SessionChange) => void) => () => void;
};

export type PgInvalidation<Change> = {
  /** Resolves when LISTEN is first active (never rejects; the cache stays bypassed until then). */
  readonly ready: Promise<void>;
  /** Whether this instance hears other instances' changes right now. */
  readonly listening: boolean;
  /** Sends a change to every instance, this one included. */
  notify(change: Change): Promise<void>;
  /** Stops listening, waits (briefly) for NOTIFYs still being sent, closes the connections. */
  stop(): Promise<void>;
};

const STOP_GRACE_MS = 2_000;

export type PgKeyInvalidation = PgInvalidation<KeyChange>;

export function startPgKeyInvalidation(options: PgKeyInvalidationOptions): PgKeyInvalidation {
  return startPgInvalidation({ ...options, channel: options.channel ?? KEY_CHANGES_CHANNEL, subscribe: options.subscribe ?? onKeyChange, parse: parseChange, subject: 'key' });
}

/** The same bridge for the verified-session cache (session-cache.ts), on its own channel. */
export function startPgSessionInvalidation(options: PgSessionInvalidationOptions): PgInvalidation<SessionChange> {
  return startPgInvalidation({
    ...options,
    channel: options.channel ?? SESSION_CHANGES_CHANNEL,
    subscribe: options.subscribe ?? onSessionChange,
    parse: parseSessionChange,
    subject: 'session',
  });
}

export function startPgInvalidation<Change>(options: PgInvalidationOptions<Change>): PgInvalidation<Change> {
  const { channel, subject } = options;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 5_000;
  const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 2_000;
  const reconnectDelayMs = options.reconnectDelayMs ?? 100;
  const maxReconnectDelayMs = options.maxReconnectDelayMs ?? 5_000;
  const applicationName = options.applicationName ?? `keygate-${subject}-invalidation`;
  const { cache, logger } = options;

  let listener: pg.Client | null = null;
  let heartbeat: NodeJS.Timeout | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let failedAttempts = 0;
  let stopped = false;
  const pendingNotifies = new Set<Promise<void>>();
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  // Until LISTEN is active this instance could miss a change, so it caches nothing.
  cache.suspend();

  // Idle connections are kept (idleTimeoutMillis 0) and one is opened now: a revoke should
  // not wait for a TCP and authentication handshake before the other instances hear of it.
  const notifier = new pg.Pool({ connectionString: options.connectionString, max: 2, idleTimeoutMillis: 0, application_name: `${applicationName}-notify` });
  // An idle pooled connection that dies emits here; without a handler it would crash the process.
  notifier.on('error', (error) => logger.warn(`${subject}-change notifier connection lost`, { error: error.message }));
  notifier.query('SELECT 1').catch(() => {});

  async function connect(): Promise<void> {
    reconnectTimer = undefined;
    if (stopped) return;
    const client = new pg.Client({ connectionString: options.connectionString, application_name: applicationName, keepAlive: true });
    client.on('notification', (message) => {
      if (message.channel === channel) applyNotification(message.payload);
    });
    client.on('error', (error) => lost(client, error));
    client.on('end', () => lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    } catch (error) {
      client.end().catch(() => {});
      logger.warn(`cannot listen for ${subject} changes; the ${subject} cache stays off`, { error: (error as Error).message });
      scheduleReconnect();
      return;
    }
    if (stopped) {
      await client.end().catch(() => {});
      return;
    }
    listener = client;
    failedAttempts = 0;
    cache.resume();
    heartbeat = setInterval(() => void checkHeartbeat(client), heartbeatIntervalMs).unref();
    logger.info(`listening for ${subject} changes`, { channel });
    markReady();
  }

  function lost(client: pg.Client, error?: Error): void {
    if (client !== listener) return; // a connection that never became the listener, or already handled
    listener = null;
    clearInterval(heartbeat);
    // Fail closed: changes sent while we are not listening would go unheard.
    cache.suspend();
    client.end().catch(() => {});
    if (stopped) return;
    logger.warn(`lost the ${subject}-change listener; ${subject} cache off until it is back`, { error: error?.message });
    scheduleReconnect();
  }

  function scheduleReconnect(): void {
    if (stopped || reconnectTimer) return;
    const delay = Math.min(maxReconnectDelayMs, reconnectDelayMs * 2 ** failedAttempts);
    failedAttempts++;
    reconnectTimer = setTimeout(() => void connect(), delay);
    reconnectTimer.unref();
  }

  async function checkHeartbeat(client: pg.Client): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`heartbeat took longer than ${heartbeatTimeoutMs} ms`)), heartbeatTimeoutMs);
    });
    try {
      await Promise.race([client.query('SELECT 1'), timeout]);
    } catch (error) {
      lost(client, error as Error);
    } finally {
      clearTimeout(timer);
    }
  }

  function applyNotification(payload: string | undefined): void {
    const change = options.parse(payload);
    if (change) {
      // Not publishKeyChange/publishSessionChange: that would send the change out again, to
      // every instance, forever.
      cache.invalidate(change);
    } else {
      // Something we do not understand may still concern a cached entry: forget them all.
      logger.warn(`unreadable ${subject}-change notification; clearing the ${subject} cache`);
      cache.clear();
    }
  }

  async function send(change: Change): Promise<void> {
    const payload = JSON.stringify(change);
    const giveUpAt = Date.now() + options.retryForMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await notifier.query('SELECT pg_notify($1, $2)', [channel, payload]);
        return;
      } catch (error) {
        if (stopped || Date.now() >= giveUpAt) {
          logger.error(`could not tell other instances about a ${subject} change; they may serve it stale until their cache TTL`, { change, error: (error as Error).message });
          return;
        }
        await sleep(Math.min(maxReconnectDelayMs, reconnectDelayMs * 2 ** attempt));
      }
    }
  }

  function notify(change: Change): Promise<void> {
    const sending = send(change).finally(() => pendingNotifies.delete(sending));
    pendingNotifies.add(sending);
    return sending;
  }

  const unsubscribe = options.subscribe((change) => void notify(change));
  void connect();

  return {
    ready,
    get listening() {
      return listener !== null;
    },
    notify,
    async stop() {
      if (stopped) return;
      unsubscribe();
      await Promise.race([Promise.allSettled([...pendingNotifies]), sleep(STOP_GRACE_MS)]);
      stopped = true;
      clearTimeout(reconnectTimer);
      clearInterval(heartbeat);
      const client = listener;
      listener = null;
      cache.suspend();
      await Promise.allSettled([client?.end(), notifier.end()]);
    },
  };
}

/** A KeyChange, or null for anything else: the payload crossed a process boundary. */
export function parseChange(payload: string | undefined): KeyChange | null {
  return parseIdChange(payload, ['keyId', 'authorizationGroupId', 'tenantId']);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
