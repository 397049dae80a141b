/** How a response's errors classify a key's request for the usage counts (auth/use-usage-counting.ts). */
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/principal.js';
import type { UsageRecorder } from '../../src/auth/usage.js';
import { countResult, rejectionIn } from '../../src/auth/use-usage-counting.js';

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

  it('takes an operation\'s first refusal', () => {
    expect(rejectionIn({ errors: [{ message: 'x', extensions: { code: 'NOT_FOUND' } }, ...withCode('FORBIDDEN').errors, ...withCode('RATE_LIMITED').errors] })).toBe('FORBIDDEN');
  });
});

describe('countResult', () => {
  it('counts each operation of a batch on its own, and nothing for a session', () => {
    const counted: string[] = [];
    const usage = {
      recordAccepted: (keyId: string) => counted.push(`${keyId} accepted`),
      recordRejected: (keyId: string, reason: string) => counted.push(`${keyId} ${reason}`),
    } as unknown as UsageRecorder;
    const key = { kind: 'API_KEY', apiKey: { id: 'k1' } } as unknown as Principal;
    countResult(usage, key, [{ data: {} }, withCode('FORBIDDEN'), withCode('RATE_LIMITED'), { data: {} }]);
    expect(counted).toEqual(['k1 accepted', 'k1 FORBIDDEN', 'k1 RATE_LIMIT', 'k1 accepted']);
    countResult(usage, { kind: 'SESSION' } as unknown as Principal, [{ data: {} }]);
    expect(counted).toHaveLength(4);
  });
});
