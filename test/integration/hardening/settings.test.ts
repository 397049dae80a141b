/**
 * The hardening settings (src/security/settings.ts): defaults, and a bad value stops the
 * configuration with a message naming the variable.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';

describe('hardening settings', () => {
  it('have defaults a normal client never meets', () => {
    const config = loadConfig({});
    expect(config.queryLimits).toEqual({ maxDepth: 10, maxCost: 20_000, maxAliases: 15, maxDirectives: 50, maxTokens: 2_000 });
    expect(config.maxBatchSize).toBe(10);
    expect(config.maxBodyBytes).toBe(1024 * 1024);
    expect(config.maxPayloadDepth).toBe(64);
    expect(config.rateLimits).toEqual({ perKey: 0, perTenant: 0, windowSeconds: 60 });
    expect(config.authFailures).toEqual({ limit: 20, windowSeconds: 900 });
    expect(config.redis).toBeNull();
    expect(config.corsOrigins).toEqual([]);
  });

  it('introspection and GraphiQL are on in development and off in production, unless set', () => {
    expect(loadConfig({ NODE_ENV: 'development' })).toMatchObject({ introspection: true, graphiql: true });
    expect(loadConfig({ NODE_ENV: 'production' })).toMatchObject({ introspection: false, graphiql: false });
    expect(loadConfig({ NODE_ENV: 'production', KEYGATE_INTROSPECTION: 'true' })).toMatchObject({ introspection: true, graphiql: false });
  });

  it('are read from the environment', () => {
    const config = loadConfig({
      KEYGATE_MAX_DEPTH: '7',
      KEYGATE_MAX_COST: '900',
      KEYGATE_MAX_ALIASES: '0',
      KEYGATE_MAX_DIRECTIVES: '3',
      KEYGATE_MAX_TOKENS: '500',
      KEYGATE_MAX_BATCH_SIZE: '0',
      KEYGATE_MAX_BODY_BYTES: '300000',
      KEYGATE_RATE_LIMIT_PER_KEY: '100',
      KEYGATE_RATE_LIMIT_PER_TENANT: '1000',
      KEYGATE_RATE_LIMIT_WINDOW_SECONDS: '10',
      KEYGATE_AUTH_FAILURE_LIMIT: '5',
      KEYGATE_AUTH_FAILURE_WINDOW_SECONDS: '60',
      KEYGATE_REDIS_URL: 'redis://127.0.0.1:6379/2',
      KEYGATE_REDIS_KEY_PREFIX: 'gw1',
    });
    expect(config.queryLimits).toEqual({ maxDepth: 7, maxCost: 900, maxAliases: 0, maxDirectives: 3, maxTokens: 500 });
    expect(config.maxBatchSize).toBe(0);
    expect(config.maxBodyBytes).toBe(300_000);
    expect(config.rateLimits).toEqual({ perKey: 100, perTenant: 1000, windowSeconds: 10 });
    expect(config.authFailures).toEqual({ limit: 5, windowSeconds: 60 });
    expect(config.redis).toEqual({ url: 'redis://127.0.0.1:6379/2', keyPrefix: 'gw1' });
  });

  it.each([
    ['KEYGATE_MAX_DEPTH', '0'],
    ['KEYGATE_MAX_COST', 'lots'],
    ['KEYGATE_MAX_ALIASES', '-1'],
    ['KEYGATE_MAX_DIRECTIVES', '1.5'],
    ['KEYGATE_MAX_TOKENS', '0'],
    ['KEYGATE_MAX_BATCH_SIZE', '5000'],
    ['KEYGATE_MAX_BODY_BYTES', '10'],
    ['KEYGATE_MAX_PAYLOAD_DEPTH', '0'],
    ['KEYGATE_RATE_LIMIT_PER_KEY', '-5'],
    ['KEYGATE_RATE_LIMIT_WINDOW_SECONDS', '0'],
    ['KEYGATE_AUTH_FAILURE_LIMIT', 'many'],
    ['KEYGATE_AUTH_FAILURE_WINDOW_SECONDS', '0'],
    ['KEYGATE_REDIS_URL', 'http://127.0.0.1:6379'],
    ['KEYGATE_CORS_ORIGINS', 'https://app.example.com/'],
  ])('%s=%s is refused with a message naming it', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [variable]: value })).toThrow(new RegExp(`invalid setting ${variable}:`));
  });

  it('a body limit below the payload limit is refused: payloads of the allowed size could never arrive', () => {
    expect(() => loadConfig({ KEYGATE_MAX_BODY_BYTES: '100000', KEYGATE_MAX_PAYLOAD_BYTES: '200000' })).toThrow(
      /invalid setting KEYGATE_MAX_BODY_BYTES: must be at least KEYGATE_MAX_PAYLOAD_BYTES/,
    );
  });
});
