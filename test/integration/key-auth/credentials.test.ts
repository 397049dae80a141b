/**
 * Where a credential is read from (product.md §3): X-Api-Key or Authorization: Bearer for
 * keys, Bearer for sessions, told apart by their format; and what is refused before the
 * database is ever asked.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { keyLookup } from '../../../src/auth/key-lookup.js';
import { db } from '../../../src/db.js';
import { generateKey } from '../../../src/auth/credentials.js';
import { graphql } from '../../gql/index.js';
import { app, errorOf, execute, ok } from '../../helpers/app.js';
import { seedTenant } from '../../helpers/seed.js';
import { freshClientAddress, withOneCharacterChanged } from '../../helpers/security-matrix.js';

const Viewer = graphql(`
  query KeyAuthCredentialsViewer {
    viewer {
      kind
      apiKey {
        id
      }
      user {
        id
      }
    }
  }
`);

/** Counts the database lookups each strategy makes: keys by digest (key-lookup.ts), sessions by token digest. */
function spyOnCredentialLookups() {
  return { keys: vi.spyOn(keyLookup, 'findByDigest'), sessions: vi.spyOn(db.session, 'findUnique') };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('credential extraction', () => {
  it('X-Api-Key: a key authenticates as that key', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const data = await ok(Viewer, {}, { headers: { 'X-Api-Key': key.secret } });
    expect(data.viewer).toEqual({ kind: 'API_KEY', apiKey: { id: key.id }, user: null });
  });

  it('Authorization: Bearer: a key authenticates as that key', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const data = await ok(Viewer, {}, { headers: { Authorization: `Bearer ${key.secret}` } });
    expect(data.viewer).toEqual({ kind: 'API_KEY', apiKey: { id: key.id }, user: null });
  });

  it('Authorization: Bearer: a session token authenticates as its user', async () => {
    const seed = await seedTenant();
    const data = await ok(Viewer, {}, { headers: { Authorization: `Bearer ${seed.member.token}` } });
    expect(data.viewer).toEqual({ kind: 'SESSION', apiKey: null, user: { id: seed.member.user.id } });
  });

  it('the same key in both headers is one credential, and accepted', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const data = await ok(Viewer, {}, { headers: { 'X-Api-Key': key.secret, Authorization: `Bearer ${key.secret}` } });
    expect(data.viewer.apiKey?.id).toBe(key.id);
  });

  it('two different credentials in one request: 401, whichever they are', async () => {
    const seed = await seedTenant();
    const [first, second] = [await seed.createKey(), await seed.createKey()];
    const pairs = [
      { 'X-Api-Key': first.secret, Authorization: `Bearer ${second.secret}` },
      { 'X-Api-Key': first.secret, Authorization: `Bearer ${seed.admin.token}` },
    ];
    for (const headers of pairs) {
      const result = await execute(Viewer, {}, { headers, ip: freshClientAddress() });
      expect(errorOf(result)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', reason: 'INVALID' });
      expect(result.data).toBeUndefined();
    }
  });

  it('a session token in X-Api-Key: 401, since that header carries API keys only', async () => {
    const seed = await seedTenant();
    const result = await execute(Viewer, {}, { apiKey: seed.admin.token, ip: freshClientAddress() });
    expect(errorOf(result)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', reason: 'INVALID' });
    expect(result.errors?.[0]?.message).not.toContain(seed.admin.token);
  });

  it('an Authorization header that is not "Bearer <credential>": 401', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    for (const authorization of [`Basic ${Buffer.from(`user:${key.secret}`).toString('base64')}`, `Bearer`, `Bearer ${key.secret} extra`]) {
      const result = await execute(Viewer, {}, { headers: { Authorization: authorization }, ip: freshClientAddress() });
      expect(errorOf(result), authorization).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', reason: 'INVALID' });
    }
  });
});

