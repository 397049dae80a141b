/**
 * The upstream lane (src/gateway/upstream-lane.ts): over real HTTP, an operation a full Yoga
 * request already sent to one upstream whole is answered again without Yoga, with the same
 * answer Yoga gives; everything the lane does not take reaches Yoga with its body, and what
 * the lane did before handing over (authentication, a rate-limit refusal) is not repeated:
 * usage, failures and rate limits count each request once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { executeWith } from '../../helpers/app.js';
import { seedTenant } from '../../helpers/seed.js';
import { budgetedShopKey, startShopBehindKeygate, tenantWithKeyPermissions } from './support.js';

type Rig = Awaited<ReturnType<typeof startShopBehindKeygate>>;
type Answer = { status: number; contentType: string | null; retryAfter: string | null; body: unknown };

let rig: Rig;

beforeAll(async () => {
  rig = await startShopBehindKeygate();
});
afterAll(async () => {
  await rig?.close();
});

const WhoAmI = JSON.stringify({ query: '{ shopWhoAmI { kind keyId sawCredential } }' });
const Orders = 'query Orders($projectId: ID!) { shopOrders(projectId: $projectId) { id projectId } }';

/** A key whose group holds `permissions`, with the header that sends it. */
async function keyWith(permissions: string[], input: { ipAllowlist?: string[] } = {}) {
  const { seed, createKey } = await tenantWithKeyPermissions(permissions);
  const key = await createKey(input);
  return { seed, key, headers: { 'x-api-key': key.secret } };
}

/** POST /graphql over HTTP, as `keygate serve` gets it. */
async function overHttp(target: Rig, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${target.gateway.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: response.status, contentType: response.headers.get('content-type'), retryAfter: response.headers.get('retry-after'), body: await response.json() };
}

/** The same request answered by Yoga alone (`yoga.fetch`, no lane). */
async function throughYoga(target: Rig, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await target.gateway.app.yoga.fetch(
    'http://keygate.test/graphql',
    { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body },
    { req: { socket: { remoteAddress: '127.0.0.1' } } },
  );
  return { status: response.status, contentType: response.headers.get('content-type'), retryAfter: response.headers.get('retry-after'), body: await response.json() };
}

/** How many requests the lane has answered itself so far. */
function laneAnswered(target: Rig): number {
  return target.gateway.app.upstreamLane!.answered;
}

async function usageOf(target: Rig, apiKeyId: string) {
  await target.gateway.app.usage.flush();
  const rows = await db.apiKeyUsageCount.findMany({ where: { apiKeyId } });
  const sum = (pick: (row: (typeof rows)[number]) => number) => rows.reduce((total, row) => total + pick(row), 0);
  return { accepted: sum((r) => r.accepted), forbidden: sum((r) => r.rejectedForbidden), ipAddress: sum((r) => r.rejectedIpAddress), rateLimit: sum((r) => r.rejectedRateLimit) };
}

