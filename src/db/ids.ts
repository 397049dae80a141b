/**
 * Ids chosen before the INSERT, for rows written in batches (group-commit.ts): a multi-row
 * INSERT does not say which returned row is whose. Same shape as Prisma's `cuid()` default
 * (25 characters: `c`, the time in base36, a counter, randomness), so these rows sort among
 * the others by time as before.
 */
import { randomBytes } from 'node:crypto';

const RANDOM_SPACE = 36n ** 12n;
const COUNTER_SPACE = 36 ** 4;
let counter = 0;

export function newId(now = Date.now()): string {
  counter = (counter + 1) % COUNTER_SPACE;
  const random = randomBytes(8).readBigUInt64BE() % RANDOM_SPACE;
  return `c${now.toString(36).padStart(8, '0')}${counter.toString(36).padStart(4, '0')}${random.toString(36).padStart(12, '0')}`;
}
