/**
 * Gateway mode against an upstream that answers what it likes: a Relay-style payload whose
 * `query: Query` leads back to root fields, errors carrying `extensions.http` (a status and
 * headers keygate must not obey), and answers streamed instead of one JSON result.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { buildSchema, graphql } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../../src/app.js';
import { createLogger } from '../../../src/lib/logger.js';
import { executeWith } from '../../helpers/app.js';
import { closeServer, gatewayApp, listen, tenantWithKeyPermissions, upstreamsFile } from './support.js';

const RELAY_SDL = /* GraphQL */ `
  interface HasSecret {
    relaySecret: String
  }
  union Anything = Query | RelayPayload
  type Query implements HasSecret {
    relaySecret: String
    relayPublic: RelayPayload
    relayAny: Anything
    relayIface: HasSecret
    relayTeapot: String
    relayTopLevelHttp: String
    relayStream: String
    relayCodeless: String
    relayInjects: RelayPayload
    relayPathless: String
  }
  type Mutation {
    relayDo: RelayPayload
  }
  type RelayPayload implements HasSecret {
    ok: Boolean
    query: Query
    relaySecret: String
  }
`;

const relaySchema = buildSchema(RELAY_SDL);
const payload = () => ({ ok: true, query: root });
const root = { __typename: 'Query', relaySecret: 'SECRET-DATA', relayPublic: payload, relayDo: payload, relayAny: () => root, relayIface: () => root };

/** What the relay answers, as raw HTTP: two fields answer what no GraphQL server should, the rest is executed. */
async function answerFor(query: string, variables: Record<string, unknown> | undefined): Promise<{ contentType: string; body: string }> {
  if (query.includes('relayTeapot')) {
    const http = { status: 401, headers: { 'set-cookie': 'kg_session=evil; Path=/', location: 'https://evil.example' } };
    return { contentType: 'application/json', body: JSON.stringify({ data: null, errors: [{ message: 'No tea.', extensions: { code: 'UNAUTHENTICATED', http } }] }) };
  }
  if (query.includes('relayTopLevelHttp')) {
    const http = { status: 401, headers: { 'set-cookie': 'kg_session=evil; Path=/', location: 'https://evil.example' } };
    return { contentType: 'application/json', body: JSON.stringify({ data: { relayTopLevelHttp: 'hi' }, extensions: { http } }) };
  }
  if (query.includes('relayInjects')) {
    // Fields nobody selected, one looking like keygate's, and top-level keys of its own.
    const data = { relayInjects: { ok: true, relaySecret: 'SECRET-DATA' }, viewer: { kind: 'PLATFORM_ADMIN' } };
    return { contentType: 'application/json', body: JSON.stringify({ data, extensions: { cost: { remaining: 999999 } }, hasNext: false, injected: true }) };
  }
  if (query.includes('relayPathless')) {
    return { contentType: 'application/json', body: JSON.stringify({ data: { relayPathless: null }, errors: [{ message: 'Nope.', extensions: { code: 'UNAUTHENTICATED' } }] }) };
  }
  if (query.includes('relayCodeless')) {
    return { contentType: 'application/json', body: JSON.stringify({ data: { relayCodeless: null }, errors: [{ message: 'Warehouse offline.', path: ['relayCodeless'] }] }) };
  }
  if (query.includes('relayStream')) {
    return { contentType: 'text/event-stream', body: 'event: next\ndata: {"data":{"relayStream":"streamed"}}\n\nevent: complete\ndata:\n\n' };
  }
  const result = await graphql({ schema: relaySchema, source: query, rootValue: root, variableValues: variables });
  return { contentType: 'application/json', body: JSON.stringify(result) };
}

async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

const received: string[] = [];
const relay = createServer(async (req, res) => {
  const { query, variables } = JSON.parse(await bodyOf(req)) as { query: string; variables?: Record<string, unknown> };
  received.push(query);
  const answer = await answerFor(query, variables);
  res.writeHead(200, { 'content-type': answer.contentType }).end(answer.body);
});
let app: App;
const logged: string[] = [];

