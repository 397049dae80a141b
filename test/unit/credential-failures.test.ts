/**
 * The failed-credential counter's shortcut (src/security/credential-throttle.ts): with the
 * in-memory store, an address this process never counted is answered "not throttled" without
 * a limiter call (no promise); once counted it is looked up, and refused at the limit. Through
 * the API the throttle is tested in test/integration/hardening/credential-throttle.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/lib/logger.js';
import { createCredentialFailures } from '../../src/security/credential-throttle.js';
import { createLimiterStore } from '../../src/security/limiter-store.js';

const logger = createLogger('silent');

describe('createCredentialFailures (memory store)', () => {
  it('answers an address it never counted without a promise; counts, then refuses at the limit', async () => {
    const failures = createCredentialFailures({ limit: 2, windowSeconds: 60, store: createLimiterStore({ redis: null, logger }), logger })!;
    expect(failures.refusal('203.0.113.7')).toBeNull();

    await failures.failed('203.0.113.7');
    const lookup = failures.refusal('203.0.113.7');
    expect(lookup).toBeInstanceOf(Promise);
    expect(await lookup).toBeNull(); // one of two
    expect(failures.refusal('203.0.113.8')).toBeNull(); // another address is untouched

    await failures.failed('203.0.113.7');
    expect(await failures.refusal('203.0.113.7')).toMatchObject({ extensions: { code: 'RATE_LIMITED' } });
  });

  it('a sign-in attempt counts the address too, so its failures are looked up', async () => {
    const failures = createCredentialFailures({ limit: 1, windowSeconds: 60, store: createLimiterStore({ redis: null, logger }), logger })!;
    expect(await failures.takeAttempt('198.51.100.1')).toBeNull();
    expect(await failures.refusal('198.51.100.1')).toMatchObject({ extensions: { code: 'RATE_LIMITED' } });
    await failures.returnAttempt('198.51.100.1');
    // The attempt given back leaves nothing counted: answered again without a lookup.
    expect(failures.refusal('198.51.100.1')).toBeNull();
  });

  it('an address that failed once and then signed in stays looked up, and is refused at the limit', async () => {
    const failures = createCredentialFailures({ limit: 2, windowSeconds: 60, store: createLimiterStore({ redis: null, logger }), logger })!;
    await failures.failed('198.51.100.2');
    expect(await failures.takeAttempt('198.51.100.2')).toBeNull();
    await failures.returnAttempt('198.51.100.2');
    expect(failures.refusal('198.51.100.2')).toBeInstanceOf(Promise);
    await failures.failed('198.51.100.2');
    expect(await failures.refusal('198.51.100.2')).toMatchObject({ extensions: { code: 'RATE_LIMITED' } });
  });

  it('with a shared store every address is looked up (other instances count too)', () => {
    const memory = createLimiterStore({ redis: null, logger });
    const failures = createCredentialFailures({ limit: 2, windowSeconds: 60, store: { ...memory, shared: true }, logger })!;
    expect(failures.refusal('203.0.113.9')).toBeInstanceOf(Promise);
  });
});
