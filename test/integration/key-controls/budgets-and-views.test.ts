/**
 * Cost budgets per group (one cost model with the per-operation maximum) and the schema view
 * per caller, through the real app.
 */
import fc from 'fast-check';
import { buildSchema } from 'graphql';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { Permission } from '../../../src/auth/permissions.js';
import { createAuthorizationGroup, updateAuthorizationGroup } from '../../../src/modules/authorization-group/authorization-group.service.js';
import { mayCallRootField, registerRootFieldRule } from '../../../src/modules/key-controls/schema-view.js';
import { schema } from '../../../src/schema/index.js';
import { db } from '../../../src/db.js';
import { app, execute, executeWith } from '../../helpers/app.js';
import { createMatrixWorld, matrixOperation } from '../../helpers/security-matrix.js';
import { seedTenant, unique, type Seed } from '../../helpers/seed.js';
import { appWith, raw, readyAppWith } from '../hardening/support.js';

const VIEWER = '{ viewer { kind } }'; // 2 + 1.5 × 1 = 3.5 points, spent as 4
const REDIS_URL = 'redis://127.0.0.1:6379';

async function budgetedKey(seed: Seed, points: number, windowSeconds = 60, permissions: Permission[] = ['projects:read']) {
  const group = await createAuthorizationGroup(seed.platform.principal, {
    tenantId: seed.tenant.id,
    name: unique('Budgeted'),
    type: 'TENANT_API_KEY',
    permissions,
    costBudget: { points, windowSeconds },
  });
  return seed.createKey({ authorizationGroupId: group.id });
}

