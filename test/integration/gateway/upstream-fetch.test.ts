/**
 * The upstream transport (src/gateway/upstream-fetch.ts) against a real HTTP server: what
 * executor-http sends arrives as sent over kept-alive connections, what it reads (status,
 * headers, text) comes back whole however it was chunked, a streamed answer comes back as a
 * real Response, and a silent upstream fails at the timeout, a dropped one at once. Through keygate it is covered by upstream.test.ts.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upstreamFetch } from '../../../src/gateway/upstream-fetch.js';
import { closeServer, listen } from './support.js';

type Received = { method: string; url: string; headers: IncomingHttpHeaders; body: string; socket: number };

describe('upstreamFetch', () => {
  const received: Received[] = [];
  const sockets = new WeakMap<object, number>();
  let socketCount = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      if (!sockets.has(req.socket)) sockets.set(req.socket, ++socketCount);
      received.push({ method: req.method!, url: req.url!, headers: req.headers, body, socket: sockets.get(req.socket)! });
      if (req.url === '/silent') return; // never answers
      if (req.url === '/split') {
        // One "é" (0xc3 0xa9) split across two chunks: decoded whole, not chunk by chunk.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3])); // {"a":"<first byte>
        return setTimeout(() => res.end(Buffer.from([0xa9, 0x22, 0x7d])), 20); // <second byte>"}
      }
      if (req.url === '/reset') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        res.write('{"data":');
        return setTimeout(() => res.destroy(), 20); // the connection drops mid-body
      }
      if (req.url === '/deferred') {
        res.writeHead(200, { 'content-type': 'multipart/mixed; boundary="-"' });
        return res.end('\r\n---\r\ncontent-type: application/json\r\n\r\n{"data":{"a":1},"hasNext":false}\r\n-----\r\n');
      }
      res.writeHead(req.url === '/teapot' ? 418 : 200, [
        ['content-type', 'application/json'],
        ['x-trace', 'one'],
        ['x-trace', 'two'],
      ]);
      res.end(JSON.stringify({ data: { echo: body } }));
    });
  });
  let origin = '';
  beforeAll(async () => {
    origin = `http://127.0.0.1:${await listen(server)}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await closeServer(server);
  });

  it('sends method, path, headers and body as given, and reads status, headers and text', async () => {
    const fetch = upstreamFetch(`${origin}/graphql`, 5_000);
    const init = { method: 'POST', headers: { 'content-type': 'application/json', 'x-keygate-principal': 'token' }, body: '{"query":"{ a }"}' };
    const first = await fetch(`${origin}/graphql?x=1`, init);
    const second = await fetch(`${origin}/graphql?x=1`, init);

    expect(received.slice(-2).map(({ method, url, body }) => ({ method, url, body }))).toEqual([
      { method: 'POST', url: '/graphql?x=1', body: '{"query":"{ a }"}' },
      { method: 'POST', url: '/graphql?x=1', body: '{"query":"{ a }"}' },
    ]);
    expect(received.at(-1)!.headers).toMatchObject({ 'content-type': 'application/json', 'x-keygate-principal': 'token' });
    expect(first.status).toBe(200);
    expect(first.headers.get('Content-Type')).toBe('application/json');
    expect(first.headers.get('x-trace')).toBe('one, two');
    expect(first.headers.get('x-absent')).toBeNull();
    expect(Object.fromEntries(first.headers.entries())).toMatchObject({ 'content-type': 'application/json', 'x-trace': 'one, two' });
    expect(JSON.parse(await second.text())).toEqual({ data: { echo: '{"query":"{ a }"}' } });
  });

  it('keeps connections alive: five requests one after another do not open five connections', async () => {
    const fetch = upstreamFetch(`${origin}/graphql`, 5_000);
    const before = received.length;
    for (let i = 0; i < 5; i++) await (await fetch(`${origin}/graphql`, { method: 'POST', body: '{}' })).text();
    expect(new Set(received.slice(before).map((r) => r.socket)).size).toBeLessThanOrEqual(2);
  });

  it('passes a non-2xx status through for executor-http to judge', async () => {
    const answer = await upstreamFetch(`${origin}/teapot`, 5_000)(`${origin}/teapot`, { method: 'POST', body: '{}' });
    expect(answer.status).toBe(418);
  });

  it('gives a multipart answer back as a real Response over the body it read', async () => {
    const answer = await upstreamFetch(`${origin}/deferred`, 5_000)(`${origin}/deferred`, { method: 'POST', body: '{}' });
    expect(typeof answer.body?.getReader).toBe('function');
    expect(await answer.text()).toContain('"hasNext":false');
  });

  it('fails at the timeout when the upstream does not answer', async () => {
    const started = Date.now();
    await expect(upstreamFetch(`${origin}/silent`, 300)(`${origin}/silent`, { method: 'POST', body: '{}' })).rejects.toThrow(/timeout/i);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('reads an answer that arrives in several chunks whole, a character split between them included', async () => {
    const answer = await upstreamFetch(`${origin}/split`, 5_000)(`${origin}/split`, { method: 'POST', body: '{}' });
    expect(JSON.parse(await answer.text())).toEqual({ a: 'é' });
  });

  it('fails when the upstream drops the connection in the middle of its answer', async () => {
    await expect(upstreamFetch(`${origin}/reset`, 5_000)(`${origin}/reset`, { method: 'POST', body: '{}' })).rejects.toThrow();
  });

  it('refuses a URL of another origin', async () => {
    await expect(upstreamFetch(`${origin}/graphql`, 5_000)('http://127.0.0.1:1/graphql', { method: 'POST' })).rejects.toThrow(/not this upstream's origin/);
  });
});