beforeAll(async () => {
  const port = await listen(relay);
  const file = upstreamsFile([{ name: 'relay', url: `http://127.0.0.1:${port}/graphql`, schema: 'relay.graphql' }]);
  writeFileSync(file.replace(/upstreams\.json$/, 'relay.graphql'), RELAY_SDL);
  app = await gatewayApp({ KEYGATE_UPSTREAMS: file, KEYGATE_AUTH_FAILURE_LIMIT: '2' }, createLogger('info', (line) => logged.push(line)));
});
afterAll(() => closeServer(relay));

describe('a field returning the root type (a Relay payload’s `query: Query`)', () => {
  it('the root fields below it need their own permission: FORBIDDEN, no secret, whichever way it is sent', async () => {
    const { createKey } = await tenantWithKeyPermissions(['upstream:relay:Query.relayPublic', 'upstream:relay:Mutation.relayDo']);
    const key = await createKey();
    const documents = [`{ relayPublic { query { relaySecret } } }`, `mutation { relayDo { query { relaySecret } } }`, `{ relayPublic { ...P } } fragment P on RelayPayload { query { relaySecret } }`];
    for (const document of documents) {
      // Twice: the second time the operation could come from a remembered plan.
      for (let round = 0; round < 2; round++) {
        const result = await executeWith(app, document, undefined, { apiKey: key.secret });
        expect(JSON.stringify(result)).not.toContain('SECRET-DATA');
        expect(result.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'FORBIDDEN' }) })]);
      }
    }
    // The field it may call is answered.
    const allowed = await executeWith(app, `{ relayPublic { ok } }`, undefined, { apiKey: key.secret });
    expect(allowed.data).toEqual({ relayPublic: { ok: true } });
  });

  it('a union or interface that includes Query opens no way around it either', async () => {
    const { createKey } = await tenantWithKeyPermissions(['upstream:relay:Query.relayAny', 'upstream:relay:Query.relayIface']);
    const key = await createKey();
    const documents = [`{ relayAny { ... on Query { relaySecret } } }`, `{ relayIface { relaySecret } }`, `{ relayAny { ...S } } fragment S on Query { relaySecret }`];
    for (const document of documents) {
      for (let round = 0; round < 2; round++) {
        const result = await executeWith(app, document, undefined, { apiKey: key.secret });
        expect(JSON.stringify(result)).not.toContain('SECRET-DATA');
        expect(result.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'FORBIDDEN' }) })]);
      }
    }
    const allowed = await executeWith(app, `{ relayAny { ... on RelayPayload { ok } } }`, undefined, { apiKey: key.secret });
    expect(allowed.errors).toBeUndefined();
    // An interface fragment under a value that cannot be Query selects no root field.
    const notQuery = await executeWith(app, `{ relayAny { ... on RelayPayload { ...Secretive } } } fragment Secretive on HasSecret { relaySecret }`, undefined, { apiKey: key.secret });
    expect(notQuery.errors).toBeUndefined();
  });

  it('is refused before the upstream is asked anything, at the path of the field refused', async () => {
    const { createKey } = await tenantWithKeyPermissions(['upstream:relay:Query.relayPublic', 'upstream:relay:Query.relayAny', 'upstream:relay:Mutation.relayDo']);
    const key = await createKey();
    const sentBefore = received.length;
    for (const document of [`{ relayPublic { query { relaySecret } } }`, `mutation { relayDo { ok query { relaySecret } } }`, `{ viewer { kind } relayAny { ... on Query { mine: relaySecret } } }`]) {
      const result = await executeWith(app, document, undefined, { apiKey: key.secret });
      expect(result.data ?? null).toBeNull();
      expect(result.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'FORBIDDEN' }) })]);
    }
    expect(received.length).toBe(sentBefore);
    const last = await executeWith(app, `{ relayAny { ... on Query { mine: relaySecret } } }`, undefined, { apiKey: key.secret });
    expect(last.errors![0]!.path).toEqual(['relayAny', 'mine']);
  });

  it('with the permission of the field below, it is answered', async () => {
    const { createKey } = await tenantWithKeyPermissions(['upstream:relay']);
    const key = await createKey();
    const result = await executeWith(app, `{ relayPublic { query { relaySecret } } }`, undefined, { apiKey: key.secret });
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ relayPublic: { query: { relaySecret: 'SECRET-DATA' } } });
  });

  it('keygate’s own root fields below it are answered as keygate’s, with their own permission, next to one of the upstream’s', async () => {
    const { createKey } = await tenantWithKeyPermissions(['upstream:relay']);
    const key = await createKey();
    for (const document of [`{ relayPublic { query { __typename viewer { kind } } } }`, `mutation { relayDo { query { __typename viewer { kind } } } }`, `{ relayPublic { query { relaySecret viewer { kind } } } }`]) {
      const result = await executeWith(app, document, undefined, { apiKey: key.secret });
      expect(result.errors, document).toBeUndefined();
      expect(JSON.stringify(result.data), document).toContain('"viewer":{"kind":"API_KEY"}');
    }
    // api_keys:read is not the key's: the whole operation is refused at its path before the
    // upstream is asked anything (a mutation would otherwise run, and only the field be refused).
    const sentBefore = received.length;
    for (const document of [`{ relayPublic { ok query { __typename apiKeys(first: 1) { totalCount } } } }`, `mutation { relayDo { ok query { __typename apiKeys(first: 1) { totalCount } } } }`]) {
      const refused = await executeWith(app, document, undefined, { apiKey: key.secret });
      expect(refused.data ?? null, document).toBeNull();
      expect(refused.errors, document).toEqual([expect.objectContaining({ path: [document.startsWith('mutation') ? 'relayDo' : 'relayPublic', 'query', 'apiKeys'], extensions: expect.objectContaining({ code: 'FORBIDDEN' }) })]);
    }
    expect(received.length).toBe(sentBefore);
    // Alone, they leave stitching nothing to ask the upstream: its own error is masked, as every unexpected one.
    const alone = await executeWith(app, `{ relayPublic { query { viewer { kind } } } }`, undefined, { apiKey: key.secret });
    expect(alone.errors).toEqual([expect.objectContaining({ message: 'Unexpected error.', path: ['relayPublic'], extensions: expect.objectContaining({ code: 'INTERNAL_SERVER_ERROR' }) })]);
    expect(logged.some((line) => line.includes('unexpected error') && line.includes('Failed to create a gateway request'))).toBe(true);
    expect(JSON.stringify(alone)).not.toMatch(/gateway request|CRITICAL_ERROR/);
  });
});

