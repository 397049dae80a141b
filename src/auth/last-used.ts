/**
 * Write-behind for lastUsedAt / lastUsedIp: every authenticated request records its use in
 * memory; a timer writes each key's latest use at most once per flush interval, and
 * `flush()` runs once more on shutdown. A busy key costs one UPDATE per interval, not one
 * per request.
 */
import type { Db } from '../db.js';
import type { Logger } from '../lib/logger.js';

type Use = { at: Date; ip: string | null };

export class LastUsedRecorder {
  private pending = new Map<string, Use>();
  /** Uses of a key's previous secret during a rotation grace: previousSecretLastUsedAt. */
  private pendingPrevious = new Map<string, Date>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  record(keyId: string, ip: string | null, at = new Date(), previousSecret = false): void {
    this.pending.set(keyId, { at, ip });
    if (previousSecret) this.pendingPrevious.set(keyId, at);
    this.timer ??= setTimeout(() => void this.flush(), this.intervalMs).unref();
  }

  /** Writes everything recorded so far; safe to call concurrently (flushes run one at a time). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    const previous = this.pendingPrevious;
    this.pending = new Map();
    this.pendingPrevious = new Map();
    this.flushing = this.flushing.then(() => this.write(batch, previous));
    return this.flushing;
  }

  private async write(batch: Map<string, Use>, previous: Map<string, Date>): Promise<void> {
    for (const [id, use] of batch) {
      const previousAt = previous.get(id);
      try {
        await this.db.apiKey.updateMany({
          where: { id },
          data: { lastUsedAt: use.at, lastUsedIp: use.ip, ...(previousAt ? { previousSecretLastUsedAt: previousAt } : {}) },
        });
      } catch (error) {
        this.logger.warn('could not record key use', { keyId: id, error });
        // Keep the newest use for the next flush rather than losing it.
        if (!this.pending.has(id)) this.record(id, use.ip, use.at);
        if (previousAt && !this.pendingPrevious.has(id)) this.pendingPrevious.set(id, previousAt);
      }
    }
  }
}
