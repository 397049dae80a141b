/** How a response's errors classify a key's request for the usage counts (auth/use-usage-counting.ts). */
import { describe, expect, it } from 'vitest';
import { rejectionIn } from '../../src/auth/use-usage-counting.js';

const withCode = (code: string, extra: Record<string, unknown> = {}) => ({ errors: [{ message: 'x', extensions: { code, ...extra } }] });

describe('rejectionIn', () => {
  it('maps refusal codes to reasons, including the seams for budgets and trusted documents', () => {
    expect(rejectionIn({ data: { viewer: { kind: 'API_KEY' } } })).toBeNull();
    expect(rejectionIn(withCode('BAD_USER_INPUT'))).toBeNull();
    expect(rejectionIn(withCode('NOT_FOUND'))).toBeNull();
    expect(rejectionIn(withCode('FORBIDDEN'))).toBe('FORBIDDEN');
    expect(rejectionIn(withCode('RATE_LIMITED'))).toBe('RATE_LIMIT');
    expect(rejectionIn(withCode('RATE_LIMITED', { cost: { requested: 10, remaining: 0 } }))).toBe('BUDGET');
    expect(rejectionIn(withCode('OPERATION_NOT_TRUSTED'))).toBe('UNTRUSTED_OPERATION');
  });

  it('reads batches and takes the first refusal', () => {
    expect(rejectionIn([{ data: {} }, withCode('FORBIDDEN'), withCode('RATE_LIMITED')])).toBe('FORBIDDEN');
    expect(rejectionIn([{ data: {} }, { data: {} }])).toBeNull();
  });
});
