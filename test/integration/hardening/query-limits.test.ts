/**
 * GraphQL abuse limits (src/security/query-limits.ts, Yoga's batching and body limits):
 * for each limit, a request just under it is served and one just over it is refused with a
 * clear error and code, before any resolver runs.
 *
 * The probing documents are plain strings on purpose: they are built to sit exactly at a
 * limit, and are not operations a client would generate types for.
 */
import { describe, expect, it } from 'vitest';
import { app } from '../../helpers/app.js';
import { seedTenant } from '../../helpers/seed.js';
import { appWith, postQuery, raw } from './support.js';

const defaults = app.config.queryLimits;

function limited(overrides: Partial<typeof defaults>) {
  return appWith({ queryLimits: { ...defaults, ...overrides } });
}

/** Refused by the named limit, with nothing executed. */
function expectRefused(result: Awaited<ReturnType<typeof postQuery>>, limit: string, max: number) {
  expect(result.data ?? null).toBeNull();
  expect(result.errors).toHaveLength(1);
  expect(result.errors![0]!.extensions).toMatchObject({ code: 'QUERY_LIMIT_EXCEEDED', limit, max });
  expect(result.errors![0]!.message).toMatch(new RegExp(`limit of ${max} exceeded`, 'i'));
}

function expectServed(result: Awaited<ReturnType<typeof postQuery>>) {
  expect(result.errors).toBeUndefined();
  expect(result.status).toBe(200);
  expect(result.data).toBeTruthy();
}

