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
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  record(keyId: string, ip: string | null, at = new Date()): void {
    this.pending.set(keyId, { at, ip });
    this.timer ??= setTimeout(() => void this.flush(), this.intervalMs).unref();
  }

  /** Writes everything recorded so far; safe to call concurrently (flushes run one at a time). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = this.flushing.then(() => this.write(batch));
    return this.flushing;
  }

  private async write(batch: Map<string, Use>): Promise<void> {
    for (const [id, use] of batch) {
      try {
        await this.db.apiKey.updateMany({ where: { id }, data: { lastUsedAt: use.at, lastUsedIp: use.ip } });
      } catch (error) {
        this.logger.warn('could not record key use', { keyId: id, error });
        // Keep the newest use for the next flush rather than losing it.
        if (!this.pending.has(id)) this.record(id, use.ip, use.at);
      }
    }
  }
}
