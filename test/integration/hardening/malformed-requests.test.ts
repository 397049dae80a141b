/**
 * Requests Yoga cannot parse (security/request-parse-errors.ts) and multipart bodies (there is
 * no Upload scalar: a file would be stored as the server's own File object) are the client's
 * mistake: 400 BAD_REQUEST (415 for multipart), a message and no internals, nothing logged as
 * unexpected, nothing written.
 */
import { describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { seedTenant } from '../../helpers/seed.js';
import { appWith, raw } from './support.js';

type Answer = { errors?: { message: string; extensions?: Record<string, unknown> }[] };

describe('malformed requests', () => {
  const logLines: string[] = [];
  const instance = appWith({ production: true }, logLines);
  const csrf = { 'x-graphql-yoga-csrf': '1' };

  it.each([
    ['GET with variables that are not JSON', '/graphql?query=%7Bviewer%7Bkind%7D%7D&variables=%7Bx'],
    ['GET with extensions that are not JSON', '/graphql?query=%7Bviewer%7Bkind%7D%7D&extensions=%7Bx'],
  ])('%s: 400 BAD_REQUEST, not an unexpected error', async (_label, path) => {
    const response = await raw(instance, { method: 'GET', path, headers: csrf });
    expect(response.status).toBe(400);
    const body = (await response.json()) as Answer;
    expect(body.errors?.[0]?.extensions).toEqual({ code: 'BAD_REQUEST' });
    expect(logLines.filter((line) => line.includes('unexpected error'))).toEqual([]);
  });

  it('a JSON body that does not parse: 400 BAD_REQUEST without the parser’s message or the body quoted back', async () => {
    for (const body of ['{"query":', '{"query": "{ viewer { kind } }"']) {
      const response = await raw(instance, { body });
      expect(response.status).toBe(400);
      const answer = (await response.json()) as Answer;
      expect(answer.errors).toEqual([{ message: 'POST body sent invalid JSON.', extensions: { code: 'BAD_REQUEST' } }]);
    }
  });

  it('a batch item that is not an object: 400 BAD_REQUEST', async () => {
    for (const body of ['[null]', '[{"query":"{ viewer { kind } }"}, 5]', '[[]]']) {
      const response = await raw(instance, { body });
      expect(response.status, body).toBe(400);
      expect(((await response.json()) as Answer).errors?.[0]?.extensions).toEqual({ code: 'BAD_REQUEST' });
    }
    expect(logLines.filter((line) => line.includes('unexpected error'))).toEqual([]);
  });

  it('a batch of documents that do not parse answers as one such document does (200 with each error)', async () => {
    const single = await raw(instance, { body: JSON.stringify({ query: '{' }) });
    const batch = await raw(instance, { body: JSON.stringify([{ query: '{' }, { query: '{ viewer' }]) });
    expect(batch.status).toBe(single.status);
    const answers = (await batch.json()) as Answer[];
    expect(answers.map((answer) => answer.errors?.[0]?.extensions?.code)).toEqual(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_PARSE_FAILED']);
  });

  it('multipart bodies are refused (no Upload scalar): a file never becomes a stored payload', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const form = new FormData();
    form.set('operations', JSON.stringify({ query: 'mutation($p: ID!, $x: JSON!) { deliverData(input: { projectId: $p, source: "mp", payload: $x }) { id } }', variables: { p: seed.project.id, x: null } }));
    form.set('map', JSON.stringify({ 0: ['variables.x'] }));
    form.set('0', new Blob(['{"a":1}'], { type: 'application/json' }), 'f.json');
    const response = await instance.yoga.fetch('http://keygate.test/graphql', { method: 'POST', body: form, headers: { 'x-api-key': key.secret } }, { req: { socket: { remoteAddress: '127.0.0.1' } } });
    // 415 with the code every client error carries, and a message saying what to send.
    expect(response.status).toBe(415);
    const answer = (await response.json()) as Answer;
    expect(answer.errors?.[0]?.extensions).toEqual({ code: 'BAD_REQUEST' });
    expect(answer.errors?.[0]?.message).toContain('application/json');
    expect(await db.dataDelivery.count({ where: { projectId: seed.project.id } })).toBe(0);

    const broken = await raw(instance, { body: '--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{bad\r\n--x--\r\n', headers: { 'content-type': 'multipart/form-data; boundary=x', 'x-api-key': key.secret } });
    expect(broken.status).toBe(415);
    expect(((await broken.json()) as Answer).errors?.[0]?.extensions).toEqual({ code: 'BAD_REQUEST' });
    expect(logLines.filter((line) => line.includes('unexpected error'))).toEqual([]);
  });
});
