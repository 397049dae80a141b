/** Pieces of the settings schemas (config.ts, security/settings.ts). */
import { z } from 'zod';

/**
 * A whole number written in digits, within [min, max]. Not `z.coerce.number()`, which also
 * reads `0x1f40` and `1e3`: a setting means what it says in decimal, or is refused.
 */
export const wholeNumber = (min: number, max: number) =>
  z.preprocess(
    (value) => (typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value),
    z.number({ error: (issue) => (issue.code === 'invalid_type' ? 'must be a whole number written in digits' : undefined) }).int().min(min).max(max),
  );