describe('the upstream lane answers a known whole-upstream operation without Yoga', () => {
  it('the first request goes through Yoga, the next ones through the lane, with the same answer, usage and last use', async () => {
    const { key, headers } = await keyWith(['upstream:shop']);
    const before = laneAnswered(rig);
    const first = await overHttp(rig, WhoAmI, headers);
    expect(laneAnswered(rig)).toBe(before); // Yoga answered, and remembered the plan
    const sentBefore = rig.shop.queries.length;
    const again = await overHttp(rig, WhoAmI, headers);
    expect(laneAnswered(rig)).toBe(before + 1);
    expect(rig.shop.queries.length).toBe(sentBefore + 1);
    expect(again).toEqual(first);
    expect(again).toEqual({ status: 200, contentType: 'application/json; charset=utf-8', retryAfter: null, body: { data: { shopWhoAmI: { kind: 'key', keyId: key.id, sawCredential: false } } } });
    expect(await throughYoga(rig, WhoAmI, headers)).toEqual(again);
    // The upstream got the principal token, never the key.
    const lastHeaders = rig.shop.received.at(-1)!;
    expect(lastHeaders.get('x-keygate-principal')).toMatch(/^ey/);
    expect([...lastHeaders.values()].join('\n')).not.toContain(key.secret);
    expect(await usageOf(rig, key.id)).toMatchObject({ accepted: 3 });
    await rig.gateway.app.lastUsed.flush();
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).lastUsedAt).not.toBeNull();
  });

  it('variables and the operation name reach the upstream; its errors come back as Yoga gives them', async () => {
    const { seed, headers } = await keyWith(['upstream:shop']);
    const ask = (projectId: string) => JSON.stringify({ query: Orders, operationName: 'Orders', variables: { projectId } });
    await overHttp(rig, ask(seed.project.id), headers); // Yoga; the plan is remembered
    const before = laneAnswered(rig);
    const mine = await overHttp(rig, ask(seed.project.id), headers);
    expect(mine.body).toEqual({ data: { shopOrders: [{ id: `order-${seed.project.id}`, projectId: seed.project.id }] } });
    const outOfStock = JSON.stringify({ query: '{ shopOutOfStock }' });
    await overHttp(rig, outOfStock, headers);
    const failed = await overHttp(rig, outOfStock, headers);
    expect(laneAnswered(rig)).toBe(before + 2); // all but the first outOfStock
    expect(failed).toEqual(await throughYoga(rig, outOfStock, headers));
    expect(failed.body).toMatchObject({ data: { shopOutOfStock: null }, errors: [{ message: 'Out of stock.', extensions: { code: 'OUT_OF_STOCK' } }] });
  });

  it('a session is answered by the lane too, as a user', async () => {
    const seed = await seedTenant(); // its administrator holds the whole catalogue, upstream permissions included
    const session = { authorization: `Bearer ${seed.admin.token}` };
    const asUser = JSON.stringify({ query: '{ shopWhoAmI { kind userId keyId } }' });
    await overHttp(rig, asUser, session);
    const before = laneAnswered(rig);
    const answer = await overHttp(rig, asUser, session);
    expect(laneAnswered(rig)).toBe(before + 1);
    expect(answer).toEqual(await throughYoga(rig, asUser, session));
    expect(answer.body).toEqual({ data: { shopWhoAmI: { kind: 'session', userId: seed.admin.user.id, keyId: null } } });
  });

  it('answers application/graphql-response+json as Yoga does; an Accept it does not know goes to Yoga', async () => {
    const { headers } = await keyWith(['upstream:shop']);
    await overHttp(rig, WhoAmI, headers);
    const before = laneAnswered(rig);
    const graphqlResponse = { ...headers, accept: 'application/graphql-response+json' };
    const answer = await overHttp(rig, WhoAmI, graphqlResponse);
    expect(laneAnswered(rig)).toBe(before + 1);
    expect(answer).toEqual(await throughYoga(rig, WhoAmI, graphqlResponse));
    expect(answer.contentType).toBe('application/graphql-response+json; charset=utf-8');
    const unusual = { ...headers, accept: 'application/json;q=0.9, text/plain' };
    expect(await overHttp(rig, WhoAmI, unusual)).toEqual(await throughYoga(rig, WhoAmI, unusual));
    expect(laneAnswered(rig)).toBe(before + 1);
  });
});

