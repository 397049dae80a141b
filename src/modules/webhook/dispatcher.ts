/**
 * The dispatcher: turns outbox messages into deliveries (fan-out) and makes their HTTP
 * attempts, at least once, until the endpoint answers 2xx or the attempts run out.
 *
 * - Claims are leases: a delivery is claimed by setting `lockedUntil`/`lockedBy` and raising
 *   `attemptCount` in one statement, so each attempt number is claimed once. On PostgreSQL
 *   the candidates are selected `FOR UPDATE SKIP LOCKED`: instances sharing the database
 *   take different rows and never wait on each other. SQLite has a single dispatcher (one
 *   per process, and SQLite deployments are one process); its transactions are IMMEDIATE.
 * - A lease outlives the attempt's timeout: if an instance dies mid-attempt, another takes the
 *   delivery once the lease has passed (the receiver may see that attempt twice: webhook-id
 *   stays the same, so it can deduplicate).
 * - Every attempt is recorded; retries wait exponentially longer, with jitter.
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { getConfig, type Config } from '../../config.js';
import { db, isSqliteUrl } from '../../db.js';
import { newId } from '../../db/ids.js';
import type { WebhookDelivery, WebhookEndpoint, WebhookMessage } from '../../generated/prisma/client.js';
import type { Logger } from '../../lib/logger.js';
import { isUniqueViolation } from '../../lib/validate.js';
import { listensTo } from './endpoint.service.js';
import { purgeExpiredIdempotencyRecords } from './idempotency.js';
import { enqueueEvent, apiKeyEventData } from './events.js';
import { outboxSignal } from './outbox.js';
import { publishRunUpdate } from './run-updates.js';
import { decryptSecretOrNull, encryptionKey, encryptionKeySource, undecryptableSecretMessage } from './secrets.js';
import { sendSigned, type AttemptOutcome } from './sender.js';

export type DispatcherOptions = {
  config?: Config;
  logger?: Logger;
  /** Names this instance in leases (lockedBy); random by default. */
  instanceId?: string;
};

const BATCH = 100;
const LEASE_MARGIN_MS = 30_000;
/** expired events are not sent for keys that expired longer ago than this (first deployment). */
/** Keys announced per sweep and kind; the rest go out at the next sweeps. */
const EXPIRY_BATCH = 500;
const EXPIRED_LOOKBACK_MS = 7 * 24 * 3600_000;

let runningOnSqlite: WebhookDispatcher | null = null;

/** The delay before attempt `attempt + 1`: exponential, capped, with "equal jitter". */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + (random() * exponential) / 2);
}

type Claimed = WebhookDelivery & { message: WebhookMessage; endpoint: WebhookEndpoint | null };

export class WebhookDispatcher {
  readonly instanceId: string;
  private readonly config: Config;
  private readonly logger: Logger | undefined;
  private readonly sqlite: boolean;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | null = null;
  private again = false;
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();
  private readonly wake = () => this.schedule(0);

  constructor(options: DispatcherOptions = {}) {
    this.config = options.config ?? getConfig();
    this.logger = options.logger;
    this.instanceId = options.instanceId ?? `dispatcher-${randomUUID()}`;
    this.sqlite = isSqliteUrl(this.config.databaseUrl);
    setMaxListeners(0, this.abort.signal); // one listener per attempt in flight
  }

  start(): this {
    if (this.running) return this;
    if (this.sqlite) {
      if (runningOnSqlite) throw new Error('SQLite has one webhook dispatcher per process; one is running already');
      runningOnSqlite = this;
    }
    this.running = true;
    outboxSignal.on('written', this.wake);
    this.schedule(0);
    this.sweepTimer = setInterval(() => void this.sweep(), this.config.webhooks.sweepMs);
    this.sweepTimer.unref();
    void this.sweep();
    this.checkSecretKey().catch(() => {});
    return this;
  }

  /**
   * Stops claiming; attempts under way are interrupted (recorded as failed attempts, retried
   * later by whichever dispatcher runs next) and awaited, so no lease is left behind.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    outboxSignal.off('written', this.wake);
    clearTimeout(this.timer);
    clearInterval(this.sweepTimer);
    this.abort.abort();
    await this.ticking;
    await Promise.allSettled([...this.inFlight.values()]);
    if (runningOnSqlite === this) runningOnSqlite = null;
  }

  /** Resolves once nothing is due or under way (for tests and benchmarks). */
  async idle(): Promise<void> {
    while (this.running && (this.ticking || this.inFlight.size > 0)) {
      await Promise.allSettled([this.ticking, ...this.inFlight.values()]);
    }
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.ticking = this.work().catch((error: unknown) => {
      this.logger?.warn('webhook dispatcher tick failed', { error: error instanceof Error ? error.message : String(error) });
    });
    await this.ticking;
    this.ticking = null;
    const more = this.again;
    this.again = false;
    this.schedule(more ? 0 : this.config.webhooks.pollMs);
  }

