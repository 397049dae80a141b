/**
 * Usage counts per API key and UTC hour (`ApiKey.usage`), counted in memory and written
 * behind like lastUsedAt (last-used.ts): every request only bumps a counter; a timer writes
 * one upsert per key and hour per flush interval, and `flush()` runs once more on shutdown
 * (SIGTERM), so a restart loses nothing that was counted.
 *
 * Accepted: a request that authenticated with the key and was not refused. Rejected, by
 * reason: FORBIDDEN (an operation refused for lack of permission or scope), IP_ADDRESS
 * (outside the key's allowlist), RATE_LIMIT, BUDGET (query-cost budget) and
 * UNTRUSTED_OPERATION (a document its group does not trust). Requests whose key is unknown,
 * revoked or expired are not counted: there is no key to count them against.
 *
 * Counts are kept 90 days: every flush, at most once an hour, deletes older rows.
 *
 * Hot path: one `Date.now()`, two Map lookups and an increment; no allocation once a key has
 * its counter for the hour.
 */
import type { Db } from '../db.js';
import type { Logger } from '../lib/logger.js';

export const REJECTION_REASONS = ['FORBIDDEN', 'IP_ADDRESS', 'RATE_LIMIT', 'BUDGET', 'UNTRUSTED_OPERATION'] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/**
 * A refused request's `extensions.code` → why it counts as rejected. Errors with these codes
 * in the response of a key-authenticated request make it count as rejected, wherever in the
 * pipeline they were thrown, so refusals added later (query-cost budgets, trusted documents)
 * are counted without touching this file as long as their codes are listed here. Code that
 * refuses without such an error can call `UsageRecorder.recordRejected` directly.
 */
export const REJECTION_REASON_BY_CODE: Readonly<Record<string, RejectionReason>> = {
  FORBIDDEN: 'FORBIDDEN',
  RATE_LIMITED: 'RATE_LIMIT',
  COST_BUDGET_EXCEEDED: 'BUDGET',
  BUDGET_EXCEEDED: 'BUDGET',
  OPERATION_NOT_TRUSTED: 'UNTRUSTED_OPERATION',
};

export const USAGE_RETENTION_DAYS = 90;
export const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

type Counts = {
  accepted: number;
  acceptedPreviousSecret: number;
  rejectedForbidden: number;
  rejectedIpAddress: number;
  rejectedRateLimit: number;
  rejectedBudget: number;
  rejectedUntrustedOperation: number;
};

const COLUMN_BY_REASON: Record<RejectionReason, keyof Counts> = {
  FORBIDDEN: 'rejectedForbidden',
  IP_ADDRESS: 'rejectedIpAddress',
  RATE_LIMIT: 'rejectedRateLimit',
  BUDGET: 'rejectedBudget',
  UNTRUSTED_OPERATION: 'rejectedUntrustedOperation',
};

function emptyCounts(): Counts {
  return {
    accepted: 0,
    acceptedPreviousSecret: 0,
    rejectedForbidden: 0,
    rejectedIpAddress: 0,
    rejectedRateLimit: 0,
    rejectedBudget: 0,
    rejectedUntrustedOperation: 0,
  };
}

export function hourStart(at: number): number {
  return at - (at % HOUR_MS);
}

export type UsageRecorderOptions = {
  db: Db;
  logger: Logger;
  /** How often pending counts are written. */
  flushIntervalMs: number;
  /** false: count nothing (the bench's baseline). @default true */
  enabled?: boolean;
};

export class UsageRecorder {
  /** hour start (epoch ms) → key id → counts not yet written. */
  private pending = new Map<number, Map<string, Counts>>();
  /** The current hour's map, cached so the hot path does one lookup per request. */
  private currentHour = -1;
  private current: Map<string, Counts> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private lastPruneAt = 0;
  readonly enabled: boolean;

  constructor(private readonly options: UsageRecorderOptions) {
    this.enabled = options.enabled ?? true;
  }

  /** A request with this key was served. `previousSecret`: it used the secret in its rotation grace. */
  recordAccepted(keyId: string, previousSecret = false, at = Date.now()): void {
    if (!this.enabled) return;
    const counts = this.countsFor(keyId, at);
    counts.accepted++;
    if (previousSecret) counts.acceptedPreviousSecret++;
  }

