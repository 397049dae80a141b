/**
 * Write-behind for lastUsedAt / lastUsedIp: every authenticated request records its use in
 * memory; a timer writes each key's latest use at most once per flush interval, and
 * `flush()` runs once more on shutdown. A busy key costs one write per interval, not one
 * per request, and a flush of many keys is a few batched UPDATEs (db/last-used-writes.ts).
 */
import type { KeyUse, WriteKeyUses } from '../db/last-used-writes.js';
import type { Logger } from '../lib/logger.js';

type Use = { at: Date; ip: string | null };

export class LastUsedRecorder {
  private pending = new Map<string, Use>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    /** Writes one flush's uses (createKeyUseWriter in db/last-used-writes.ts). */
    readonly writeUses: WriteKeyUses,
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
    if (batch.size === 0) return;
    const uses: KeyUse[] = [...batch].map(([id, use]) => ({ id, at: use.at, ip: use.ip }));
    try {
      await this.writeUses(uses);
    } catch (error) {
      this.logger.warn('could not record key uses', { keys: uses.length, error });
      // Keep the newest uses for the next flush rather than losing them.
      for (const { id, at, ip } of uses) if (!this.pending.has(id)) this.record(id, ip, at);
    }
  }
}