describe('a bad credential fails the whole HTTP request', () => {
  async function post(body: unknown, headers: Record<string, string>, ip: string) {
    const response = await app.yoga.fetch(
      'http://keygate.test/graphql',
      { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) },
      { req: { socket: { remoteAddress: ip } } },
    );
    return { status: response.status, body: (await response.json()) as unknown };
  }

  it('a batch, and a document that does not validate, get the credential’s 401 or 403 too, with nothing run', async () => {
    const seed = await seedTenant();
    const revoked = await seed.createKey();
    await db.apiKey.update({ where: { id: revoked.id }, data: { status: 'REVOKED', revokedAt: new Date() } });
    const fenced = await seed.createKey({ ipAllowlist: ['10.9.9.9'] });
    const bodies = [[{ query: '{ viewer { kind } }' }], [{ query: '{ viewer { kind } }' }, { query: '{ viewer { kind } }' }], { query: '{ nope }' }];
    for (const body of bodies) {
      const refused = await post(body, { 'x-api-key': revoked.secret }, freshClientAddress());
      expect(refused.status, JSON.stringify(body)).toBe(401);
      expect(refused.body).toMatchObject({ errors: [{ extensions: { code: 'UNAUTHENTICATED', reason: 'REVOKED' } }] });
      const badSession = await post(body, { authorization: `Bearer ${seed.admin.token.slice(0, -2)}xx` }, freshClientAddress());
      expect(badSession.status, JSON.stringify(body)).toBe(401);
      const outside = await post(body, { 'x-api-key': fenced.secret }, '127.0.0.1');
      expect(outside.status, JSON.stringify(body)).toBe(403);
      expect(outside.body).toMatchObject({ errors: [{ extensions: { code: 'FORBIDDEN' } }] });
    }
    // A mutation in such a batch wrote nothing.
    const before = await db.organization.count({ where: { tenantId: seed.tenant.id } });
    await post([{ query: 'mutation { createOrganization(input: { name: "Never made" }) { id } }' }], { 'x-api-key': revoked.secret }, freshClientAddress());
    expect(await db.organization.count({ where: { tenantId: seed.tenant.id } })).toBe(before);
  });
});

describe('rejected without a database query', () => {
  it('a malformed key, in either header', async () => {
    const lookups = spyOnCredentialLookups();
    const malformed: Record<string, string>[] = [{ 'X-Api-Key': 'kg_short' }, { Authorization: 'Bearer definitely-not-a-key' }];
    for (const headers of malformed) {
      const result = await execute(Viewer, {}, { headers, ip: freshClientAddress() });
      expect(errorOf(result)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', reason: 'INVALID' });
    }
    expect(lookups.keys).not.toHaveBeenCalled();
    expect(lookups.sessions).not.toHaveBeenCalled();
  });

  it('a key with one character changed (checksum mismatch)', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const lookups = spyOnCredentialLookups();
    const result = await execute(Viewer, {}, { apiKey: withOneCharacterChanged(key.secret), ip: freshClientAddress() });
    expect(errorOf(result)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', reason: 'INVALID' });
    expect(lookups.keys).not.toHaveBeenCalled();
  });

  it('a key with one character changed while the key itself is cached: the checksum still refuses it', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    await ok(Viewer, {}, { apiKey: key.secret }); // warm: the cache now holds the key's digest
    const lookups = spyOnCredentialLookups();
    const result = await execute(Viewer, {}, { apiKey: withOneCharacterChanged(key.secret), ip: freshClientAddress() });
    expect(errorOf(result)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', reason: 'INVALID' });
    expect(result.errors?.[0]?.message).toContain('checksum mismatch');
    expect(lookups.keys).not.toHaveBeenCalled();
    expect((await ok(Viewer, {}, { apiKey: key.secret })).viewer.apiKey?.id).toBe(key.id);
    expect(lookups.keys).not.toHaveBeenCalled(); // the key itself: from the cache
  });

  it('a session token with one character changed (checksum mismatch)', async () => {
    const seed = await seedTenant();
    const tampered = seed.member.token.slice(0, 4) + (seed.member.token[4] === 'A' ? 'B' : 'A') + seed.member.token.slice(5);
    const lookups = spyOnCredentialLookups();
    const result = await execute(Viewer, {}, { token: tampered, ip: freshClientAddress() });
    expect(errorOf(result)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', reason: 'INVALID' });
    expect(lookups.sessions).not.toHaveBeenCalled();
  });

  it('(control) a well-formed unknown key is looked up once, then answered from the negative cache', async () => {
    const unknown = generateKey(app.config.keyFormat, 'tenant');
    const lookups = spyOnCredentialLookups();
    for (let i = 0; i < 2; i++) {
      const result = await execute(Viewer, {}, { apiKey: unknown, ip: freshClientAddress() });
      expect(errorOf(result)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', reason: 'INVALID' });
    }
    expect(lookups.keys).toHaveBeenCalledTimes(1);
  });
});
