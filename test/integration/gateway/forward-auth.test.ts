/**
 * GET /auth/verify (forward authentication for Nginx auth_request, Traefik ForwardAuth,
 * Envoy ext_authz): the same credentials, client address, allowlists, rate limits and
 * last-used recording as the GraphQL API, answered as 200 + headers or 401/403/429.
 */
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../../src/app.js';
import { loadConfig } from '../../../src/config.js';
import { db } from '../../../src/db.js';
import { createLogger } from '../../../src/lib/logger.js';
import { app, executeWith } from '../../helpers/app.js';
import { seedTenant } from '../../helpers/seed.js';
import { serveKeygate, type Gateway } from './support.js';

async function verify(target: Pick<App, 'yoga'>, query: string, headers: Record<string, string>, ip = '127.0.0.1') {
  const response = await target.yoga.fetch(`http://keygate.test/auth/verify${query}`, { method: 'GET', headers }, { req: { socket: { remoteAddress: ip } } });
  const body = response.status === 200 ? null : ((await response.json()) as { code?: string; reason?: string; message?: string });
  return { status: response.status, headers: response.headers, body };
}

async function jwks(target: Pick<App, 'yoga'>) {
  const response = await target.yoga.fetch('http://keygate.test/.well-known/jwks.json');
  expect(response.status).toBe(200);
  return createLocalJWKSet((await response.json()) as { keys: [] });
}

