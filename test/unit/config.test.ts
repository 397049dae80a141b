import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

/** The error loadConfig throws for `env`, or a failure when it throws none. */
function configErrorFor(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it.each([
    ['PORT', 'abc'],
    ['PORT', '0'],
    ['PORT', '65536'],
    ['PORT', '4000.5'],
    ['PORT', '0x1f40'],
    ['PORT', '1e3'],
    ['KEYGATE_MAX_COST', '2e4'],
    ['DATABASE_URL', 'mysql://x'],
    ['DATABASE_URL', './data/keygate.db'],
    ['DATABASE_URL', 'file:'],
    ['DATABASE_URL', 'file:./data/keygate.db?mode=ro'],
    ['DATABASE_URL', 'file::memory:'],
    ['DATABASE_URL', 'postgresql://postgres@127.0.0.1:notaport/keygate'],
    ['DATABASE_URL', 'postgres://u:p@[::1'],
    ['KEYGATE_WEBHOOK_SECRET_KEY', 'abc'],
    ['KEYGATE_WEBHOOK_SECRET_KEY', Buffer.alloc(16).toString('base64')],
    ['KEYGATE_WEBHOOK_SECRET_KEY', 'not base64 at all, but 44 characters long!!'],
    ['KEYGATE_KEY_FORMAT', 'kg_{hex:8}'],
    ['KEYGATE_KEY_FORMAT', 'kg_{base62:40}{nonsense}'],
    ['KEYGATE_KEY_FORMAT', 'kgs_{base62:43}{checksum}'],
    ['KEYGATE_TRUSTED_PROXIES', 'not-an-ip'],
    ['KEYGATE_TRUSTED_PROXIES', '10.0.0.0/8, 300.1.1.1'],
    ['KEYGATE_ADMIN_PASSWORD', 'short-pw'],
    ['KEYGATE_ADMIN_EMAIL', 'not-an-email'],
    ['KEYGATE_LOG_LEVEL', 'loud'],
    ['KEYGATE_SESSION_TTL_MINUTES', '-1'],
  ])('refuses %s=%s with a ConfigError naming the variable', (variable, value) => {
    const error = configErrorFor({ [variable]: value });
    expect(error.message).toMatch(new RegExp(`^invalid setting ${variable}: \\S`));
    expect(error.message).not.toContain('\n');
  });

  it('reads a 32-byte webhook secret key as base64 or hex', () => {
    const key = Buffer.alloc(32, 9);
    expect(loadConfig({ KEYGATE_WEBHOOK_SECRET_KEY: key.toString('base64') }).webhooks.secretKey).toBe(key.toString('base64'));
    expect(loadConfig({ KEYGATE_WEBHOOK_SECRET_KEY: key.toString('hex') }).webhooks.secretKey).toBe(key.toString('hex'));
  });

  it('KEYGATE_KEY_PREFIX_LENGTH: long enough to reach a template’s random part, never so long it shows the secret', () => {
    // The seed's format starts with the tenant id (25 characters): 38 shows 8 random ones.
    expect(loadConfig({ KEYGATE_KEY_FORMAT: 'ezy_{tenantId}_{hex:64}', KEYGATE_KEY_PREFIX_LENGTH: '38' }).keyPrefixLength).toBe(38);
    // 196 random bits of which a 32-character prefix would show all but one character.
    const error = configErrorFor({ KEYGATE_KEY_FORMAT: '{base62:33}{checksum}', KEYGATE_KEY_PREFIX_LENGTH: '32' });
    expect(error.message).toMatch(/^invalid setting KEYGATE_KEY_PREFIX_LENGTH: a prefix of 32 characters leaves only 5 random bits of a key hidden; at least 128/);
    // The default format (238 random bits): 21 characters keep 131 hidden, 22 only 125.
    expect(loadConfig({ KEYGATE_KEY_PREFIX_LENGTH: '21' }).keyPrefixLength).toBe(21);
    expect(configErrorFor({ KEYGATE_KEY_PREFIX_LENGTH: '22' }).message).toMatch(/leaves only 125 random bits/);
    expect(configErrorFor({ KEYGATE_KEY_PREFIX_LENGTH: '65' }).message).toMatch(/^invalid setting KEYGATE_KEY_PREFIX_LENGTH: /);
  });

  it('names the first bad variable when several are bad', () => {
    expect(configErrorFor({ PORT: 'abc' }).message).toContain('PORT');
    expect(configErrorFor({ DATABASE_URL: 'mysql://x', PORT: '4000' }).message).toContain('DATABASE_URL');
  });

  it('never repeats a rejected admin password in the message', () => {
    const error = configErrorFor({ KEYGATE_ADMIN_PASSWORD: 'hunter2-pw' });
    expect(error.message).toContain('KEYGATE_ADMIN_PASSWORD');
    expect(error.message).not.toContain('hunter2-pw');
  });

  it('has the documented defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      production: false,
      port: 4000,
      host: '0.0.0.0',
      databaseUrl: 'file:./data/keygate.db',
      adminEmail: 'admin@keygate.local',
      adminPassword: undefined,
      logLevel: 'info',
      keyPrefixLength: 16,
      expiringSoonMs: 7 * 24 * 3600_000,
      trustedProxies: [],
      graphiql: true,
      introspection: true,
    });
    expect(config.keyFormat.template).toBe('kg_{base62:40}{checksum}');
  });

  it('treats empty variables as unset', () => {
    const config = loadConfig({ PORT: '', DATABASE_URL: '', KEYGATE_ADMIN_PASSWORD: '' });
    expect(config).toMatchObject({ port: 4000, databaseUrl: 'file:./data/keygate.db', adminPassword: undefined });
  });

  it('reads valid values', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '127.0.0.1',
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/keygate',
      KEYGATE_ADMIN_EMAIL: 'ops@example.test',
      KEYGATE_ADMIN_PASSWORD: 'a-long-enough-password',
      KEYGATE_KEY_FORMAT: 'ezb_live_{hex:48}',
      KEYGATE_TRUSTED_PROXIES: '10.0.0.0/8, 192.168.1.1, ::1',
    });
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      databaseUrl: 'postgresql://postgres@127.0.0.1:5432/keygate',
      adminEmail: 'ops@example.test',
      adminPassword: 'a-long-enough-password',
    });
    expect(config.keyFormat.template).toBe('ezb_live_{hex:48}');
    expect(config.trustedProxies.map((proxy) => proxy.text)).toEqual(['10.0.0.0/8', '192.168.1.1', '::1']);
  });

  it('turns GraphiQL and introspection off in production unless asked for', () => {
    expect(loadConfig({ NODE_ENV: 'production' })).toMatchObject({ production: true, graphiql: false, introspection: false });
    expect(loadConfig({ NODE_ENV: 'production', KEYGATE_INTROSPECTION: 'true' })).toMatchObject({ introspection: true });
  });
});