describe('a whole operation answered from the upstream’s JSON', () => {
  it('carries only what the operation selected: no field of the upstream’s choosing, no top-level keys or extensions of its own', async () => {
    const { createKey } = await tenantWithKeyPermissions(['upstream:relay']);
    const key = await createKey();
    for (let round = 0; round < 2; round++) {
      const result = await executeWith(app, `{ relayInjects { ok } }`, undefined, { apiKey: key.secret });
      expect(result.errors).toBeUndefined();
      expect(result.data).toEqual({ relayInjects: { ok: true } });
      expect(JSON.stringify(result)).not.toMatch(/SECRET-DATA|PLATFORM_ADMIN|injected|hasNext|999999/);
    }
    // A fragment selects as it does everywhere.
    const shaped = await executeWith(app, `{ relayInjects { ...P } } fragment P on RelayPayload { ok }`, undefined, { apiKey: key.secret });
    expect(shaped.data).toEqual({ relayInjects: { ok: true } });
  });

  it('an upstream error without a path is placed at the root field that answered null, as stitching places it', async () => {
    const { createKey } = await tenantWithKeyPermissions(['upstream:relay']);
    const key = await createKey();
    const result = await executeWith(app, `{ relayPathless }`, undefined, { apiKey: key.secret });
    expect(result.data).toEqual({ relayPathless: null });
    expect(result.errors).toEqual([expect.objectContaining({ message: 'Nope.', path: ['relayPathless'], extensions: { code: 'UNAUTHENTICATED' } })]);
  });
});

