/**
 * The principal tokens' signing keys: generated once into the database (encrypted, never in
 * clear text), shared by every instance, rotated with the old public key kept in the JWKS
 * until its tokens have expired; or given by KEYGATE_SIGNING_KEY and never stored.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it, vi } from 'vitest';
import type { AuthenticatedPrincipal } from '../../../src/auth/principal.js';
import { loadConfig } from '../../../src/config.js';
import { db } from '../../../src/db.js';
import { createGatewayRuntime } from '../../../src/gateway/index.js';
import { SIGNING_KEY_REFRESH_MS, SigningKeys } from '../../../src/gateway/signing-keys.js';
import { createLogger } from '../../../src/lib/logger.js';

const logger = createLogger('silent');
const principal: AuthenticatedPrincipal = {
  kind: 'SESSION',
  sessionId: 's',
  tenantId: 't1',
  crossTenant: false,
  permissions: new Set(['projects:read']),
  user: { id: 'u1', email: 'u@example.test', role: 'MEMBER' },
};

function runtime(env: Record<string, string> = {}) {
  return createGatewayRuntime(loadConfig({ ...process.env, ...env }), logger);
}

describe('signing keys', () => {
  it('the database key is stored encrypted, never as clear text', async () => {
    const gateway = runtime();
    const key = await gateway.keys.current();
    const row = await db.signingKey.findUniqueOrThrow({ where: { id: key.kid } });
    const der = key.privateKey.export({ format: 'der', type: 'pkcs8' });
    const privateJwk = key.privateKey.export({ format: 'jwk' }) as { d: string };
    const pem = key.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const stored = JSON.stringify(row);
    for (const needle of [der.toString('base64'), der.toString('base64url'), der.toString('hex'), privateJwk.d, pem.split('\n')[1]!]) {
      expect(stored).not.toContain(needle);
    }
    // Every column of the table, not only this row's known fields.
    const everything = JSON.stringify(await db.$queryRawUnsafe(`SELECT * FROM "SigningKey"`));
    expect(everything).not.toContain(privateJwk.d);
    expect(JSON.parse(row.publicJwk)).toMatchObject({ kty: 'OKP', crv: 'Ed25519', kid: key.kid, alg: 'EdDSA' });
    expect(JSON.parse(row.publicJwk).d).toBeUndefined();
  });

  it('another instance signs with the same key; a different KEYGATE_SIGNING_KEY_SECRET cannot decrypt it', async () => {
    const first = await runtime().keys.current();
    const second = await runtime().keys.current();
    expect(second.kid).toBe(first.kid);
    await expect(runtime({ KEYGATE_SIGNING_KEY_SECRET: 'another-secret-of-at-least-32-characters!' }).keys.current()).rejects.toThrow(
      /cannot be decrypted: KEYGATE_SIGNING_KEY_SECRET differs/,
    );
  });

  it('production refuses the database key without KEYGATE_SIGNING_KEY_SECRET', async () => {
    const production = new SigningKeys({ db, gateway: loadConfig({ ...process.env }).gateway, production: true, logger });
    await expect(production.current()).rejects.toThrow(/need KEYGATE_SIGNING_KEY, or KEYGATE_SIGNING_KEY_SECRET/);
  });

  it('rotation: new tokens use the new key; the old key stays listed, so its tokens still verify', async () => {
    const gateway = runtime();
    const oldToken = await gateway.tokens.sign(principal);
    const oldKid = decodeProtectedHeader(oldToken).kid!;
    const { kid: newKid } = await runtime().keys.rotate();
    expect(newKid).not.toBe(oldKid);
    const fresh = runtime();
    const newToken = await fresh.tokens.sign(principal);
    expect(decodeProtectedHeader(newToken).kid).toBe(newKid);
    const listed = await fresh.keys.jwks();
    expect(listed.keys.map((k) => k.kid)).toEqual(expect.arrayContaining([oldKid, newKid]));
    const jwks = createLocalJWKSet(listed);
    await expect(jwtVerify(oldToken, jwks)).resolves.toBeTruthy();
    await expect(jwtVerify(newToken, jwks)).resolves.toBeTruthy();
    const stored = await db.signingKey.findUniqueOrThrow({ where: { id: oldKid } });
    expect(stored.retiredAt).not.toBeNull();

    // Once its tokens have expired, the retired key is no longer listed.
    await db.signingKey.update({ where: { id: oldKid }, data: { retiredAt: new Date(Date.now() - fresh.keys.retiredListingMs - 1000) } });
    expect((await fresh.keys.jwks()).keys.map((k) => k.kid)).not.toContain(oldKid);
  });

  it("another instance's rotation is picked up after the refresh interval; until the refresh lands the loaded key keeps signing", async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const instance = runtime();
      const before = await instance.keys.current();
      const { kid: rotated } = await runtime().keys.rotate();
      expect(instance.keys.loaded()?.kid).toBe(before.kid); // within the interval: not asked again

      vi.setSystemTime(Date.now() + SIGNING_KEY_REFRESH_MS);
      // Stale: still answered at once with the loaded key, while the refresh runs.
      expect(instance.keys.loaded()?.kid).toBe(before.kid);
      await vi.waitFor(() => expect(instance.keys.loaded()?.kid).toBe(rotated));
      expect((await instance.keys.current()).kid).toBe(rotated);
    } finally {
      vi.useRealTimers();
    }
  });

  it('an instance idle since another rotated never signs with a key the JWKS may no longer list', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const idle = runtime();
      const before = await idle.keys.current();
      const { kid: rotated } = await runtime().keys.rotate();
      // No request for longer than a retired key stays listed: the first one waits for the refresh.
      vi.setSystemTime(Date.now() + idle.keys.retiredListingMs + 5_000);
      expect(idle.keys.loaded()).toBeNull();
      const token = await idle.tokens.sign(principal);
      expect(decodeProtectedHeader(token).kid).toBe(rotated);
      const listed = await idle.keys.jwks();
      expect(listed.keys.map((key) => key.kid)).not.toContain(before.kid);
      await expect(jwtVerify(token, createLocalJWKSet(listed))).resolves.toBeTruthy();
    } finally {
      vi.useRealTimers();
    }
  });

  it('while the database does not answer, the loaded key keeps signing, and the database is asked again only every few seconds', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const lines: string[] = [];
    const instance = createGatewayRuntime(loadConfig(process.env), createLogger('info', (line) => lines.push(line)));
    try {
      const loaded = await instance.keys.current();
      const down = vi.spyOn(db.signingKey, 'findFirst').mockRejectedValue(new Error('database down'));
      vi.setSystemTime(Date.now() + instance.keys.switchWithinMs + 1_000);
      expect(instance.keys.loaded()).toBeNull(); // too old to sign unchecked: asked
      const [first, second, token] = await Promise.all([instance.keys.current(), instance.keys.current(), instance.tokens.sign(principal)]);
      expect([first.kid, second.kid, decodeProtectedHeader(token).kid]).toEqual([loaded.kid, loaded.kid, loaded.kid]);
      expect(down).toHaveBeenCalledTimes(1);
      expect(lines.filter((line) => line.includes('could not refresh the signing key'))).toHaveLength(1);
      // Within the retry interval, no request waits and none asks.
      expect(instance.keys.loaded()?.kid).toBe(loaded.kid);
      expect(down).toHaveBeenCalledTimes(1);
    } finally {
      vi.restoreAllMocks();
      vi.useRealTimers();
    }
  });

  it('KEYGATE_SIGNING_KEY: that key signs, the JWKS lists only it, nothing is stored', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = (privateKey.export({ format: 'pem', type: 'pkcs8' }) as string).replace(/\n/g, '\\n');
    const gateway = runtime({ KEYGATE_SIGNING_KEY: pem });
    const token = await gateway.tokens.sign(principal);
    const { keys } = await gateway.keys.jwks();
    expect(keys).toHaveLength(1);
    const { payload } = await jwtVerify(token, createLocalJWKSet({ keys }), { issuer: 'keygate' });
    expect(payload).toMatchObject({ sub: 'user:u1', kind: 'session', userId: 'u1', tenantId: 't1', permissions: ['projects:read'] });
    expect(await db.signingKey.findUnique({ where: { id: keys[0]!.kid! } })).toBeNull();
    await expect(gateway.keys.rotate()).rejects.toThrow(/KEYGATE_SIGNING_KEY is set/);
    expect(() => runtime({ KEYGATE_SIGNING_KEY: 'not a key' })).toThrow(/invalid setting KEYGATE_SIGNING_KEY/);
  });
});