describe('cost budgets', () => {
  it('prices each operation, reports it in extensions.cost and RateLimit headers, and refuses what does not fit with 429', async () => {
    const seed = await seedTenant();
    const key = await budgetedKey(seed, 10);
    const first = await execute(VIEWER, undefined, { apiKey: key.secret });
    expect(first.status).toBe(200);
    const body = first as unknown as { data: unknown };
    expect(body.data).toEqual({ viewer: { kind: 'API_KEY' } });
    expect(first.headers.get('ratelimit-policy')).toBe('"cost";q=10;w=60');
    expect(first.headers.get('ratelimit')).toMatch(/^"cost";r=6;t=(59|60)$/);

    const second = await execute(VIEWER, undefined, { apiKey: key.secret });
    expect(second.status).toBe(200);
    const third = await execute(VIEWER, undefined, { apiKey: key.secret });
    expect(third.status).toBe(429);
    expect(third.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', cost: { requested: 3.5, remaining: 2 } });
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(third.headers.get('ratelimit')).toMatch(/^"cost";r=2;/);
    // A refusal spends nothing: a cheap operation still fits.
    const cheap = await execute('{ __typename }', undefined, { apiKey: key.secret });
    expect(cheap.status).toBe(200);
    // Nothing priced (a document that does not validate, or parse, or variables execute refuses): the cost extension says what is left all the same.
    for (const [document, variables] of [
      ['{ viewer { nope } }', undefined],
      ['{ viewer {', undefined],
      ['query ($n: Int) { projects(first: $n) { totalCount } }', { n: 'abc' }],
      ['query ($n: Int!) { projects(first: $n) { totalCount } }', {}],
    ] as const) {
      const invalid = await execute(document, variables, { apiKey: key.secret });
      expect(invalid.errors?.length, document).toBeGreaterThan(0);
      expect((invalid as unknown as { extensions?: { cost?: unknown } }).extensions?.cost, document).toMatchObject({ requested: 0, remaining: 1 });
      expect(invalid.headers.get('ratelimit'), document).toMatch(/^"cost";r=1;/);
    }
  });

  it('the inbound webhook spends the budget as deliverData does, and answers its RateLimit headers (202 and 429)', async () => {
    const seed = await seedTenant();
    const key = await budgetedKey(seed, 10, 60, ['data:deliver']);
    const post = () =>
      app.yoga.fetch(
        `http://keygate.test/webhooks/projects/${seed.project.id}/deliveries?source=erp`,
        { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key.secret }, body: '{"n":1}' },
        { req: { socket: { remoteAddress: '127.0.0.1' } } },
      );
    const accepted = await post();
    expect(accepted.status).toBe(202);
    expect(accepted.headers.get('ratelimit-policy')).toBe('"cost";q=10;w=60');
    const left = Number(/^"cost";r=(\d+);t=\d+$/.exec(accepted.headers.get('ratelimit') ?? '')?.[1]);
    expect(left).toBeLessThan(10);
    let refused = accepted;
    for (let i = 0; i < 10 && refused.status === 202; i++) refused = await post();
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('ratelimit-policy')).toBe('"cost";q=10;w=60');
    expect(refused.headers.get('ratelimit')).toMatch(/^"cost";r=\d+;t=\d+$/);
    expect(await db.dataDelivery.count({ where: { projectId: seed.project.id, source: 'erp' } })).toBeLessThan(10);
  });

  it('editing the budget starts a fresh window, also when it goes back to an earlier value', async () => {
    const seed = await seedTenant();
    const group = await createAuthorizationGroup(seed.platform.principal, {
      tenantId: seed.tenant.id,
      name: unique('Edited'),
      type: 'TENANT_API_KEY',
      permissions: ['projects:read'],
      costBudget: { points: 10, windowSeconds: 600 },
    });
    const key = await seed.createKey({ authorizationGroupId: group.id });
    const remaining = async () => (await execute(VIEWER, undefined, { apiKey: key.secret })).headers.get('ratelimit');
    expect(await remaining()).toMatch(/r=6;/);
    expect(await remaining()).toMatch(/r=2;/);
    await updateAuthorizationGroup(seed.platform.principal, group.id, { costBudget: { points: 20, windowSeconds: 600 } });
    expect(await remaining()).toMatch(/r=16;/);
    await updateAuthorizationGroup(seed.platform.principal, group.id, { costBudget: { points: 10, windowSeconds: 600 } });
    expect(await remaining()).toMatch(/r=6;/);
  });

  it('list sizes come from first/last, variables included', async () => {
    const seed = await seedTenant();
    const key = await budgetedKey(seed, 1000);
    const literal = await fetchCost(key.secret, '{ projects(first: 10) { totalCount } }');
    const variable = await fetchCost(key.secret, 'query ($n: Int) { projects(first: $n) { totalCount } }', { n: 10 });
    expect(literal).toBe(35);
    expect(variable).toBe(35);
    expect(await fetchCost(key.secret, '{ projects { totalCount } }')).toBe(70); // default page of 20
  });

  it('ApiKey.usage costs the buckets its range asks for, literal or variable', async () => {
    const seed = await seedTenant();
    const key = await budgetedKey(seed, 1_000_000, 60, ['api_keys:read']);
    const to = new Date('2026-12-01T00:00:00Z');
    const from = (hours: number) => new Date(to.getTime() - hours * 3_600_000).toISOString();
    const USAGE = 'query ($id: ID!, $from: DateTime!, $to: DateTime!, $i: UsageInterval) { apiKey(id: $id) { usage(from: $from, to: $to, interval: $i) { start accepted } } }';
    const cost = (hours: number, interval?: 'HOUR' | 'DAY') => fetchCost(key.secret, USAGE, { id: key.id, from: from(hours), to: to.toISOString(), i: interval });
    // apiKey 2 + 1.5 × (usage: (2 + 1.5 × 2 scalars) × buckets)
    expect(await cost(1)).toBe(2 + 1.5 * 5 * 1);
    expect(await cost(48)).toBe(2 + 1.5 * 5 * 48);
    expect(await cost(48, 'DAY')).toBe(2 + 1.5 * 5 * 2);
    expect(await cost(90 * 24)).toBe(2 + 1.5 * 5 * 90 * 24);
    const literal = `{ apiKey(id: "${key.id}") { usage(from: "${from(48)}", to: "${to.toISOString()}") { start accepted } } }`;
    expect(await fetchCost(key.secret, literal)).toBe(2 + 1.5 * 5 * 48);
  });

  it('a batch: each operation is priced and reports its own cost; the headers say what is left after the batch', async () => {
    const seed = await seedTenant();
    const key = await budgetedKey(seed, 1000);
    const response = await app.yoga.fetch(
      'http://keygate.test/graphql',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key.secret },
        body: JSON.stringify([{ query: '{ projects(first: 10) { totalCount } }' }, { query: VIEWER }, { query: '{ __typename }' }]),
      },
      { req: { socket: { remoteAddress: '127.0.0.1' } } },
    );
    expect(response.status).toBe(200);
    const results = (await response.json()) as { extensions?: { cost?: { requested: number } } }[];
    expect(results.map((result) => result.extensions?.cost?.requested)).toEqual([35, 3.5, 1]);
    expect(response.headers.get('ratelimit')).toMatch(/^"cost";r=960;/); // 1000 − 35 − 4 − 1
  });

  it('keys without a budget get no cost extension or headers', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const result = await app.yoga.fetch('http://keygate.test/graphql', { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key.secret }, body: JSON.stringify({ query: VIEWER }) });
    expect(((await result.json()) as { extensions?: unknown }).extensions).toBeUndefined();
    expect(result.headers.get('ratelimit')).toBeNull();
  });

  describe('two instances sharing Redis', () => {
    const redis = new Redis(REDIS_URL);
    const prefix = unique('keygate-test-cost');
    afterAll(async () => {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    });

    it('spend one budget: at most one extra operation gets through', async () => {
      const seed = await seedTenant();
      const key = await budgetedKey(seed, 40); // 10 operations of 4 points
      const [one, two] = await Promise.all([readyAppWith({ redis: { url: REDIS_URL, keyPrefix: prefix } }), readyAppWith({ redis: { url: REDIS_URL, keyPrefix: prefix } })]);
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => executeWith(i % 2 ? one : two, VIEWER, undefined, { apiKey: key.secret })));
      const served = results.filter((r) => r.status === 200).length;
      expect(served).toBeGreaterThanOrEqual(10);
      expect(served).toBeLessThanOrEqual(11);
      expect(results.filter((r) => r.status === 429).length).toBe(30 - served);
    });

    it('an operation too big to fit holds no points: the ones that fit, sent beside it at once, are all served', async () => {
      const seed = await seedTenant();
      const key = await budgetedKey(seed, 100, 600);
      const shared = await readyAppWith({ redis: { url: REDIS_URL, keyPrefix: prefix } });
      const oversized = 'query($n: Int) { workflowRuns(first: $n) { edges { node { id } } } }'; // hundreds of points for 50
      const sent = Array.from({ length: 30 }, (_, i) =>
        i % 3 === 2 ? executeWith(shared, oversized, { n: 50 }, { apiKey: key.secret }) : executeWith(shared, VIEWER, undefined, { apiKey: key.secret }),
      );
      const results = await Promise.all(sent);
      const small = results.filter((_, i) => i % 3 !== 2);
      expect(small.map((r) => r.status)).toEqual(Array(20).fill(200)); // 20 × 4 = 80 of 100 points
      const big = results.filter((_, i) => i % 3 === 2);
      expect(big.map((r) => r.status)).toEqual(Array(10).fill(429));
      expect(big.map((r) => r.errors?.[0]?.extensions?.code)).toEqual(Array(10).fill('RATE_LIMITED'));
      // Nothing of the refused ones was spent: 20 points are left.
      const after = await executeWith(shared, VIEWER, undefined, { apiKey: key.secret });
      expect((after.extensions as { cost: { remaining: number } }).cost.remaining).toBe(16);
    });
  });
});