describe('what the lane does not answer reaches Yoga, counted once', () => {
  it('a key without the permission: FORBIDDEN from Yoga, nothing sent upstream, one rejection counted', async () => {
    const allowed = await keyWith(['upstream:shop']);
    await overHttp(rig, WhoAmI, allowed.headers); // the plan exists
    const { key, headers } = await keyWith(['upstream:shop:Query.shopOrders']);
    const sentBefore = rig.shop.queries.length;
    const refused = await overHttp(rig, WhoAmI, headers);
    expect(refused.body).toMatchObject({ errors: [{ extensions: { code: 'FORBIDDEN' } }] });
    expect(refused).toEqual(await throughYoga(rig, WhoAmI, headers));
    expect(rig.shop.queries.length).toBe(sentBefore);
    expect(await usageOf(rig, key.id)).toMatchObject({ accepted: 0, forbidden: 2 }); // once over HTTP, once through Yoga
  });

  it('a key whose group sets controls (a cost budget) is left to Yoga, which prices and charges it', async () => {
    const allowed = await keyWith(['upstream:shop']);
    await overHttp(rig, WhoAmI, allowed.headers); // the plan exists
    const key = await budgetedShopKey(await seedTenant(), 100);
    const before = laneAnswered(rig);
    const answer = await overHttp(rig, WhoAmI, { 'x-api-key': key.secret });
    expect(laneAnswered(rig)).toBe(before);
    expect(answer.body).toMatchObject({ data: { shopWhoAmI: { kind: 'key' } }, extensions: { cost: { requested: 6.5, remaining: 93 } } }); // 2 + 1.5 × 3 fields, charged as 7
  });

  it('a revoked key and no key at all get Yoga\'s answers', async () => {
    const { seed, key, headers } = await keyWith(['upstream:shop']);
    await overHttp(rig, WhoAmI, headers);
    await overHttp(rig, WhoAmI, headers);
    const revoked = await executeWith(rig.gateway.app, 'mutation ($id: ID!) { revokeApiKey(id: $id) { status } }', { id: key.id }, { token: seed.admin.token });
    expect(revoked.errors).toBeUndefined();
    const refused = await overHttp(rig, WhoAmI, headers);
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ errors: [{ extensions: { code: 'UNAUTHENTICATED', reason: 'REVOKED' } }] });
    const anonymous = await overHttp(rig, WhoAmI);
    expect(anonymous).toEqual(await throughYoga(rig, WhoAmI));
    expect(anonymous.body).toMatchObject({ errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] });
  });

  it('over the rate limit: 429 with Retry-After, counted once per request', async () => {
    const local = await startShopBehindKeygate({ KEYGATE_RATE_LIMIT_PER_KEY: '3' });
    try {
      const { key, headers } = await keyWith(['upstream:shop']);
      const answers: Answer[] = [];
      for (let i = 0; i < 5; i++) answers.push(await overHttp(local, WhoAmI, headers));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429, 429]);
      expect(answers[4]).toMatchObject({ body: { errors: [{ extensions: { code: 'RATE_LIMITED' } }] } });
      expect(Number(answers[4]!.retryAfter)).toBeGreaterThan(0);
      expect(await usageOf(local, key.id)).toMatchObject({ accepted: 3, rateLimit: 2 });
    } finally {
      await local.close();
    }
  });

  it('an address outside the key\'s allowlist: 403, one IP_ADDRESS rejection per request', async () => {
    const allowed = await keyWith(['upstream:shop']);
    await overHttp(rig, WhoAmI, allowed.headers);
    const { key, headers } = await keyWith(['upstream:shop'], { ipAllowlist: ['203.0.113.0/24'] });
    const refused = await overHttp(rig, WhoAmI, headers);
    expect(refused.status).toBe(403);
    expect(await usageOf(rig, key.id)).toMatchObject({ accepted: 0, ipAddress: 1 });
  });

  it('repeated wrong credentials are throttled after the limit, each counted once', async () => {
    const local = await startShopBehindKeygate({ KEYGATE_AUTH_FAILURE_LIMIT: '2' });
    try {
      const { seed, key, headers } = await keyWith(['upstream:shop']);
      await overHttp(local, WhoAmI, headers); // the plan exists
      await executeWith(local.gateway.app, 'mutation ($id: ID!) { revokeApiKey(id: $id) { status } }', { id: key.id }, { token: seed.admin.token });
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await overHttp(local, WhoAmI, headers)).status);
      expect(statuses).toEqual([401, 401, 429]);
    } finally {
      await local.close();
    }
  });

  it('requests of other shapes reach Yoga with their body: keygate fields, batches, extensions, browsers', async () => {
    const { seed, headers } = await keyWith(['upstream:shop']);
    await overHttp(rig, WhoAmI, headers);
    const own = await overHttp(rig, JSON.stringify({ query: '{ viewer { kind } }' }), { authorization: `Bearer ${seed.admin.token}` });
    expect(own.body).toEqual({ data: { viewer: { kind: 'SESSION' } } });
    const withExtensions = JSON.stringify({ query: '{ shopWhoAmI { kind keyId sawCredential } }', extensions: { client: 'test' } });
    expect((await overHttp(rig, withExtensions, headers)).body).toMatchObject({ data: { shopWhoAmI: { kind: 'key' } } });
    const fromBrowser = await overHttp(rig, WhoAmI, { ...headers, origin: 'https://evil.example' });
    expect(fromBrowser).toEqual(await throughYoga(rig, WhoAmI, { ...headers, origin: 'https://evil.example' }));
    const notJson = await overHttp(rig, '{"query": ', headers);
    expect(notJson).toEqual(await throughYoga(rig, '{"query": ', headers));
    expect(notJson.status).toBe(400);
  });
});