describe('query limits', () => {
  it('depth: a query 4 levels deep is served at KEYGATE_MAX_DEPTH=4, one 5 levels deep is refused', async () => {
    const seed = await seedTenant();
    const instance = limited({ maxDepth: 4 });
    const headers = { authorization: `Bearer ${seed.member.token}` };

    const under = await postQuery(instance, '{ projects { edges { node { id } } } }', { headers });
    expectServed(under);
    expect((under.data!.projects as { edges: unknown[] }).edges.length).toBeGreaterThan(0);

    const over = await postQuery(instance, '{ projects { edges { node { workspace { id } } } } }', { headers });
    expectRefused(over, 'MAX_DEPTH', 4);
    expect(over.errors![0]!.message).toContain('found 5');
  });

  it('depth: fragments neither hide nesting nor add to it (a typed client spreads one per type)', async () => {
    const seed = await seedTenant();
    const instance = limited({ maxDepth: 4 });
    const headers = { authorization: `Bearer ${seed.admin.token}` };
    // viewer > tenant > keyPolicy > maxLifetimeDays: 4 levels, however the fragments are laid out.
    for (const document of [
      '{ viewer { tenant { keyPolicy { maxLifetimeDays } } } }',
      '{ viewer { ...V } } fragment V on Viewer { tenant { ...T } } fragment T on Tenant { keyPolicy { ...P } } fragment P on TenantKeyPolicy { maxLifetimeDays }',
      '{ ... on Query { viewer { ... on Viewer { tenant { ... { keyPolicy { ... on TenantKeyPolicy { maxLifetimeDays } } } } } } } }',
    ]) {
      expectServed(await postQuery(instance, document, { headers }));
    }
    // One level more is refused, however the fragments hide it.
    const deeper = await postQuery(instance, '{ viewer { ...V } } fragment V on Viewer { user { ...U } } fragment U on User { tenant { ...T } } fragment T on Tenant { keyPolicy { maxLifetimeDays } }', { headers });
    expectRefused(deeper, 'MAX_DEPTH', 4);
    expect(deeper.errors![0]!.message).toContain('found 5');
  });

  it('cost: a page of 10 keys is served at a cost limit of 35, a page of 11 is refused (first: multiplies)', async () => {
    const seed = await seedTenant();
    // cost of `apiKeys(first: n) { totalCount }` = n × (object 2 + 1.5 × scalar 1) = 3.5 n
    const instance = limited({ maxCost: 35 });
    const headers = { authorization: `Bearer ${seed.admin.token}` };

    expectServed(await postQuery(instance, '{ apiKeys(first: 10) { totalCount } }', { headers }));
    const over = await postQuery(instance, '{ apiKeys(first: 11) { totalCount } }', { headers });
    expectRefused(over, 'MAX_COST', 35);
    expect(over.errors![0]!.message).toContain('found 38.5');
  });

  it('cost: fragments cost nothing of their own, so a fragment layout costs what the same selection written out does', async () => {
    const seed = await seedTenant();
    const instance = limited({ maxCost: 35 });
    const headers = { authorization: `Bearer ${seed.admin.token}` };
    const layouts = (n: number) => [
      `{ apiKeys(first: ${n}) { totalCount } }`,
      `{ apiKeys(first: ${n}) { ...Count } } fragment Count on ApiKeyConnection { totalCount }`,
      `{ ...Keys } fragment Keys on Query { apiKeys(first: ${n}) { ... on ApiKeyConnection { totalCount } } }`,
    ];
    for (const document of layouts(10)) expectServed(await postQuery(instance, document, { headers }));
    for (const document of layouts(11)) {
      const over = await postQuery(instance, document, { headers });
      expectRefused(over, 'MAX_COST', 35);
      expect(over.errors![0]!.message, document).toContain('found 38.5');
    }
  });

  it('cost: a page size from a variable counts, and so does a variable\'s default when the variable is not sent', async () => {
    const seed = await seedTenant();
    const instance = limited({ maxCost: 35 });
    const headers = { authorization: `Bearer ${seed.admin.token}` };
    const byVariable = 'query ($n: Int) { apiKeys(first: $n) { totalCount } }';
    expectServed(await postQuery(instance, byVariable, { headers, variables: { n: 10 } }));
    expectRefused(await postQuery(instance, byVariable, { headers, variables: { n: 11 } }), 'MAX_COST', 35);
    const byDefault = 'query ($n: Int = 11) { apiKeys(first: $n) { totalCount } }';
    expectRefused(await postQuery(instance, byDefault, { headers }), 'MAX_COST', 35);
    expectRefused(await postQuery(instance, `fragment Page on Query { apiKeys(first: $n) { totalCount } } query ($n: Int = 11) { ...Page }`, { headers }), 'MAX_COST', 35);
    // The variable sent wins over its default, as graphql-js applies it.
    expectServed(await postQuery(instance, byDefault, { headers, variables: { n: 10 } }));
  });

  it('aliases: 3 aliased fields are served at KEYGATE_MAX_ALIASES=3, 4 are refused', async () => {
    const instance = limited({ maxAliases: 3 });
    expectServed(await postQuery(instance, '{ a: viewer { kind } b: viewer { kind } c: viewer { kind } }'));
    expectRefused(await postQuery(instance, '{ a: viewer { kind } b: viewer { kind } c: viewer { kind } d: viewer { kind } }'), 'MAX_ALIASES', 3);
  });

  it('aliases: many signIn guesses in one request are refused before any password is checked', async () => {
    const instance = limited({ maxAliases: 3 });
    const guesses = Array.from({ length: 4 }, (_, i) => `g${i}: signIn(email: "admin@keygate.local", password: "guess-${i}-xxxxxxxx") { token }`);
    const over = await postQuery(instance, `mutation { ${guesses.join(' ')} }`);
    expectRefused(over, 'MAX_ALIASES', 3);
  });

  it('directives: 3 directives are served at KEYGATE_MAX_DIRECTIVES=3, 4 are refused', async () => {
    const instance = limited({ maxDirectives: 3 });
    expectServed(await postQuery(instance, '{ viewer { kind @include(if: true) crossTenant @include(if: true) permissions @skip(if: false) } }'));
    expectRefused(
      await postQuery(instance, '{ viewer { kind @include(if: true) crossTenant @include(if: true) permissions @skip(if: false) @include(if: true) } }'),
      'MAX_DIRECTIVES',
      3,
    );
  });

  it('tokens: a 6-token document is served at KEYGATE_MAX_TOKENS=6, a 7-token one is refused while parsing', async () => {
    const instance = limited({ maxTokens: 6 });
    expectServed(await postQuery(instance, '{ viewer { kind } }'));
    expectRefused(await postQuery(instance, '{ viewer { kind crossTenant } }'), 'MAX_TOKENS', 6);
  });

  it('the defaults serve a full page of 100 keys with every field', async () => {
    const seed = await seedTenant();
    await seed.createKey({ projectAccess: 'SELECTED', projectIds: [seed.project.id] });
    const fields = `id name description prefix role status expirationState createdAt expiresAt lastUsedAt lastUsedIp revokedAt rotatedAt
      ipAllowlist projectAccess authorizationGroup { id name } organization { id name } projects { id name } createdBy { id email } tenant { id name }`;
    const result = await postQuery(app, `{ apiKeys(first: 100) { totalCount edges { cursor node { ${fields} } } pageInfo { hasNextPage endCursor } } }`, {
      headers: { authorization: `Bearer ${seed.admin.token}` },
    });
    expectServed(result);
  });
});