  private async work(): Promise<void> {
    while (this.running) {
      const fanned = await this.fanOut();
      const room = this.config.webhooks.concurrency - this.inFlight.size;
      const claimed = room > 0 ? await this.claim(room) : [];
      for (const delivery of claimed) this.begin(delivery);
      if (fanned < BATCH && claimed.length < room) return;
      if (room <= 0) return;
    }
  }

  private begin(delivery: Claimed): void {
    const attempt = this.attempt(delivery)
      .catch((error: unknown) => {
        this.logger?.error('webhook attempt could not be recorded', { deliveryId: delivery.id, error: error instanceof Error ? error.message : String(error) });
      })
      .finally(() => {
        this.inFlight.delete(delivery.id);
        this.schedule(0);
      });
    this.inFlight.set(delivery.id, attempt);
  }

  // ---- fan-out: messages → deliveries -------------------------------------------------

  private async fanOut(): Promise<number> {
    // A plain read first: an idle outbox costs no write transaction (on SQLite, no write lock).
    if (!(await db.webhookMessage.findFirst({ where: { fannedOutAt: null }, select: { id: true } }))) return 0;
    return db.$transaction(async (tx) => {
      const ids = this.sqlite
        ? (await tx.webhookMessage.findMany({ where: { fannedOutAt: null }, orderBy: { createdAt: 'asc' }, take: BATCH, select: { id: true } })).map((m) => m.id)
        : (
            await tx.$queryRawUnsafe<{ id: string }[]>(
              `SELECT id FROM "WebhookMessage" WHERE "fannedOutAt" IS NULL ORDER BY "createdAt" LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
            )
          ).map((m) => m.id);
      if (ids.length === 0) return 0;
      const messages = await tx.webhookMessage.findMany({ where: { id: { in: ids } } });
      const tenants = [...new Set(messages.map((m) => m.tenantId))];
      const endpoints = await tx.webhookEndpoint.findMany({ where: { tenantId: { in: tenants } }, include: { projects: { select: { projectId: true } } } });
      const now = new Date();
      const deliveries = messages.flatMap((message) =>
        recipients(message, endpoints).map((endpoint) => ({
          id: newId(),
          tenantId: message.tenantId,
          messageId: message.id,
          endpointId: endpoint.id,
          workflowRunId: message.endpointId ? message.workflowRunId : null,
          attemptLimit: this.config.webhooks.maxAttempts,
          nextAttemptAt: now,
          createdAt: now,
        })),
      );
      if (deliveries.length > 0) await tx.webhookDelivery.createMany({ data: deliveries });
      await tx.webhookMessage.updateMany({ where: { id: { in: ids } }, data: { fannedOutAt: now } });
      // A run routed to an endpoint deleted meanwhile cannot be delivered.
      const orphaned = messages.filter((m) => m.endpointId && m.workflowRunId && !endpoints.some((e) => e.id === m.endpointId));
      if (orphaned.length > 0) {
        await tx.workflowRun.updateMany({ where: { id: { in: orphaned.map((m) => m.workflowRunId!) } }, data: { status: 'FAILED' } });
      }
      return ids.length;
    });
  }

  // ---- claims ---------------------------------------------------------------------------

  private async claim(limit: number): Promise<Claimed[]> {
    const now = new Date();
    const lockedUntil = new Date(now.getTime() + this.config.webhooks.timeoutMs + LEASE_MARGIN_MS);
    const anyDue = await db.webhookDelivery.findFirst({
      where: { status: 'PENDING', nextAttemptAt: { lte: now }, OR: [{ lockedUntil: null }, { lockedUntil: { lt: now } }] },
      select: { id: true },
    });
    if (!anyDue) return [];
    const ids = await db.$transaction(async (tx) => {
      const due = this.sqlite
        ? (
            await tx.webhookDelivery.findMany({
              where: { status: 'PENDING', nextAttemptAt: { lte: now }, OR: [{ lockedUntil: null }, { lockedUntil: { lt: now } }] },
              orderBy: { nextAttemptAt: 'asc' },
              take: limit,
              select: { id: true },
            })
          ).map((d) => d.id)
        : (
            await tx.$queryRawUnsafe<{ id: string }[]>(
              `SELECT id FROM "WebhookDelivery"
                WHERE status = 'PENDING' AND "nextAttemptAt" <= $1::timestamp
                  AND ("lockedUntil" IS NULL OR "lockedUntil" < $1::timestamp)
                ORDER BY "nextAttemptAt" LIMIT ${Math.max(1, Math.floor(limit))}
                FOR UPDATE SKIP LOCKED`,
              now.toISOString(),
            )
          ).map((d) => d.id);
      if (due.length === 0) return [];
      await tx.webhookDelivery.updateMany({
        where: { id: { in: due } },
        data: { lockedUntil, lockedBy: this.instanceId, attemptCount: { increment: 1 } },
      });
      return due;
    });
    if (ids.length === 0) return [];
    return db.webhookDelivery.findMany({ where: { id: { in: ids }, lockedBy: this.instanceId }, include: { message: true, endpoint: true } });
  }

  // ---- one attempt ----------------------------------------------------------------------

  private async attempt(delivery: Claimed): Promise<void> {
    const startedAt = new Date();
    if (!delivery.endpoint) return this.record(delivery, startedAt, { httpStatus: null, error: 'the endpoint was deleted', durationMs: 0 }, true);
    const secret = this.secretOf(delivery.endpoint);
    // A failed attempt like any other, with its reason: retried later, perhaps by an instance
    // holding the right key (a rolling deploy), and FAILED after the last attempt.
    if (secret === null) return this.record(delivery, startedAt, { httpStatus: null, error: undecryptableSecretMessage(this.config), durationMs: 0 }, false);
    const outcome = await sendSigned({
      url: delivery.endpoint.url,
      messageId: delivery.message.id,
      body: JSON.stringify(delivery.message.payload),
      secrets: [secret, ...this.previousSecretOf(delivery.endpoint, startedAt)],
      timeoutMs: this.config.webhooks.timeoutMs,
      allowPrivateNetworks: this.config.webhooks.allowPrivateNetworks,
      signal: this.abort.signal,
    });
    await this.record(delivery, startedAt, outcome, false);
  }

  /**
   * The endpoint's signing secret, or null when this server's webhook key cannot decrypt it.
   * A key that cannot be read at all (an unreadable key file) throws: the attempt is then not
   * recorded, and made again once its lease passes.
   */
  private secretOf(endpoint: { id: string; secretCiphertext: string }): string | null {
    const secret = decryptSecretOrNull(endpoint.secretCiphertext, encryptionKey(this.config));
    if (secret === null) this.logger?.error('webhook delivery failed: undecryptable signing secret', { endpointId: endpoint.id, error: undecryptableSecretMessage(this.config) });
    return secret;
  }

  /**
   * The secret a rotation replaced, while its grace lasts. One this server cannot decrypt is
   * left out: the current secret alone still signs the attempt.
   */
  private previousSecretOf(endpoint: { previousSecretCiphertext: string | null; previousSecretExpiresAt: Date | null }, at: Date): string[] {
    const { previousSecretCiphertext: stored, previousSecretExpiresAt: expiresAt } = endpoint;
    if (!stored || !expiresAt || expiresAt <= at) return [];
    const secret = decryptSecretOrNull(stored, encryptionKey(this.config));
    return secret === null ? [] : [secret];
  }

  /**
   * At start: whether the newest endpoint's secret decrypts with this server's key. A database
   * restored without its key, or a changed KEYGATE_WEBHOOK_SECRET_KEY, is said once, plainly,
   * rather than only when deliveries fail.
   */
  private async checkSecretKey(): Promise<void> {
    const endpoint = await db.webhookEndpoint.findFirst({ orderBy: { createdAt: 'desc' }, select: { id: true, secretCiphertext: true } });
    if (!endpoint) return;
    if (decryptSecretOrNull(endpoint.secretCiphertext, encryptionKey(this.config)) === null) {
      this.logger?.error(`webhook signing secrets in the database cannot be decrypted with ${encryptionKeySource(this.config)}: deliveries fail until the key they were stored with is restored, or each endpoint's secret is rotated`);
    }
  }

  private async record(delivery: Claimed, startedAt: Date, outcome: AttemptOutcome, hopeless: boolean): Promise<void> {
    const succeeded = outcome.httpStatus !== null && outcome.httpStatus >= 200 && outcome.httpStatus < 300;
    const error = outcome.error ?? (succeeded ? null : `HTTP ${outcome.httpStatus}`);
    const final = succeeded || hopeless || delivery.attemptCount >= delivery.attemptLimit;
    const { retryBaseMs, retryMaxMs } = this.config.webhooks;
    const now = new Date();
    await db.$transaction(async (tx) => {
      await tx.webhookAttempt.create({
        data: {
          id: newId(),
          deliveryId: delivery.id,
          tenantId: delivery.tenantId,
          workflowRunId: delivery.workflowRunId,
          number: delivery.attemptCount,
          startedAt,
          durationMs: outcome.durationMs,
          httpStatus: outcome.httpStatus,
          error,
        },
      });
      const released = await tx.webhookDelivery.updateMany({
        where: { id: delivery.id, lockedBy: this.instanceId, attemptCount: delivery.attemptCount },
        data: {
          status: succeeded ? 'SUCCEEDED' : final ? 'FAILED' : 'PENDING',
          lockedUntil: null,
          lockedBy: null,
          lastError: error,
          deliveredAt: succeeded ? now : null,
          nextAttemptAt: final ? now : new Date(now.getTime() + retryDelayMs(delivery.attemptCount, retryBaseMs, retryMaxMs)),
        },
      });
      // Another instance took over after our lease passed: its attempt decides the status.
      if (released.count === 0) return;
      if (delivery.workflowRunId && final) {
        await tx.workflowRun.updateMany({ where: { id: delivery.workflowRunId }, data: { status: succeeded ? 'DELIVERED' : 'FAILED' } });
      }
    });
    if (delivery.workflowRunId) await publishRunUpdate(delivery.workflowRunId).catch(() => {});
  }

  // ---- periodic: key expiry events, old idempotency records ------------------------------

  private async sweep(): Promise<void> {
    if (!this.running) return;
    try {
      await this.announceKeyExpiry();
      await purgeExpiredIdempotencyRecords();
    } catch (error) {
      this.logger?.warn('webhook sweep failed', { error: error instanceof Error ? error.message : String(error) });
    }
  }

  /**
   * api_key.expiring_soon and api_key.expired, each once per key: the key records when its
   * event went out, in the event's transaction, and the sweep reads only keys not announced
   * yet (so one tenant's thousands of expiring keys cannot hold back another's). The event's
   * dedupeKey is unique too, which settles two instances sweeping at once.
   */
  async announceKeyExpiry(now = new Date()): Promise<number> {
    const soon = new Date(now.getTime() + this.config.expiringSoonMs);
    const select = { id: true, tenantId: true, organizationId: true, name: true, prefix: true, expiresAt: true, status: true } as const;
    const [expiring, expired] = await Promise.all([
      db.apiKey.findMany({ where: { status: 'ACTIVE', expiresAt: { gt: now, lte: soon }, expiringSoonAnnouncedAt: null }, select, orderBy: { expiresAt: 'asc' }, take: EXPIRY_BATCH }),
      db.apiKey.findMany({
        where: { status: 'ACTIVE', expiresAt: { lte: now, gt: new Date(now.getTime() - EXPIRED_LOOKBACK_MS) }, expiredAnnouncedAt: null },
        select,
        orderBy: { expiresAt: 'desc' },
        take: EXPIRY_BATCH,
      }),
    ]);
    const candidates = [
      ...expiring.map((key) => ({ key, type: 'api_key.expiring_soon' as const, column: 'expiringSoonAnnouncedAt' as const })),
      ...expired.map((key) => ({ key, type: 'api_key.expired' as const, column: 'expiredAnnouncedAt' as const })),
    ];
    let announced = 0;
    for (const { key, type, column } of candidates) {
      const dedupeKey = `${type}:${key.id}`;
      try {
        await db.$transaction(async (tx) => {
          await enqueueEvent(tx, { tenantId: key.tenantId, organizationId: key.organizationId, type, data: apiKeyEventData(key), dedupeKey });
          await tx.apiKey.update({ where: { id: key.id }, data: { [column]: now } });
        });
        announced++;
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        // Announced already (unique dedupeKey: another instance, or before the key recorded it): once is the point.
        await db.apiKey.updateMany({ where: { id: key.id, [column]: null }, data: { [column]: now } });
      }
    }
    if (announced > 0) this.schedule(0);
    return announced;
  }
}

/** The endpoints a message goes to: its routed endpoint, or every subscribed one in reach. */
function recipients(message: WebhookMessage, endpoints: (WebhookEndpoint & { projects: { projectId: string }[] })[]) {
  if (message.endpointId) return endpoints.filter((endpoint) => endpoint.id === message.endpointId);
  return endpoints.filter(
    (endpoint) =>
      endpoint.tenantId === message.tenantId &&
      (message.organizationId === null || endpoint.organizationId === message.organizationId) &&
      (message.projectId === null || listensTo(endpoint, message.projectId)) &&
      Array.isArray(endpoint.events) &&
      (endpoint.events as unknown[]).includes(message.eventType),
  );
}
