/**
 * Write-behind for lastUsedAt / lastUsedIp: every authenticated request records its use in
 * memory; a timer writes each key's latest use at most once per flush interval, and
 * `flush()` runs once more on shutdown. A busy key costs one write per interval, not one
 * per request, and a flush of many keys is a few batched UPDATEs (db/last-used-writes.ts).
 *
 * Uses of a key's previous secret during a rotation grace also set previousSecretLastUsedAt
 * (rare: only while a grace runs), written after the batch, one UPDATE per such key.
 */
import type { KeyUse, WriteKeyUses } from '../db/last-used-writes.js';
import type { Logger } from '../lib/logger.js';

/** `at` in epoch milliseconds: a Date is made once per flush, not once per request. */
type Use = { at: number; ip: string | null };

/** Writes previousSecretLastUsedAt for keys whose previous secret was used. */
export type WritePreviousSecretUses = (uses: { id: string; at: Date }[]) => Promise<void>;

export class LastUsedRecorder {
  private pending = new Map<string, Use>();
  /** Uses of a key's previous secret during a rotation grace: previousSecretLastUsedAt. */
  private pendingPrevious = new Map<string, Date>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    /** Writes one flush's uses (createKeyUseWriter in db/last-used-writes.ts). */
    readonly writeUses: WriteKeyUses,
    private readonly logger: Logger,
    private readonly intervalMs: number,
    private readonly writePreviousSecretUses: WritePreviousSecretUses = async () => {},
  ) {}

  record(keyId: string, ip: string | null, at = Date.now(), previousSecret = false): void {
    const use = this.pending.get(keyId);
    // Updated in place: a busy key is used thousands of times between two flushes.
    if (use) {
      use.at = at;
      use.ip = ip;
    } else {
      this.pending.set(keyId, { at, ip });
    }
    if (previousSecret) this.pendingPrevious.set(keyId, new Date(at));
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
    this.flushing = this.flushing.then(() => this.write(batch)).then(() => this.writePrevious(previous));
    return this.flushing;
  }

  private async write(batch: Map<string, Use>): Promise<void> {
    if (batch.size === 0) return;
    const uses: KeyUse[] = [...batch].map(([id, use]) => ({ id, at: new Date(use.at), ip: use.ip }));
    try {
      await this.writeUses(uses);
    } catch (error) {
      this.logger.warn('could not record key uses', { keys: uses.length, error });
      // Keep the newest uses for the next flush rather than losing them.
      for (const { id, at, ip } of uses) if (!this.pending.has(id)) this.record(id, ip, at.getTime());
    }
  }

  private async writePrevious(previous: Map<string, Date>): Promise<void> {
    if (previous.size === 0) return;
    try {
      await this.writePreviousSecretUses([...previous].map(([id, at]) => ({ id, at })));
    } catch (error) {
      this.logger.warn('could not record previous-secret uses', { keys: previous.size, error });
      for (const [id, at] of previous) if (!this.pendingPrevious.has(id)) this.pendingPrevious.set(id, at);
    }
  }
}