describe('batched requests', () => {
  const batch = (n: number) => JSON.stringify(Array.from({ length: n }, () => ({ query: '{ viewer { kind } }' })));

  it('KEYGATE_MAX_BATCH_SIZE=2: a batch of 2 is served, a batch of 3 is refused with 413', async () => {
    const instance = appWith({ maxBatchSize: 2 });

    const under = await raw(instance, { body: batch(2) });
    expect(under.status).toBe(200);
    const results = (await under.json()) as { data: unknown }[];
    expect(results).toHaveLength(2);
    expect(results.every((r) => r.data)).toBe(true);

    const over = await raw(instance, { body: batch(3) });
    expect(over.status).toBe(413);
    const body = (await over.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]!.message).toBe('Batching is limited to 2 operations per request.');
    expect(body.errors[0]!.extensions.code).toBe('BAD_REQUEST');
  });

  it('KEYGATE_MAX_BATCH_SIZE=0 turns batching off: even a batch of one is refused', async () => {
    const instance = appWith({ maxBatchSize: 0 });
    const response = await raw(instance, { body: batch(1) });
    expect(response.status).toBeGreaterThanOrEqual(400);
    const body = (await response.json()) as { errors?: unknown[] };
    expect(body.errors?.length).toBeGreaterThan(0);
  });

  it('the default allows batches of 10 and refuses 11', async () => {
    expect(app.config.maxBatchSize).toBe(10);
    expect((await raw(app, { body: batch(10) })).status).toBe(200);
    expect((await raw(app, { body: batch(11) })).status).toBe(413);
  });
});

describe('request body size', () => {
  const limit = 4096;
  /** A valid request body of exactly `size` bytes (the padding is an unused variable). */
  function bodyOf(size: number): string {
    const empty = JSON.stringify({ query: '{ viewer { kind } }', variables: { pad: '' } });
    return JSON.stringify({ query: '{ viewer { kind } }', variables: { pad: 'x'.repeat(size - empty.length) } });
  }

  it('KEYGATE_MAX_BODY_BYTES: a body of exactly the limit is served, one byte more gets 413', async () => {
    const instance = appWith({ maxBodyBytes: limit });
    expect(Buffer.byteLength(bodyOf(limit))).toBe(limit);

    expect((await raw(instance, { body: bodyOf(limit) })).status).toBe(200);
    const over = await raw(instance, { body: bodyOf(limit + 1) });
    expect(over.status).toBe(413);
    const body = (await over.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('REQUEST_ENTITY_TOO_LARGE');
  });

  it('a streamed body without Content-Length is cut off at the limit too', async () => {
    const instance = appWith({ maxBodyBytes: limit });
    const stream = (text: string) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          const bytes = new TextEncoder().encode(text);
          for (let i = 0; i < bytes.length; i += 1000) controller.enqueue(bytes.subarray(i, i + 1000));
          controller.close();
        },
      });

    expect((await raw(instance, { body: stream(bodyOf(limit)) })).status).toBe(200);
    expect((await raw(instance, { body: stream(bodyOf(limit * 4)) })).status).toBe(413);
  });
});