  /** A request with this key was refused. Exported seam for refusals made outside the GraphQL result. */
  recordRejected(keyId: string, reason: RejectionReason, at = Date.now()): void {
    if (!this.enabled) return;
    this.countsFor(keyId, at)[COLUMN_BY_REASON[reason]]++;
  }

  private countsFor(keyId: string, at: number): Counts {
    const hour = hourStart(at);
    if (hour !== this.currentHour || !this.current) {
      this.currentHour = hour;
      this.current = this.pending.get(hour);
      if (!this.current) this.pending.set(hour, (this.current = new Map()));
    }
    let counts = this.current.get(keyId);
    if (!counts) {
      this.current.set(keyId, (counts = emptyCounts()));
      this.timer ??= setTimeout(() => void this.flush(), this.options.flushIntervalMs).unref();
    }
    return counts;
  }

  /** Writes everything counted so far (one upsert per key and hour); flushes run one at a time. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = new Map();
    this.current = undefined;
    this.currentHour = -1;
    this.flushing = this.flushing.then(() => this.write(batch)).then(() => this.pruneHourly());
    return this.flushing;
  }

  private async write(batch: Map<number, Map<string, Counts>>): Promise<void> {
    for (const [hour, keys] of batch) {
      const start = new Date(hour);
      for (const [apiKeyId, counts] of keys) {
        try {
          await this.upsert(apiKeyId, start, counts);
        } catch (error) {
          if (isMissingKey(error)) continue; // the key (or its tenant) was deleted meanwhile
          this.options.logger.warn('could not record key usage', { keyId: apiKeyId, error: (error as Error).message });
          this.mergeBack(hour, apiKeyId, counts);
        }
      }
    }
  }

  private async upsert(apiKeyId: string, start: Date, counts: Counts): Promise<void> {
    const increments = Object.fromEntries(Object.entries(counts).map(([column, n]) => [column, { increment: n }]));
    const upsert = () =>
      this.options.db.apiKeyUsageCount.upsert({
        where: { apiKeyId_start: { apiKeyId, start } },
        create: { apiKeyId, start, ...counts },
        update: increments,
      });
    try {
      await upsert();
    } catch (error) {
      // Two instances inserting the same key's first row for an hour: one wins the insert,
      // the other's retry finds the row and increments it.
      if ((error as { code?: string }).code !== 'P2002') throw error;
      await upsert();
    }
  }

  /** A failed write is counted again at the next flush rather than lost. */
  private mergeBack(hour: number, keyId: string, counts: Counts): void {
    let keys = this.pending.get(hour);
    if (!keys) this.pending.set(hour, (keys = new Map()));
    const into = keys.get(keyId) ?? emptyCounts();
    for (const column of Object.keys(counts) as (keyof Counts)[]) into[column] += counts[column];
    keys.set(keyId, into);
    if (hour === this.currentHour) this.current = keys;
    this.timer ??= setTimeout(() => void this.flush(), this.options.flushIntervalMs).unref();
  }

  private async pruneHourly(now = Date.now()): Promise<void> {
    if (now - this.lastPruneAt < HOUR_MS) return;
    this.lastPruneAt = now;
    try {
      await pruneUsage(this.options.db, now);
    } catch (error) {
      this.options.logger.warn('could not prune key usage', { error: (error as Error).message });
    }
  }
}

/**
 * Deletes usage older than the retention, and forgets previous-secret digests whose grace is
 * over (they no longer authenticate anything; no reason to keep them).
 */
export async function pruneUsage(db: Db, now = Date.now()): Promise<void> {
  await db.apiKeyUsageCount.deleteMany({ where: { start: { lt: new Date(now - USAGE_RETENTION_DAYS * DAY_MS) } } });
  await db.apiKey.updateMany({
    where: { previousSecretDigest: { not: null }, previousSecretExpiresAt: { lte: new Date(now) } },
    data: { previousSecretDigest: null },
  });
}

function isMissingKey(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === 'P2003' || code === 'P2025';
}
