/**
 * Gateway mode (issue 14): an upstream Yoga service's root fields served by keygate, with
 * keygate's permissions, organization binding, project access and revocation applied, the
 * principal delivered as a JWT the upstream verifies against keygate's JWKS, and upstream
 * failures reported per field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { upstreamFieldPermission } from '../../../src/gateway/index.js';
import { errorOf, executeWith } from '../../helpers/app.js';
import { unique } from '../../helpers/seed.js';
import { createLogger } from '../../../src/lib/logger.js';
import { budgetedShopKey, closeServer, tenantWithKeyPermissions, gatewayApp, listen, startShopBehindKeygate, upstreamsFile } from './support.js';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';

let rig: Awaited<ReturnType<typeof startShopBehindKeygate>>;

beforeAll(async () => {
  rig = await startShopBehindKeygate();
});
afterAll(async () => {
  await rig?.close();
});

const WhoAmI = `{ shopWhoAmI { subject kind tenantId organizationId projectAccess projectIds permissions keyId userId sawCredential } }`;
const Orders = `query ($projectId: ID!) { shopOrders(projectId: $projectId) { id projectId item } }`;
const PlaceOrder = `mutation ($projectId: ID!) { shopPlaceOrder(projectId: $projectId, item: "gear") { id item } }`;

function call(query: string, variables: Record<string, unknown> | undefined, apiKey: string) {
  return executeWith(rig.gateway.app, query, variables, { apiKey });
}

describe('gateway mode: upstream GraphQL services', () => {
  it('serves the upstream fields; the upstream verifies the principal JWT against the JWKS and never sees the key', async () => {
    const { seed, group, createKey } = await tenantWithKeyPermissions(['upstream:shop']);
    const key = await createKey();
    const result = await call(WhoAmI, undefined, key.secret);
    expect(result.errors).toBeUndefined();
    expect((result.data as any).shopWhoAmI).toMatchObject({
      subject: `key:${key.id}`,
      kind: 'key',
      tenantId: seed.tenant.id,
      organizationId: null,
      projectAccess: 'ALL',
      projectIds: [],
      keyId: key.id,
      userId: null,
      sawCredential: false,
    });
    expect((result.data as any).shopWhoAmI.permissions).toEqual(['projects:read', 'upstream:shop']);
    // The secret reached no upstream request, in any header.
    for (const headers of rig.shop.received) {
      expect([...headers.values()].join('\n')).not.toContain(key.secret);
    }
    expect(group.permissions).toContain('upstream:shop');
  });

  it('keygate fields and upstream fields in one request; a session principal is a user', async () => {
    const { seed } = await tenantWithKeyPermissions([]);
    // A tenant administrator holds the whole catalogue, upstream permissions included.
    const result = await executeWith(rig.gateway.app, `{ viewer { __typename } shopWhoAmI { kind userId tenantId } }`, undefined, { token: seed.admin.token });
    expect(result.errors).toBeUndefined();
    expect((result.data as any).shopWhoAmI).toEqual({ kind: 'session', userId: seed.admin.user.id, tenantId: seed.tenant.id });
  });

  it('without upstream:shop or the field permission: FORBIDDEN before the upstream is asked', async () => {
    const { seed, createKey } = await tenantWithKeyPermissions([]);
    const key = await createKey();
    const before = rig.shop.received.length;
    const refused = await call(Orders, { projectId: seed.project.id }, key.secret);
    expect(errorOf(refused)).toMatchObject({ code: 'FORBIDDEN', message: 'Missing permission upstream:shop or upstream:shop:Query.shopOrders.' });
    expect(rig.shop.received.length).toBe(before);
    // keygate's own fields stay as they were for this key.
    const own = await call(`{ projects(first: 1) { totalCount } }`, undefined, key.secret);
    expect(own.errors).toBeUndefined();
    // …their refusals too, with their codes, through the composed schema.
    expect(errorOf(await call(`{ users(first: 1) { totalCount } }`, undefined, key.secret))).toMatchObject({ code: 'FORBIDDEN' });
    expect(errorOf(await call(WhoAmI, undefined, 'kg_not-a-key'))).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    expect(errorOf(await executeWith(rig.gateway.app, WhoAmI, undefined, {}))).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'MISSING' });
  });

  it('a field permission opens that root field only', async () => {
    const { seed, createKey } = await tenantWithKeyPermissions(['upstream:shop:Query.shopOrders']);
    const key = await createKey();
    const orders = await call(Orders, { projectId: seed.project.id }, key.secret);
    expect(orders.errors).toBeUndefined();
    expect((orders.data as any).shopOrders).toEqual([{ id: `order-${seed.project.id}`, projectId: seed.project.id, item: 'widget' }]);
    expect(errorOf(await call(PlaceOrder, { projectId: seed.project.id }, key.secret))).toMatchObject({ code: 'FORBIDDEN' });
    expect(errorOf(await call(WhoAmI, undefined, key.secret))).toMatchObject({ code: 'FORBIDDEN' });
  });

  it("a key's schema view (GET /schema.graphql) lists exactly the upstream fields its permissions open", async () => {
    const { createKey } = await tenantWithKeyPermissions(['upstream:shop:Query.shopOrders']);
    const key = await createKey();
    const response = await rig.gateway.app.yoga.fetch('http://keygate.test/schema.graphql', { headers: { 'x-api-key': key.secret } });
    expect(response.status).toBe(200);
    const sdl = await response.text();
    expect(sdl).toContain('shopOrders(');
    expect(sdl).not.toContain('shopPlaceOrder');
    expect(sdl).not.toContain('shopWhoAmI');
    // keygate's own fields follow their own rules in the same view.
    expect(sdl).toContain('projects(');
    expect(sdl).not.toContain('createTenant');
  });

  it('mutations go through with upstream:shop:Mutation.<field>', async () => {
    const { seed, createKey } = await tenantWithKeyPermissions(['upstream:shop:Mutation.shopPlaceOrder']);
    const key = await createKey();
    const placed = await call(PlaceOrder, { projectId: seed.project.id }, key.secret);
    expect(placed.errors).toBeUndefined();
    expect((placed.data as any).shopPlaceOrder).toEqual({ id: 'order-new', item: 'gear' });
  });

  it('organization binding and project selection travel in the token; the upstream enforces the selection', async () => {
    const { seed, createKey } = await tenantWithKeyPermissions(['upstream:shop']);
    const key = await createKey({ organizationId: seed.organization.id, projectAccess: 'SELECTED', projectIds: [seed.project.id] });
    const who = await call(WhoAmI, undefined, key.secret);
    expect((who.data as any).shopWhoAmI).toMatchObject({ organizationId: seed.organization.id, projectAccess: 'SELECTED', projectIds: [seed.project.id] });
    expect((await call(Orders, { projectId: seed.project.id }, key.secret)).errors).toBeUndefined();
    // Another project: the upstream's own error, with its code, reaches the client.
    const other = await call(Orders, { projectId: 'some-other-project' }, key.secret);
    expect(errorOf(other)).toMatchObject({ code: 'PROJECT_FORBIDDEN', message: 'This principal has no access to the project.' });
  });

  it('upstream errors keep their code; the field that failed is named', async () => {
    const { createKey } = await tenantWithKeyPermissions(['upstream:shop']);
    const key = await createKey();
    const result = await call(`{ shopOutOfStock }`, undefined, key.secret);
    expect(result.status).toBe(200);
    expect(result.errors?.[0]).toMatchObject({ message: 'Out of stock.', extensions: { code: 'OUT_OF_STOCK' }, path: ['shopOutOfStock'] });
  });

  it('revocation reaches gateway traffic at once (the same key cache as keygate fields)', async () => {
    const { seed, createKey } = await tenantWithKeyPermissions(['upstream:shop']);
    const key = await createKey();
    expect((await call(WhoAmI, undefined, key.secret)).errors).toBeUndefined();
    const revoked = await executeWith(rig.gateway.app, `mutation ($id: ID!) { revokeApiKey(id: $id) { status } }`, { id: key.id }, { token: seed.admin.token });
    expect(revoked.errors).toBeUndefined();
    const before = rig.shop.received.length;
    const after = await call(WhoAmI, undefined, key.secret);
    expect(errorOf(after)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', reason: 'REVOKED' });
    expect(rig.shop.received.length).toBe(before);
  });

  it('trusted documents may hold upstream fields: a TRUSTED_ONLY key runs them by documentId, and nothing else', async () => {
    const { seed, group, createKey } = await tenantWithKeyPermissions(['upstream:shop']);
    await db.authorizationGroup.update({ where: { id: group.id }, data: { operationPolicy: 'TRUSTED_ONLY' } });
    const key = await createKey();
    const alone = 'query Who { shopWhoAmI { kind keyId } }';
    const mixed = 'query WhoAndProjects { shopWhoAmI { kind } projects(first: 1) { totalCount } }';
    const ADD = 'mutation ($g: ID!, $d: [String!]) { addTrustedDocuments(authorizationGroupId: $g, documents: $d) { id } }';
    const added = await executeWith<{ addTrustedDocuments: { id: string }[] }, unknown>(rig.gateway.app, ADD, { g: group.id, d: [alone, mixed] }, { token: seed.admin.token });
    expect(added.errors).toBeUndefined();
    expect(added.data?.addTrustedDocuments.map((document) => document.id)).toEqual([alone, mixed].map((text) => `sha256:${createHash('sha256').update(text).digest('hex')}`));

    const byId = async (documentId: string) => {
      const response = await rig.gateway.app.yoga.fetch(
        'http://keygate.test/graphql',
        { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key.secret }, body: JSON.stringify({ documentId }) },
        { req: { socket: { remoteAddress: '127.0.0.1' } } },
      );
      return { status: response.status, ...((await response.json()) as { data?: any; errors?: any[] }) };
    };
    const [who, both] = await Promise.all(added.data!.addTrustedDocuments.map((document) => byId(document.id)));
    expect(who).toMatchObject({ status: 200, data: { shopWhoAmI: { kind: 'key', keyId: key.id } } });
    expect(both).toMatchObject({ status: 200, data: { shopWhoAmI: { kind: 'key' }, projects: { totalCount: 1 } } });
    const untrusted = await call('{ shopWhoAmI { subject } }', undefined, key.secret);
    expect(untrusted.status).toBe(403);
    expect(errorOf(untrusted).code).toBe('OPERATION_NOT_TRUSTED');
  });

  it('the catalogue lists the upstream permissions, and groups accept them (unknown upstreams are refused)', async () => {
    const catalogue = await executeWith(rig.gateway.app, `{ permissionCatalogue permissions { name description } }`, undefined, {});
    const names = (catalogue.data as any).permissionCatalogue as string[];
    expect(names).toEqual(expect.arrayContaining(['upstream:shop', 'upstream:shop:Query.shopOrders', 'upstream:shop:Mutation.shopPlaceOrder']));
    const described = (catalogue.data as any).permissions.find((p: any) => p.name === 'upstream:shop');
    expect(described.description).toContain('shop');

    const { seed } = await tenantWithKeyPermissions([]);
    const unknown = await executeWith(
      rig.gateway.app,
      `mutation ($input: CreateAuthorizationGroupInput!) { createAuthorizationGroup(input: $input) { id } }`,
      { input: { name: unique('Bad'), type: 'TENANT_API_KEY', permissions: ['upstream:billing'] } },
      { token: seed.admin.token },
    );
    expect(errorOf(unknown)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'permissions' });
    const stored = await db.authorizationGroup.findMany({ where: { tenantId: seed.tenant.id } });
    expect(stored.some((g) => JSON.stringify(g.permissions).includes('upstream:billing'))).toBe(false);
  });

  it('upstreamFieldPermission tells which permissions open an upstream root field (null for keygate fields)', () => {
    expect(upstreamFieldPermission('Query', 'shopOrders')).toEqual({ upstream: 'shop', anyOf: ['upstream:shop', 'upstream:shop:Query.shopOrders'] });
    expect(upstreamFieldPermission('Query', 'projects')).toBeNull();
  });
});

describe('gateway mode: /auth/verify asks upstream permissions as the GraphQL API does', () => {
  const verify = async (query: string, apiKey: string) => {
    const response = await rig.gateway.app.yoga.fetch(`http://keygate.test/auth/verify${query}`, { headers: { 'x-api-key': apiKey } }, { req: { socket: { remoteAddress: '127.0.0.1' } } });
    return { status: response.status, body: response.status === 200 ? null : await response.json() };
  };

  it('upstream:<name> grants each of its root fields’ permissions; a field’s own grants only that field', async () => {
    const whole = await (await tenantWithKeyPermissions(['upstream:shop'])).createKey();
    const oneField = await (await tenantWithKeyPermissions(['upstream:shop:Query.shopOrders'])).createKey();
    expect((await verify('?permission=upstream:shop:Query.shopOrders', whole.secret)).status).toBe(200);
    expect((await verify('?permission=upstream:shop:Mutation.shopPlaceOrder', whole.secret)).status).toBe(200);
    expect((await verify('?permission=upstream:shop:Query.shopOrders', oneField.secret)).status).toBe(200);
    expect(await verify('?permission=upstream:shop', oneField.secret)).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    expect(await verify('?permission=upstream:shop:Query.shopWhoAmI', oneField.secret)).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
  });

  it('a NUL character in projectId or permission is the caller’s mistake (400), on either database', async () => {
    const key = await (await tenantWithKeyPermissions(['upstream:shop'])).createKey();
    for (const query of ['?projectId=ab%00cd', '?permission=upstream:shop%00']) {
      expect(await verify(query, key.secret)).toMatchObject({ status: 400, body: { code: 'BAD_USER_INPUT' } });
    }
  });
});

describe('gateway mode: an operation for one upstream goes to it whole (passthrough.ts)', () => {
  const Mine = `query Mine($projectId: ID!) { first: shopOrders(projectId: $projectId) { ...Line } shopWhoAmI { kind keyId } }
    fragment Line on ShopOrder { id item }`;

  it('the upstream gets the operation as the client sent it: aliases, fragments, variables and its name', async () => {
    const { seed, createKey } = await tenantWithKeyPermissions(['upstream:shop']);
    const key = await createKey();
    const before = rig.shop.queries.length;
    const result = await call(Mine, { projectId: seed.project.id }, key.secret);
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ first: [{ id: `order-${seed.project.id}`, item: 'widget' }], shopWhoAmI: { kind: 'key', keyId: key.id } });
    expect(rig.shop.queries.slice(before)).toEqual([Mine]); // executor-http sends the parsed source's text
  });

  it('an operation mixing keygate and upstream fields is planned by stitching: the upstream gets its fields only', async () => {
    const { seed } = await tenantWithKeyPermissions([]);
    const before = rig.shop.queries.length;
    const result = await executeWith(rig.gateway.app, `query Both { viewer { __typename } shopWhoAmI { kind } }`, undefined, { token: seed.admin.token });
    expect(result.errors).toBeUndefined();
    const sent = rig.shop.queries.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toContain('shopWhoAmI');
    expect(sent[0]).not.toContain('viewer');
  });

  it('a root field the key may not call: refused for that field, the others answered, nothing unauthorized sent', async () => {
    const { createKey } = await tenantWithKeyPermissions(['upstream:shop:Query.shopWhoAmI']);
    const key = await createKey();
    const before = rig.shop.queries.length;
    const result = await call(`{ shopWhoAmI { kind } shopOutOfStock }`, undefined, key.secret);
    expect((result.data as any).shopWhoAmI).toEqual({ kind: 'key' });
    expect(result.errors).toHaveLength(1);
    expect(result.errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' }, path: ['shopOutOfStock'] });
    expect(rig.shop.queries.slice(before).join('\n')).not.toContain('shopOutOfStock');
  });

  it('a key with a cost budget is priced and charged as for keygate fields', async () => {
    const { seed } = await tenantWithKeyPermissions([]);
    const key = await budgetedShopKey(seed, 10);
    const first = await call(`{ shopWhoAmI { kind } }`, undefined, key.secret);
    expect(first.errors).toBeUndefined();
    expect(first.extensions?.cost).toMatchObject({ requested: 3.5, remaining: 6 }); // 2 + 1.5 × 1, charged as 4
    await call(`{ shopWhoAmI { kind } }`, undefined, key.secret);
    const before = rig.shop.queries.length;
    const refused = await call(`{ shopWhoAmI { kind keyId } }`, undefined, key.secret);
    expect(refused.status).toBe(429);
    expect(refused.errors?.[0]).toMatchObject({ extensions: { code: 'RATE_LIMITED' } });
    expect(rig.shop.queries.length).toBe(before);
  });
});

describe('gateway mode: an upstream that is down', () => {
  it('its fields get UPSTREAM_UNAVAILABLE (HTTP 502) while keygate fields keep working', async () => {
    // Started, introspected, then stopped.
    const local = await startShopBehindKeygate();
    await local.shop.close();
    const { seed, createKey } = await tenantWithKeyPermissions(['upstream:shop']);
    const key = await createKey();
    const result = await executeWith(local.gateway.app, `{ projects(first: 1) { totalCount } shopOutOfStock }`, undefined, { apiKey: key.secret });
    await local.gateway.close();
    expect(result.status).toBe(502);
    expect((result.data as any)?.projects?.totalCount).toBe(1);
    expect(result.errors).toHaveLength(1);
    expect(result.errors?.[0]).toMatchObject({ message: 'The upstream service "shop" is unavailable.', extensions: { code: 'UPSTREAM_UNAVAILABLE' } });
    expect(JSON.stringify(result.errors)).not.toContain('127.0.0.1');
    expect(seed.project.id).toBeTruthy();
  });

  it('an operation of its fields alone: HTTP 502 and the answer stitching gives, an error at each field', async () => {
    const local = await startShopBehindKeygate();
    await local.shop.close();
    const { createKey } = await tenantWithKeyPermissions(['upstream:shop']);
    const key = await createKey();
    const unavailableAt = (path: string) =>
      expect.objectContaining({ message: 'The upstream service "shop" is unavailable.', path: [path], extensions: expect.objectContaining({ code: 'UPSTREAM_UNAVAILABLE' }) });
    const ask = (query: string) => executeWith(local.gateway.app, query, undefined, { apiKey: key.secret });
    try {
      // A field that may not be null takes data with it.
      const nonNull = await ask(`{ shopWhoAmI { kind } }`);
      expect(nonNull.status).toBe(502);
      expect(nonNull.data).toBeNull();
      expect(nonNull.errors).toEqual([unavailableAt('shopWhoAmI')]);
      // Nullable fields are null, each with its error, under its alias; the same with __typename (through stitching).
      for (const query of [`{ shopOutOfStock again: shopOutOfStock }`, `{ __typename shopOutOfStock again: shopOutOfStock }`]) {
        const nullable = await ask(query);
        expect(nullable.status, query).toBe(502);
        expect(nullable.data, query).toMatchObject({ shopOutOfStock: null, again: null });
        expect(nullable.errors, query).toEqual(expect.arrayContaining([unavailableAt('shopOutOfStock'), unavailableAt('again')]));
        expect(nullable.errors, query).toHaveLength(2);
      }
      const both = await ask(`{ shopOutOfStock shopWhoAmI { kind } }`);
      expect(both.data).toBeNull();
      expect(both.errors).toEqual(expect.arrayContaining([unavailableAt('shopOutOfStock'), unavailableAt('shopWhoAmI')]));
    } finally {
      await local.gateway.close();
    }
  });
});

// Last in the file: building another gateway app replaces the process-wide upstream catalogue
// (one app per process in production), so the shop's permissions are gone after these.
describe('gateway mode: start-up errors are one line', () => {
  it('an unreachable upstream', async () => {
    const server = createServer();
    const port = await listen(server);
    await closeServer(server); // a port nobody listens on now
    const file = upstreamsFile([{ name: 'billing', url: `http://127.0.0.1:${port}/graphql` }]);
    await expect(gatewayApp({ KEYGATE_UPSTREAMS: file })).rejects.toThrow(
      /^upstream "billing" at http:\/\/127\.0\.0\.1:\d+\/graphql: cannot load its schema by introspection \(unreachable\); start it, or give its SDL as "schema" in KEYGATE_UPSTREAMS$/,
    );
  });

  it('an upstream whose root field or type is keygate\'s', async () => {
    const { writeFileSync } = await import('node:fs');
    const file = upstreamsFile([{ name: 'clash', url: 'http://127.0.0.1:9/graphql', schema: 'clash.graphql' }]);
    writeFileSync(file.replace(/upstreams\.json$/, 'clash.graphql'), 'type Query { projects: [String] }');
    await expect(gatewayApp({ KEYGATE_UPSTREAMS: file })).rejects.toThrow(
      `upstream "clash": its root field Query.projects conflicts with keygate's own; rename it in the upstream`,
    );
    writeFileSync(file.replace(/upstreams\.json$/, 'clash.graphql'), 'type Query { clashThing: Project } type Project { id: ID }');
    await expect(gatewayApp({ KEYGATE_UPSTREAMS: file })).rejects.toThrow(`upstream "clash": its type Project conflicts with keygate's own; rename it in the upstream`);
  });

  it('an SDL file instead of introspection; upstream subscriptions are left out', async () => {
    const { writeFileSync } = await import('node:fs');
    const file = upstreamsFile([{ name: 'ticker', url: 'http://127.0.0.1:9/graphql', schema: 'ticker.graphql' }]);
    writeFileSync(file.replace(/upstreams\.json$/, 'ticker.graphql'), 'type Query { tickerLatest: Int } type Subscription { tickerTicks: Int }');
    const app = await gatewayApp({ KEYGATE_UPSTREAMS: file });
    const schema = app.yoga.getEnveloped().schema;
    expect(schema.getQueryType()!.getFields().tickerLatest).toBeDefined();
    expect(schema.getSubscriptionType()?.getFields().tickerTicks).toBeUndefined();
  });

  it('a malformed upstreams file', async () => {
    const file = upstreamsFile([{ name: 'Bad Name', url: 'http://x/graphql' }]);
    await expect(gatewayApp({ KEYGATE_UPSTREAMS: file })).rejects.toThrow(/^invalid setting KEYGATE_UPSTREAMS: .*upstreams\.0\.name: must be lowercase/);
    // A header Node would refuse to send: at start, not as every request's 502 later.
    for (const headers of [{ 'bad header': 'z' }, { 'x-token': 'a\r\nb' }]) {
      const withHeaders = upstreamsFile([{ name: 'shop', url: 'http://127.0.0.1:9/graphql', headers }]);
      await expect(gatewayApp({ KEYGATE_UPSTREAMS: withHeaders })).rejects.toThrow(/^invalid setting KEYGATE_UPSTREAMS: .*upstreams\.0\.headers: header ".*" is not a valid HTTP header name and value/);
    }
  });
});

// After the start-up errors: this builds another gateway app, whose catalogue replaces the shop's.
describe('gateway mode: an upstream slower than its timeoutMs', () => {
  it('its fields get UPSTREAM_UNAVAILABLE once the timeout passes, not when the upstream answers', async () => {
    const slowpoke = createServer((_req, res) => {
      // Answers nothing for 5 s: introspection comes from the SDL file instead.
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{"slow":"late"}}'), 5_000).unref();
    });
    const port = await listen(slowpoke);
    try {
      const { writeFileSync } = await import('node:fs');
      const file = upstreamsFile([{ name: 'slowpoke', url: `http://127.0.0.1:${port}/graphql`, schema: 'slowpoke.graphql', timeoutMs: 300 }]);
      writeFileSync(file.replace(/upstreams\.json$/, 'slowpoke.graphql'), 'type Query { slow: String }');
      const app = await gatewayApp({ KEYGATE_UPSTREAMS: file });
      const { seed, createKey } = await tenantWithKeyPermissions(['upstream:slowpoke']);
      const key = await createKey();
      const started = Date.now();
      const result = await executeWith(app, `{ slow }`, undefined, { apiKey: key.secret });
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(result.status).toBe(502);
      expect(result.errors?.[0]).toMatchObject({ path: ['slow'], extensions: { code: 'UPSTREAM_UNAVAILABLE' } });
      expect(seed.tenant.id).toBeTruthy();
    } finally {
      await closeServer(slowpoke);
    }
  });
});

describe('gateway mode: input errors', () => {
  it("a secret sent in a DateTime field is BAD_USER_INPUT naming the field, and reaches neither the answer nor the log", async () => {
    const logLines: string[] = [];
    const local = await startShopBehindKeygate({}, createLogger('debug', (line) => logLines.push(line)));
    try {
      const { seed } = await tenantWithKeyPermissions(['upstream:shop']);
      const key = await seed.createKey();
      const admin = { token: seed.admin.token };
      const cases: [string, Record<string, unknown> | undefined][] = [
        ['mutation ($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret } }', { i: { name: 'Pasted', authorizationGroupId: seed.keyGroup.id, expiresAt: key.secret } }],
        [`mutation { rotateApiKey(id: "${key.id}", input: { expiresAt: "${seed.admin.token}" }) { secret } }`, undefined],
      ];
      for (const [query, variables] of cases) {
        const result = await executeWith(local.gateway.app, query, variables, admin);
        expect(result.errors?.[0]?.extensions?.code, query).toMatch(/^(BAD_USER_INPUT|GRAPHQL_VALIDATION_FAILED)$/);
        expect(JSON.stringify(result), query).not.toContain(key.secret);
        expect(JSON.stringify(result), query).not.toContain(seed.admin.token);
      }
      // A good DateTime still crosses the composed schema into keygate's own as the same instant.
      const expiresAt = '2030-01-02T03:04:05.000Z';
      const created = await executeWith(local.gateway.app, 'mutation ($i: CreateApiKeyInput!) { createApiKey(input: $i) { apiKey { id expiresAt } } }', { i: { name: 'Dated', authorizationGroupId: seed.keyGroup.id, expiresAt } }, admin);
      expect(created.errors).toBeUndefined();
      const { id } = (created.data as { createApiKey: { apiKey: { id: string } } }).createApiKey.apiKey;
      expect((await db.apiKey.findUniqueOrThrow({ where: { id } })).expiresAt?.toISOString()).toBe(expiresAt);
      expect(logLines.join('\n')).not.toContain(key.secret);
      expect(logLines.join('\n')).not.toContain(seed.admin.token);
      expect(logLines.join('\n')).not.toContain('"level":"error"');
    } finally {
      await local.close();
    }
  });
});