describe('request shapes the lane leaves to Yoga, and what reaches the upstream', () => {
  it('a large body reaches Yoga whole after the lane read it', async () => {
    const { seed } = await keyWith([]);
    const padding = 'x'.repeat(600_000);
    const body = JSON.stringify({ query: '{ viewer { kind } }', variables: { pad: padding } }); // variables it does not declare are ignored
    const answer = await overHttp(rig, body, { authorization: `Bearer ${seed.admin.token}` });
    expect(answer).toMatchObject({ status: 200, body: { data: { viewer: { kind: 'SESSION' } } } });
  });

  it('a Content-Type Yoga does not take is not taken by the lane either', async () => {
    const { headers } = await keyWith(['upstream:shop']);
    await overHttp(rig, WhoAmI, headers);
    const before = laneAnswered(rig);
    const odd = { ...headers, 'content-type': 'Application/JSON' };
    const overTheWire = await fetch(`${rig.gateway.url}/graphql`, { method: 'POST', headers: odd, body: WhoAmI });
    const viaYoga = await rig.gateway.app.yoga.fetch('http://keygate.test/graphql', { method: 'POST', headers: odd, body: WhoAmI }, { req: { socket: { remoteAddress: '127.0.0.1' } } });
    expect(laneAnswered(rig)).toBe(before);
    expect([overTheWire.status, await overTheWire.text()]).toEqual([viaYoga.status, await viaYoga.text()]);
    expect(overTheWire.status).toBe(415);
  });

  it('a document with several operations never reaches the upstream whole: its other operations stay in keygate', async () => {
    const { headers } = await keyWith(['upstream:shop']);
    const document = 'query Mine { shopWhoAmI { kind } } mutation Other { signIn(email: "a@example.test", password: "not-for-the-upstream") { token } }';
    const body = JSON.stringify({ query: document, operationName: 'Mine' });
    const sentBefore = rig.shop.queries.length;
    await overHttp(rig, body, headers);
    const before = laneAnswered(rig);
    const answer = await overHttp(rig, body, headers);
    expect(laneAnswered(rig)).toBe(before);
    expect(answer.body).toEqual({ data: { shopWhoAmI: { kind: 'key' } } });
    const sent = rig.shop.queries.slice(sentBefore);
    expect(sent).toHaveLength(2);
    for (const text of sent) expect(text).not.toContain('not-for-the-upstream');
  });
});

describe('variables and names the lane leaves to Yoga', () => {
  it('variables Yoga refuses (a NUL character, a wrong type) get Yoga’s BAD_USER_INPUT and never reach the upstream', async () => {
    const { seed, headers } = await keyWith(['upstream:shop']);
    const ask = (projectId: unknown) => JSON.stringify({ query: Orders, operationName: 'Orders', variables: { projectId } });
    await overHttp(rig, ask(seed.project.id), headers); // Yoga; the plan is remembered
    const sentBefore = rig.shop.queries.length;
    for (const projectId of ['a\u0000b', { not: 'an id' }, null]) {
      const answer = await overHttp(rig, ask(projectId), headers);
      expect(answer).toEqual(await throughYoga(rig, ask(projectId), headers));
      expect(answer.body).toMatchObject({ errors: [{ extensions: { code: 'BAD_USER_INPUT' } }] });
      expect(JSON.stringify(answer.body)).not.toContain('an id');
    }
    expect(rig.shop.queries.length).toBe(sentBefore);
  });

  it('only the declared variables reach the upstream, as coerced for execution', async () => {
    const { seed, headers } = await keyWith(['upstream:shop']);
    const body = JSON.stringify({ query: Orders, operationName: 'Orders', variables: { projectId: seed.project.id, undeclared: 'kg_not_for_the_upstream' } });
    await overHttp(rig, body, headers); // Yoga
    const before = laneAnswered(rig);
    await overHttp(rig, body, headers); // the lane
    expect(laneAnswered(rig)).toBe(before + 1);
    expect(rig.shop.variables.slice(-2)).toEqual([{ projectId: seed.project.id }, { projectId: seed.project.id }]);
  });

  it('an empty operation name is refused as Yoga refuses it, never a 500', async () => {
    const { headers } = await keyWith(['upstream:shop']);
    await overHttp(rig, WhoAmI, headers); // the plan of the unnamed operation
    const empty = JSON.stringify({ query: '{ shopWhoAmI { kind keyId sawCredential } }', operationName: '' });
    const answer = await overHttp(rig, empty, headers);
    expect(answer).toEqual(await throughYoga(rig, empty, headers));
    expect(answer.status).toBe(400);
  });
});

describe('the lane and an upstream that is down', () => {
  it('UPSTREAM_UNAVAILABLE with HTTP 502, as through Yoga', async () => {
    const local = await startShopBehindKeygate();
    try {
      const { headers } = await keyWith(['upstream:shop']);
      expect((await overHttp(local, WhoAmI, headers)).status).toBe(200);
      await local.shop.close();
      const before = laneAnswered(local);
      const down = await overHttp(local, WhoAmI, headers);
      expect(laneAnswered(local)).toBe(before + 1);
      expect(down).toEqual(await throughYoga(local, WhoAmI, headers));
      expect(down).toMatchObject({ status: 502, body: { data: null, errors: [{ path: ['shopWhoAmI'], extensions: { code: 'UPSTREAM_UNAVAILABLE' } }] } });
    } finally {
      await local.gateway.close();
    }
  });
});
