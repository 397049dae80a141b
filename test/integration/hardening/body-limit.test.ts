/**
 * The body limit over Node's HTTP server (src/security/body-limit.ts): with a valid
 * Content-Length the announced length is the check (Node's parser delivers no more than
 * that); a chunked body, or a request that did not come through Node's parser, is counted
 * while it is read. query-limits.test.ts covers the same limit through `yoga.fetch`.
 */
import { once } from 'node:events';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appWith, raw } from './support.js';

const limit = 4096;
const instance = appWith({ maxBodyBytes: limit });
let server: Server;
let port: number;

beforeAll(async () => {
  server = createServer((req, res) => instance.yoga.handle(req, res, { req }));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** A valid request body of exactly `size` bytes (the padding is an unused variable). */
function bodyOf(size: number): string {
  const empty = JSON.stringify({ query: '{ viewer { kind } }', variables: { pad: '' } });
  return JSON.stringify({ query: '{ viewer { kind } }', variables: { pad: 'x'.repeat(size - empty.length) } });
}

/** POSTs over HTTP: with Content-Length, or chunked (in 1,000-byte writes) when `chunked`. */
function post(body: string, { chunked = false } = {}): Promise<{ status: number; code?: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (!chunked) headers['content-length'] = String(Buffer.byteLength(body));
    const req = httpRequest({ host: '127.0.0.1', port, path: '/graphql', method: 'POST', headers }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => {
        const parsed = JSON.parse(text) as { errors?: { extensions?: { code?: string } }[] };
        resolve({ status: res.statusCode!, code: parsed.errors?.[0]?.extensions?.code });
      });
    });
    req.on('error', reject);
    for (let i = 0; i < body.length; i += 1000) req.write(body.slice(i, i + 1000));
    req.end();
  });
}

describe('request body limit over HTTP', () => {
  it('Content-Length at the limit is served; one byte more is 413 REQUEST_ENTITY_TOO_LARGE', async () => {
    expect(await post(bodyOf(limit))).toMatchObject({ status: 200 });
    expect(await post(bodyOf(limit + 1))).toEqual({ status: 413, code: 'REQUEST_ENTITY_TOO_LARGE' });
  });

  it('a chunked body (no Content-Length) is counted while read: under the limit served, over it 413', async () => {
    expect(await post(bodyOf(limit), { chunked: true })).toMatchObject({ status: 200 });
    expect(await post(bodyOf(limit * 4), { chunked: true })).toEqual({ status: 413, code: 'REQUEST_ENTITY_TOO_LARGE' });
  });

  it('outside Node’s parser a Content-Length is not trusted: a body longer than announced is counted and refused', async () => {
    const response = await raw(instance, { body: bodyOf(limit * 4), headers: { 'content-length': '100' } });
    expect(response.status).toBe(413);
  });

  it('a Content-Length that is not one plain number is 400', async () => {
    const response = await raw(instance, { body: bodyOf(100), headers: { 'content-length': '1,1' } });
    expect(response.status).toBe(400);
  });
});