describe('introspection and GraphiQL', () => {
  const introspect = '{ __schema { queryType { name } } }';

  it('introspection off: __schema and __type are refused and field suggestions are hidden', async () => {
    const instance = appWith({ introspection: false });

    const schema = await postQuery(instance, introspect);
    expect(schema.data ?? null).toBeNull();
    expect(schema.errors![0]!.message).toMatch(/introspection/i);
    expect(schema.errors![0]!.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const type = await postQuery(instance, '{ __type(name: "ApiKey") { fields { name } } }');
    expect(type.errors![0]!.message).toMatch(/introspection/i);

    const typo = await postQuery(instance, '{ viewr { kind } }');
    expect(typo.errors![0]!.message).toBe('Cannot query field "viewr" on type "Query".');

    // Nor enum values or input fields, in the document or in variables.
    for (const [query, variables] of [
      ['{ apiKeys(status: [REVOKD]) { totalCount } }', undefined],
      ['query ($s: [ApiKeyStatus!]) { apiKeys(status: $s) { totalCount } }', { s: ['REVOKE'] }],
      ['mutation ($i: DeliverDataInput!) { deliverData(input: $i) { id } }', { i: { projectI: 'x', payload: {} } }],
      ['mutation { deliverData(input: { projectI: "x", payload: {} }) { id } }', undefined],
    ] as const) {
      const result = await postQuery(instance, query, { variables });
      expect(result.errors?.length, query).toBeGreaterThan(0);
      // (A required field left out is still named: that is the type's contract, not a guess at a typo.)
      expect(JSON.stringify(result.errors), query).not.toMatch(/Did you mean|REVOKED/);
    }
  });

  it('introspection off: a trusted document that does not validate is refused without suggestions', async () => {
    const instance = appWith({ introspection: false });
    const seed = await seedTenant();
    const ADD = 'mutation ($g: ID!, $d: [String!]) { addTrustedDocuments(authorizationGroupId: $g, documents: $d) { id } }';
    for (const document of ['query Q { viewr { kind } }', '{ apiKey(id: "1") { nam } }']) {
      const result = await postQuery(instance, ADD, { variables: { g: seed.keyGroup.id, d: [document] }, headers: { authorization: `Bearer ${seed.admin.token}` } });
      expect(result.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'documents' } });
      expect(result.errors![0]!.message).toMatch(/^documents: documents\[0\] does not validate against the schema: Cannot query field/);
      expect(JSON.stringify(result.errors), document).not.toMatch(/Did you mean/);
    }
  });

  it('introspection on: the schema and suggestions are served', async () => {
    const instance = appWith({ introspection: true });
    const schema = await postQuery(instance, introspect);
    expect(schema.errors).toBeUndefined();
    expect(schema.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    const typo = await postQuery(instance, '{ viewr { kind } }');
    expect(typo.errors![0]!.message).toMatch(/Did you mean .*"viewer"/);
  });

  it('GraphiQL is served to browsers only when KEYGATE_GRAPHIQL allows it', async () => {
    const page = (instance: ReturnType<typeof appWith>) =>
      raw(instance, { method: 'GET', headers: { accept: 'text/html' } }).then(async (r) => ({ status: r.status, html: (await r.text()).includes('<html') }));

    expect(await page(appWith({ graphiql: true }))).toEqual({ status: 200, html: true });
    const off = await page(appWith({ graphiql: false }));
    expect(off.html).toBe(false);
  });
});