describe('GET /auth/verify', () => {
  it('200 with the principal token and ids for a valid key; the token verifies against the JWKS', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const answer = await verify(app, '', { 'x-api-key': key.secret });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-keygate-tenant-id')).toBe(seed.tenant.id);
    expect(answer.headers.get('x-keygate-key-id')).toBe(key.id);
    expect(answer.headers.get('x-keygate-user-id')).toBeNull();
    const { payload } = await jwtVerify(answer.headers.get('x-keygate-principal')!, await jwks(app), { issuer: 'keygate' });
    expect(payload).toMatchObject({ sub: `key:${key.id}`, kind: 'key', tenantId: seed.tenant.id, keyId: key.id });
    expect(payload.exp! - payload.iat!).toBe(60);
  });

  it('Envoy ext_authz style: the original path after /auth/verify/ is answered the same way', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const response = await app.yoga.fetch('http://keygate.test/auth/verify/orders/7?permission=projects:read', { headers: { 'x-api-key': key.secret } }, { req: { socket: { remoteAddress: '127.0.0.1' } } });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-keygate-key-id')).toBe(key.id);
    const denied = await app.yoga.fetch('http://keygate.test/auth/verify/orders/7', {}, { req: { socket: { remoteAddress: '127.0.0.1' } } });
    expect(denied.status).toBe(401);
  });

  it('a session (Authorization: Bearer) gets X-Keygate-User-Id', async () => {
    const seed = await seedTenant();
    const answer = await verify(app, '', { authorization: `Bearer ${seed.member.token}` });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-keygate-user-id')).toBe(seed.member.user.id);
  });

  it('401 without a credential, with a bad one, with a revoked key', async () => {
    const seed = await seedTenant();
    expect(await verify(app, '', {})).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED', reason: 'MISSING' } });
    expect(await verify(app, '', { 'x-api-key': 'kg_nonsense' })).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED' } });
    const key = await seed.createKey();
    await executeWith(app, `mutation ($id: ID!) { revokeApiKey(id: $id) { status } }`, { id: key.id }, { token: seed.admin.token });
    expect(await verify(app, '', { 'x-api-key': key.secret })).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED', reason: 'REVOKED' } });
  });

  it('permission: 200 when held, 403 when not, 400 for a name not in the catalogue', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    expect((await verify(app, '?permission=projects:read', { 'x-api-key': key.secret })).status).toBe(200);
    expect(await verify(app, '?permission=users:manage', { 'x-api-key': key.secret })).toMatchObject({
      status: 403,
      body: { code: 'FORBIDDEN', message: 'Missing permission users:manage.' },
    });
    expect(await verify(app, '?permission=nope', { 'x-api-key': key.secret })).toMatchObject({ status: 400, body: { code: 'BAD_USER_INPUT' } });
  });

  it('repeated permission or projectId: every one must hold; an empty one is 400, never "no requirement"', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey({ projectAccess: 'SELECTED', projectIds: [seed.project.id] });
    const asKey = { 'x-api-key': key.secret };
    expect((await verify(app, '?permission=projects:read&permission=data:deliver', asKey)).status).toBe(200);
    expect(await verify(app, '?permission=projects:read&permission=users:manage', asKey)).toMatchObject({ status: 403, body: { message: 'Missing permission users:manage.' } });
    expect(await verify(app, `?projectId=${seed.project.id}&projectId=${seed.workspace.id}`, asKey)).toMatchObject({ status: 403 });
    for (const query of ['?permission=', '?permission=%20', '?permission=projects:read&permission=']) {
      expect(await verify(app, query, asKey)).toMatchObject({ status: 400, body: { code: 'BAD_USER_INPUT', message: 'permission: must not be empty (leave permission out to require nothing)' } });
    }
    expect(await verify(app, '?projectId=', asKey)).toMatchObject({ status: 400, body: { code: 'BAD_USER_INPUT' } });
  });

  it('a requirement misspelled is 400, never "no requirement"; other parameters (an Envoy original query) are left alone', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const asKey = { 'x-api-key': key.secret };
    for (const [query, field] of [
      ['?Permission=users:manage', 'permission'],
      ['?permission[]=users:manage', 'permission'],
      ['?PERMISSION=users:manage&page=2', 'permission'],
      [`?projectID=${seed.project.id}`, 'projectId'],
      [`?projectid[]=${seed.project.id}`, 'projectId'],
    ]) {
      expect(await verify(app, query!, asKey), query).toMatchObject({ status: 400, body: { code: 'BAD_USER_INPUT', field } });
    }
    expect((await verify(app, '?page=2&sort=name', asKey)).status).toBe(200);
    expect((await verify(app, '/orders?page=2&permissions=x', asKey)).status).toBe(200);
  });

  it('projectId: 200 within the key\'s selection, 403 outside it or in another tenant', async () => {
    const seed = await seedTenant();
    const other = await seedTenant();
    const selected = await seed.createKey({ projectAccess: 'SELECTED', projectIds: [seed.project.id] });
    expect((await verify(app, `?projectId=${seed.project.id}`, { 'x-api-key': selected.secret })).status).toBe(200);
    expect((await verify(app, `?projectId=${other.project.id}`, { 'x-api-key': selected.secret })).status).toBe(403);
    const bound = await seed.createKey({ organizationId: seed.organization.id });
    expect((await verify(app, `?projectId=${seed.project.id}`, { 'x-api-key': bound.secret })).status).toBe(200);
  });

  it('403 from outside the key\'s IP allowlist; the client address comes through trusted proxies only', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey({ ipAllowlist: ['203.0.113.0/24'] });
    expect((await verify(app, '', { 'x-api-key': key.secret }, '203.0.113.9')).status).toBe(200);
    // Not trusted: X-Forwarded-For is ignored.
    expect((await verify(app, '', { 'x-api-key': key.secret, 'x-forwarded-for': '203.0.113.9' }, '10.0.0.1')).status).toBe(403);
    const behindProxy = createApp({ config: loadConfig({ ...process.env, KEYGATE_TRUSTED_PROXIES: '10.0.0.0/8' }), logger: createLogger('silent') });
    expect((await verify(behindProxy, '', { 'x-api-key': key.secret, 'x-forwarded-for': '203.0.113.9' }, '10.0.0.1')).status).toBe(200);
    expect((await verify(behindProxy, '', { 'x-api-key': key.secret, 'x-forwarded-for': '198.51.100.1' }, '10.0.0.1')).status).toBe(403);
  });

  it('counts in the key\'s rate limit (429 with Retry-After) and records last use', async () => {
    const limited = createApp({ config: loadConfig({ ...process.env, KEYGATE_RATE_LIMIT_PER_KEY: '2' }), logger: createLogger('silent') });
    const seed = await seedTenant();
    const key = await seed.createKey();
    expect((await verify(limited, '', { 'x-api-key': key.secret }, '198.51.100.7')).status).toBe(200);
    // A GraphQL request of the same key takes from the same allowance.
    expect((await executeWith(limited, `{ viewer { __typename } }`, undefined, { apiKey: key.secret })).status).toBe(200);
    const refused = await verify(limited, '', { 'x-api-key': key.secret }, '198.51.100.7');
    expect(refused).toMatchObject({ status: 429, body: { code: 'RATE_LIMITED' } });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    await limited.lastUsed.flush();
    const stored = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(stored.lastUsedIp).toBe('198.51.100.7');
    expect(stored.lastUsedAt).not.toBeNull();
  });

  it('wrong credentials count in the failed-credential throttle shared with /graphql', async () => {
    const throttled = createApp({ config: loadConfig({ ...process.env, KEYGATE_AUTH_FAILURE_LIMIT: '2' }), logger: createLogger('silent') });
    const seed = await seedTenant();
    const key = await seed.createKey();
    const ip = '198.51.100.77';
    expect((await verify(throttled, '', {}, ip)).status).toBe(401); // no credential: not a guess
    expect((await verify(throttled, '', { 'x-api-key': 'kg_wrong1' }, ip)).status).toBe(401);
    expect((await verify(throttled, '', { 'x-api-key': 'kg_wrong2' }, ip)).status).toBe(401);
    expect(await verify(throttled, '', { 'x-api-key': key.secret }, ip)).toMatchObject({ status: 429, body: { code: 'RATE_LIMITED' } });
    const graphql = await executeWith(throttled, `{ viewer { __typename } }`, undefined, { apiKey: key.secret, ip });
    expect(graphql.status).toBe(429);
    expect((await verify(throttled, '', { 'x-api-key': key.secret }, '198.51.100.78')).status).toBe(200);
  });
});