describe('an upstream error with extensions.http', () => {
  it('sets neither keygate’s status nor its headers, and does not count as a refused credential', async () => {
    const { createKey } = await tenantWithKeyPermissions(['upstream:relay']);
    const key = await createKey();
    // More than KEYGATE_AUTH_FAILURE_LIMIT (2) times, mixed with keygate's own fields too.
    for (const document of [`{ relayTeapot }`, `{ relayTeapot }`, `{ relayTeapot viewer { kind } }`]) {
      const result = await executeWith(app, document, undefined, { apiKey: key.secret, ip: '198.51.100.23' });
      expect(result.status).toBe(200);
      expect(result.headers.get('set-cookie')).toBeNull();
      expect(result.headers.get('location')).toBeNull();
      expect(result.errors).toEqual([expect.objectContaining({ message: 'No tea.', path: ['relayTeapot'], extensions: { code: 'UNAUTHENTICATED' } })]);
    }
    // The address is not throttled: the key still works from it.
    const after = await executeWith(app, `{ viewer { kind } }`, undefined, { apiKey: key.secret, ip: '198.51.100.23' });
    expect(after.status).toBe(200);
    expect(after.data).toEqual({ viewer: { kind: 'API_KEY' } });
  });
});

describe('an upstream answer with extensions.http', () => {
  it('sets neither keygate’s status nor its headers, alone or mixed with keygate’s fields', async () => {
    const { createKey } = await tenantWithKeyPermissions(['upstream:relay']);
    const key = await createKey();
    for (const document of [`{ relayTopLevelHttp }`, `{ relayTopLevelHttp }`, `{ relayTopLevelHttp viewer { kind } }`]) {
      const result = await executeWith(app, document, undefined, { apiKey: key.secret });
      expect(result.status).toBe(200);
      expect(result.headers.get('set-cookie')).toBeNull();
      expect(result.headers.get('location')).toBeNull();
      expect(result.data).toMatchObject({ relayTopLevelHttp: 'hi' });
      expect(JSON.stringify(result)).not.toContain('evil');
    }
  });
});

describe('an upstream answering with a stream', () => {
  it('is UPSTREAM_UNAVAILABLE (502), never a silent null', async () => {
    const { createKey } = await tenantWithKeyPermissions(['upstream:relay']);
    const key = await createKey();
    const alone = await executeWith(app, `{ relayStream }`, undefined, { apiKey: key.secret });
    expect(alone.status).toBe(502);
    expect(alone.errors).toEqual([expect.objectContaining({ path: ['relayStream'], extensions: expect.objectContaining({ code: 'UPSTREAM_UNAVAILABLE' }) })]);
    const mixed = await executeWith(app, `{ relayStream viewer { kind } }`, undefined, { apiKey: key.secret });
    expect(mixed.status).toBe(502);
    expect(mixed.data).toMatchObject({ viewer: { kind: 'API_KEY' }, relayStream: null });
    expect(mixed.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'UPSTREAM_UNAVAILABLE' }) })]);
    expect(received.some((query) => query.includes('relayStream'))).toBe(true);
  });
});

describe('an upstream error without a code', () => {
  it('reaches the client as the upstream wrote it, at its field, and is no keygate error in the log', async () => {
    const { createKey } = await tenantWithKeyPermissions(['upstream:relay']);
    const key = await createKey();
    const loggedBefore = logged.length;
    const result = await executeWith(app, `{ relayCodeless viewer { kind } }`, undefined, { apiKey: key.secret });
    expect(result.errors).toEqual([{ message: 'Warehouse offline.', path: ['relayCodeless'] }]);
    expect(result.data).toEqual({ relayCodeless: null, viewer: { kind: 'API_KEY' } });
    expect(logged.slice(loggedBefore).filter((line) => JSON.parse(line).level === 'error')).toEqual([]);
  });
});
