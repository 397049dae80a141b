/**
 * Reading usage counts (`ApiKey.usage`): the hourly rows written by the usage recorder
 * (auth/usage.ts), as one bucket per hour or per UTC day over a range, zeros included, so a
 * sparkline needs no gap filling. Counts reach the database within the flush interval
 * (KEYGATE_LAST_USED_FLUSH_MS) and are kept 90 days.
 */
import { db } from '../../db.js';
import { badInput } from '../../errors.js';
import { HOUR_MS, USAGE_RETENTION_DAYS } from '../../auth/usage.js';

export type UsageInterval = 'HOUR' | 'DAY';

export type UsageBucket = {
  start: Date;
  accepted: number;
  acceptedPreviousSecret: number;
  rejectedBy: { forbidden: number; ipAddress: number; rateLimit: number; budget: number; untrustedOperation: number };
  rejected: number;
};

const DAY_MS = 24 * HOUR_MS;
const MAX_RANGE_MS = USAGE_RETENTION_DAYS * DAY_MS;

/** The start of the UTC bucket holding `at`; floored, so an instant before 1970 falls in its own bucket too. */
function bucketStart(at: number, step: number): number {
  return Math.floor(at / step) * step;
}

/**
 * How many buckets `keyUsage` answers for these arguments, as the cost model reads them before
 * anything runs (security/query-cost.ts): a range it would refuse counts as one.
 */
export function usageBucketCount(from: unknown, to: unknown, interval: unknown): number {
  const step = interval === 'DAY' ? DAY_MS : HOUR_MS;
  const [start, end] = [instant(from), instant(to)];
  if (start === null || end === null || end <= start || end - start > MAX_RANGE_MS) return 1;
  return Math.ceil((end - bucketStart(start, step)) / step);
}

function instant(value: unknown): number | null {
  if (!(typeof value === 'string' || value instanceof Date)) return null;
  const at = new Date(value).getTime();
  return Number.isNaN(at) ? null : at;
}

export async function keyUsage(apiKeyId: string, from: Date, to: Date, interval: UsageInterval): Promise<UsageBucket[]> {
  const step = interval === 'HOUR' ? HOUR_MS : DAY_MS;
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) throw badInput('from', 'must be a valid instant');
  if (to.getTime() <= from.getTime()) throw badInput('to', 'must be after from');
  const first = bucketStart(from.getTime(), step);
  // The span asked for, not the one widened to whole buckets (which may add one).
  if (to.getTime() - from.getTime() > MAX_RANGE_MS) throw badInput('from', `the range may span at most ${USAGE_RETENTION_DAYS} days (counts are kept that long)`);

  const rows = await db.apiKeyUsageCount.findMany({
    where: { apiKeyId, start: { gte: new Date(first), lt: to } },
    orderBy: { start: 'asc' },
  });
  const buckets = new Map<number, UsageBucket>();
  for (let start = first; start < to.getTime(); start += step) buckets.set(start, emptyBucket(new Date(start)));
  for (const row of rows) {
    const at = row.start.getTime();
    const bucket = buckets.get(bucketStart(at, step));
    if (!bucket) continue;
    bucket.accepted += row.accepted;
    bucket.acceptedPreviousSecret += row.acceptedPreviousSecret;
    bucket.rejectedBy.forbidden += row.rejectedForbidden;
    bucket.rejectedBy.ipAddress += row.rejectedIpAddress;
    bucket.rejectedBy.rateLimit += row.rejectedRateLimit;
    bucket.rejectedBy.budget += row.rejectedBudget;
    bucket.rejectedBy.untrustedOperation += row.rejectedUntrustedOperation;
    bucket.rejected +=
      row.rejectedForbidden + row.rejectedIpAddress + row.rejectedRateLimit + row.rejectedBudget + row.rejectedUntrustedOperation;
  }
  return [...buckets.values()];
}

function emptyBucket(start: Date): UsageBucket {
  return {
    start,
    accepted: 0,
    acceptedPreviousSecret: 0,
    rejected: 0,
    rejectedBy: { forbidden: 0, ipAddress: 0, rateLimit: 0, budget: 0, untrustedOperation: 0 },
  };
}