async function fetchCost(apiKey: string, query: string, variables?: Record<string, unknown>): Promise<number> {
  const result = await app.yoga.fetch('http://keygate.test/graphql', { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': apiKey }, body: JSON.stringify({ query, variables }) });
  const body = (await result.json()) as { extensions?: { cost?: { requested: number } }; errors?: unknown };
  expect(body.errors).toBeUndefined();
  return body.extensions!.cost!.requested;
}

async function schemaView(credentials: Record<string, string>) {
  const response = await app.yoga.fetch('http://keygate.test/schema.graphql', { headers: credentials }, { req: { socket: { remoteAddress: '127.0.0.1' } } });
  return { status: response.status, text: await response.text() };
}

describe('schema view per caller', () => {
  it('GET /schema.graphql: 401 without a credential or with a bad one', async () => {
    expect((await schemaView({})).status).toBe(401);
    expect((await schemaView({ 'x-api-key': 'kg_not-a-key' })).status).toBe(401);
  });

  it('shows what the caller may call and prunes the types only the rest used; introspection answers the same view', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey(); // projects, workspaces, api keys read; trigger; deliver
    const view = await schemaView({ 'x-api-key': key.secret });
    expect(view.status).toBe(200);
    const sdl = buildSchema(view.text);
    const query = Object.keys(sdl.getQueryType()!.getFields());
    const mutation = Object.keys(sdl.getMutationType()!.getFields());
    expect(query).toEqual(expect.arrayContaining(['apiKeys', 'projects', 'workflowRuns', 'viewer']));
    expect(query).not.toContain('users');
    expect(query).not.toContain('trustedDocuments');
    expect(mutation.sort()).toEqual(['deliverData', 'redeliverWorkflowRun', 'signIn', 'triggerWorkflow']);
    expect(sdl.getType('CreateApiKeyInput')).toBeUndefined();
    expect(sdl.getType('TriggerWorkflowInput')).toBeDefined();

    const introspected = await execute('{ __schema { mutationType { fields { name } } } }', undefined, { apiKey: key.secret });
    const fields = (introspected.data as { __schema: { mutationType: { fields: { name: string }[] } } }).__schema.mutationType.fields.map((f) => f.name);
    expect(fields.sort()).toEqual(['deliverData', 'redeliverWorkflowRun', 'signIn', 'triggerWorkflow']);

    const admin = buildSchema((await schemaView({ authorization: `Bearer ${seed.admin.token}` })).text);
    expect(Object.keys(admin.getMutationType()!.getFields())).toEqual(expect.arrayContaining(['createApiKey', 'endRotationGrace', 'reportLeakedApiKey', 'updateTenantKeyPolicy']));
    // A member without api_keys:manage, and not a tenant administrator: the lifecycle mutations it would be refused are not shown.
    const member = buildSchema((await schemaView({ authorization: `Bearer ${seed.member.token}` })).text);
    const memberMutations = Object.keys(member.getMutationType()!.getFields());
    for (const refused of ['createApiKey', 'endRotationGrace', 'reportLeakedApiKey', 'updateTenantKeyPolicy']) expect(memberMutations).not.toContain(refused);
  });

  it('introspection cannot step out of the view: through fragments it answers the view; mixed with other fields it is refused', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const mutationNames = (data: unknown) => (data as { __schema: { mutationType: { fields: { name: string }[] } } }).__schema.mutationType.fields.map((f) => f.name).sort();
    for (const document of [
      '{ ... on Query { __schema { mutationType { fields { name } } } } }',
      'query { ...Intro } fragment Intro on Query { __schema { mutationType { fields { name } } } }',
      '{ __typename __schema { mutationType { fields { name } } } }',
    ]) {
      const result = await execute(document, undefined, { apiKey: key.secret });
      expect(result.errors, document).toBeUndefined();
      expect(mutationNames(result.data), document).toEqual(['deliverData', 'redeliverWorkflowRun', 'signIn', 'triggerWorkflow']);
    }
    const hidden = await execute('{ __type(name: "CreateApiKeyInput") { name } }', undefined, { apiKey: key.secret });
    expect(hidden.data).toEqual({ __type: null });
    for (const document of [
      '{ __schema { mutationType { fields { name } } } viewer { kind } }',
      '{ viewer { kind } ...Intro } fragment Intro on Query { __type(name: "CreateApiKeyInput") { inputFields { name } } }',
      '{ viewer { kind } ... on Query { __schema { types { name } } } }',
    ]) {
      const result = await execute(document, undefined, { apiKey: key.secret });
      expect(result.data ?? null, document).toBeNull();
      expect(result.errors, document).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'query' }) })]);
    }
  });

  it('GET /schema.graphql counts bad credentials for the failed-credential throttle, and refuses a throttled address', async () => {
    const instance = appWith({ authFailures: { ...app.config.authFailures, limit: 2, windowSeconds: 60 } });
    const ip = '203.0.113.77';
    const attempt = () => raw(instance, { method: 'GET', path: '/schema.graphql', headers: { 'x-api-key': 'kg_not-a-key' }, ip });
    expect((await attempt()).status).toBe(401);
    expect((await attempt()).status).toBe(401);
    const throttled = await attempt();
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('GET /schema.graphql counts in the key\'s rate limit and usage like a GraphQL request', async () => {
    const instance = appWith({ rateLimits: { ...app.config.rateLimits, perKey: 2, windowSeconds: 60 } });
    const seed = await seedTenant();
    const key = await seed.createKey();
    const view = () => raw(instance, { method: 'GET', path: '/schema.graphql', headers: { 'x-api-key': key.secret } });
    expect((await view()).status).toBe(200);
    expect((await raw(instance, { body: JSON.stringify({ query: '{ viewer { kind } }' }), headers: { 'x-api-key': key.secret } })).status).toBe(200);
    const limited = await view();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await instance.usage.flush();
    const [counts] = await db.apiKeyUsageCount.findMany({ where: { apiKeyId: key.id } });
    expect({ accepted: counts?.accepted, rejectedRateLimit: counts?.rejectedRateLimit }).toEqual({ accepted: 2, rejectedRateLimit: 1 });
  });

  it('registered rules decide fields outside the Pothos scopes (the gateway seam)', () => {
    const unregister = registerRootFieldRule('Query', 'viewer', () => false);
    try {
      expect(mayCallRootField(schema, { kind: 'ANONYMOUS' }, 'Query', 'viewer')).toBe(false);
    } finally {
      unregister();
    }
    expect(mayCallRootField(schema, { kind: 'ANONYMOUS' }, 'Query', 'viewer')).toBe(true);
  });

  it('property: for three groups, every root field in the view is not refused for permission, every one outside is FORBIDDEN', async () => {
    const world = await createMatrixWorld();
    const groups: Permission[][] = [
      ['projects:read'],
      ['workflows:trigger', 'data:deliver', 'api_keys:read'],
      ['workspaces:read', 'workspaces:manage', 'projects:manage', 'audit:read'],
    ];
    const keys = await Promise.all(
      groups.map(async (permissions) => {
        const group = await createAuthorizationGroup(world.seed.platform.principal, { tenantId: world.seed.tenant.id, name: unique('View'), type: 'TENANT_API_KEY', permissions });
        return world.seed.createKey({ authorizationGroupId: group.id });
      }),
    );
    const views = await Promise.all(keys.map(async (key) => buildSchema((await schemaView({ 'x-api-key': key.secret })).text)));
    const rootFields = [
      ...Object.keys(schema.getQueryType()!.getFields()).map((field) => ({ type: 'Query' as const, field })),
      ...Object.keys(schema.getMutationType()!.getFields()).map((field) => ({ type: 'Mutation' as const, field })),
    ];
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: keys.length - 1 }), fc.constantFrom(...rootFields), async (which, { type, field }) => {
        const operation = matrixOperation(field);
        if (!operation) throw new Error(`no matrix operation for ${field}`);
        const view = views[which]!;
        const inView = Boolean((type === 'Query' ? view.getQueryType() : view.getMutationType())?.getFields()[field]);
        const result = await execute(operation.document, await operation.variables(world), { apiKey: keys[which]!.secret });
        const code = result.errors?.[0]?.extensions?.code;
        if (inView) expect([undefined, 'NOT_FOUND', 'BAD_USER_INPUT']).toContain(code);
        else expect(code).toBe('FORBIDDEN');
      }),
      { numRuns: 60 },
    );
  });
});