/**
 * `keygate serve` answers /auth/verify from Node's request, ahead of Yoga (endpoints.ts,
 * verifyNodeRequests): the same answers over real HTTP, through the listener it uses.
 */
describe('GET /auth/verify over HTTP (the listener keygate serve uses)', () => {
  let keygate: Gateway;
  beforeAll(async () => {
    // 127.0.0.1 is a trusted proxy here, so X-Forwarded-For names the client.
    keygate = await serveKeygate(async () => createApp({ config: loadConfig({ ...process.env, KEYGATE_TRUSTED_PROXIES: '127.0.0.1/32', KEYGATE_RATE_LIMIT_PER_KEY: '3' }), logger: createLogger('silent') }));
  });
  afterAll(() => keygate.close());

  async function overHttp(pathAndQuery: string, headers: Record<string, string>, method = 'GET') {
    const response = await fetch(`${keygate.url}${pathAndQuery}`, { method, headers });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as { code?: string; reason?: string; field?: string }) : null };
  }

  it('a valid key: 200 with ids and a principal token that verifies, Envoy paths and any method included', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const answer = await overHttp('/auth/verify?permission=projects:read', { 'x-api-key': key.secret });
    expect(answer).toMatchObject({ status: 200, body: null });
    expect(answer.headers.get('x-keygate-key-id')).toBe(key.id);
    expect(answer.headers.get('x-keygate-tenant-id')).toBe(seed.tenant.id);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    const { payload } = await jwtVerify(answer.headers.get('x-keygate-principal')!, await jwks(keygate.app), { issuer: 'keygate' });
    expect(payload).toMatchObject({ sub: `key:${key.id}`, kind: 'key', keyId: key.id });
    expect((await overHttp(`/auth/verify/orders/7?projectId=${seed.project.id}`, { 'x-api-key': key.secret }, 'POST')).status).toBe(200);
    expect((await overHttp('/auth/verify', { authorization: `Bearer ${seed.member.token}` })).headers.get('x-keygate-user-id')).toBe(seed.member.user.id);
  });

  it('refusals: 401 missing, bad or revoked; 403 without the permission or outside the allowlist; 400 for an unknown permission; 429 over the rate limit', async () => {
    const seed = await seedTenant();
    expect(await overHttp('/auth/verify', {})).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED', reason: 'MISSING' } });
    expect(await overHttp('/auth/verify', { authorization: 'Basic abc' })).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED', reason: 'INVALID' } });
    const revoked = await seed.createKey();
    await executeWith(keygate.app, `mutation ($id: ID!) { revokeApiKey(id: $id) { status } }`, { id: revoked.id }, { token: seed.admin.token });
    expect(await overHttp('/auth/verify', { 'x-api-key': revoked.secret })).toMatchObject({ status: 401, body: { reason: 'REVOKED' } });

    const allowlisted = await seed.createKey({ ipAllowlist: ['203.0.113.0/24'] });
    expect(await overHttp('/auth/verify?permission=users:manage', { 'x-api-key': allowlisted.secret, 'x-forwarded-for': '203.0.113.9' })).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    expect(await overHttp('/auth/verify', { 'x-api-key': allowlisted.secret, 'x-forwarded-for': '198.51.100.1' })).toMatchObject({ status: 403 });
    expect(await overHttp('/auth/verify?permission=nope', { 'x-api-key': allowlisted.secret, 'x-forwarded-for': '203.0.113.9' })).toMatchObject({ status: 400, body: { code: 'BAD_USER_INPUT', field: 'permission' } });
    const demanding = { 'x-api-key': (await seed.createKey()).secret };
    expect(await overHttp('/auth/verify?permission=', demanding)).toMatchObject({ status: 400, body: { field: 'permission' } });
    expect(await overHttp('/auth/verify?projectId=&permission=projects:read', demanding)).toMatchObject({ status: 400, body: { field: 'projectId' } });
    expect(await overHttp('/auth/verify?permission=projects:read&permission=users:manage', demanding)).toMatchObject({ status: 403 });

    const limited = await seed.createKey();
    for (let n = 0; n < 3; n++) expect((await overHttp('/auth/verify', { 'x-api-key': limited.secret })).status).toBe(200);
    const refused = await overHttp('/auth/verify', { 'x-api-key': limited.secret });
    expect(refused).toMatchObject({ status: 429, body: { code: 'RATE_LIMITED' } });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('counts in the key\'s usage: accepted, and rejected by reason', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    expect((await overHttp('/auth/verify', { 'x-api-key': key.secret })).status).toBe(200);
    expect((await overHttp('/auth/verify?permission=projects:read', { 'x-api-key': key.secret })).status).toBe(200);
    expect((await overHttp('/auth/verify?permission=users:manage', { 'x-api-key': key.secret })).status).toBe(403);
    expect((await overHttp('/auth/verify', { 'x-api-key': key.secret })).status).toBe(429);
    await keygate.app.usage.flush();
    const rows = await db.apiKeyUsageCount.findMany({ where: { apiKeyId: key.id } });
    const total = (column: 'accepted' | 'rejectedForbidden' | 'rejectedRateLimit') => rows.reduce((sum, row) => sum + row[column], 0);
    expect([total('accepted'), total('rejectedForbidden'), total('rejectedRateLimit')]).toEqual([2, 1, 1]);
  });

  it('records last use with the client address, and serves everything else through Yoga', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    expect((await overHttp('/auth/verify', { 'x-api-key': key.secret, 'x-forwarded-for': '198.51.100.23' })).status).toBe(200);
    await keygate.app.lastUsed.flush();
    expect(await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).toMatchObject({ lastUsedIp: '198.51.100.23' });
    const graphql = await fetch(`${keygate.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key.secret }, body: JSON.stringify({ query: '{ viewer { kind } }' }) });
    expect(await graphql.json()).toEqual({ data: { viewer: { kind: 'API_KEY' } } });
    expect((await fetch(`${keygate.url}/auth/verifyish`)).status).toBe(404);
  });
});

/**
 * Without a rate limit to count, a cached credential is answered before the listener returns
 * (endpoints.ts, answerVerify: no promise on the warm path). The same answers as the awaited
 * path: refusals of a cached key or session, revocation at once, usage, last use, the
 * failed-credential throttle.
 */
describe('GET /auth/verify, warm path (a cached credential, no rate limit set)', () => {
  let keygate: Gateway;
  beforeAll(async () => {
    keygate = await serveKeygate(async () =>
      createApp({ config: loadConfig({ ...process.env, KEYGATE_TRUSTED_PROXIES: '127.0.0.1/32', KEYGATE_AUTH_FAILURE_LIMIT: '3' }), logger: createLogger('silent') }),
    );
  });
  afterAll(() => keygate.close());

  /** Asks the listener directly: `written` says whether the answer was written before it returned. */
  function askDirectly(headers: Record<string, string>, remoteAddress = '127.0.0.1') {
    const answer: { written: boolean; status?: number; headers?: Record<string, string>; body?: string } = { written: false };
    const res = {
      writeHead(status: number, written: Record<string, string>) {
        Object.assign(answer, { status, headers: written });
        return res;
      },
      end(body?: string) {
        Object.assign(answer, { written: true, body });
      },
    };
    keygate.app.handleNodeRequest({ url: '/auth/verify', method: 'GET', headers, socket: { remoteAddress } } as never, res as never);
    const writtenAtOnce = answer.written;
    return { writtenAtOnce, answer };
  }

  async function overHttp(headers: Record<string, string>) {
    const response = await fetch(`${keygate.url}/auth/verify`, { headers });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as { code?: string; reason?: string }) : null };
  }

  it('a cached key is answered at once, with the same token; revoked, it is refused at once', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const asKey = { 'x-api-key': key.secret, 'x-forwarded-for': '198.51.100.140' };
    const first = await overHttp(asKey);
    expect(first.status).toBe(200);
    const warm = askDirectly(asKey);
    expect(warm.writtenAtOnce).toBe(true);
    expect(warm.answer).toMatchObject({ status: 200, headers: { 'x-keygate-key-id': key.id, 'x-keygate-tenant-id': seed.tenant.id, 'x-keygate-principal': first.headers.get('x-keygate-principal') } });

    await executeWith(keygate.app, `mutation ($id: ID!) { revokeApiKey(id: $id) { status } }`, { id: key.id }, { token: seed.admin.token });
    expect(await overHttp(asKey)).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED', reason: 'REVOKED' } });
    const refused = askDirectly(asKey);
    expect(refused.answer.status ?? (await until(() => refused.answer.status))).toBe(401);
  });

  it('a cached key outside its allowlist: 403 each time, each counted as an IP refusal; inside it, last use records the address', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey({ ipAllowlist: ['203.0.113.0/24'] });
    for (let n = 0; n < 3; n++) {
      expect(await overHttp({ 'x-api-key': key.secret, 'x-forwarded-for': '198.51.100.4' })).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    }
    expect((await overHttp({ 'x-api-key': key.secret, 'x-forwarded-for': '203.0.113.4' })).status).toBe(200);
    expect(askDirectly({ 'x-api-key': key.secret, 'x-forwarded-for': '203.0.113.5' }).answer.status).toBe(200);
    await keygate.app.usage.flush();
    await keygate.app.lastUsed.flush();
    const rows = await db.apiKeyUsageCount.findMany({ where: { apiKeyId: key.id } });
    expect([rows.reduce((sum, row) => sum + row.accepted, 0), rows.reduce((sum, row) => sum + row.rejectedIpAddress, 0)]).toEqual([2, 3]);
    expect(await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).toMatchObject({ lastUsedIp: '203.0.113.5' });
  });

  it('a cached session is answered at once; signed out, it is refused', async () => {
    const seed = await seedTenant();
    // An address of its own: one that guessed before (the revoked key above) is looked up, not answered at once.
    const bearer = { authorization: `Bearer ${seed.member.token}`, 'x-forwarded-for': '198.51.100.150' };
    expect((await overHttp(bearer)).headers.get('x-keygate-user-id')).toBe(seed.member.user.id);
    const warm = askDirectly(bearer);
    expect(warm).toMatchObject({ writtenAtOnce: true, answer: { status: 200, headers: { 'x-keygate-user-id': seed.member.user.id } } });
    await executeWith(keygate.app, 'mutation { signOut }', {}, { token: seed.member.token });
    expect(await overHttp(bearer)).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED' } });
  });

  it('a wrong key, cached as unknown, still counts as a guess each time: the address is throttled at the limit', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const wrong = `${key.secret.slice(0, -8)}${key.secret.slice(-8).split('').reverse().join('')}`;
    const guesser = { 'x-forwarded-for': '198.51.100.201' };
    const statuses: number[] = [];
    for (let n = 0; n < 4; n++) statuses.push((await overHttp({ ...guesser, 'x-api-key': wrong })).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    // Throttled, even with the right key.
    expect((await overHttp({ ...guesser, 'x-api-key': key.secret })).status).toBe(429);
    expect((await overHttp({ 'x-forwarded-for': '198.51.100.202', 'x-api-key': key.secret })).status).toBe(200);
  });
});

async function until<T>(read: () => T | undefined, timeoutMs = 2_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('no answer in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
