/**
 * Request lines and Host headers that make no URL, sent raw over a socket to the listener
 * `keygate serve` uses: an absolute-form target is served as its origin form (RFC 9112
 * §3.2.2), anything else unusable is a 400 in JSON, never a 500 carrying a stack.
 */
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { app } from '../../helpers/app.js';

let server: Server;
let port: number;

beforeAll(async () => {
  server = createServer(app.handleNodeRequest);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Sends `head` (request line and headers, without the blank line) and `body`; resolves with the status and body. */
function rawRequest(head: string, body = ''): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => (answer += chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const [status = '', ...rest] = answer.split('\r\n\r\n');
      resolve({ status: Number(status.split(' ')[1]), body: rest.join('\r\n\r\n') });
    });
    const length = body ? `\r\nContent-Length: ${Buffer.byteLength(body)}` : '';
    socket.end(`${head}${length}\r\nConnection: close\r\n\r\n${body}`);
  });
}

describe('request targets and Host headers that make no URL', () => {
  it('an absolute-form target (what a forward proxy sends) is served as its origin form', async () => {
    const query = JSON.stringify({ query: '{ __typename }' });
    const answer = await rawRequest(`POST http://127.0.0.1:${port}/graphql HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json`, query);
    expect(answer.status).toBe(200);
    expect(answer.body).toContain('"__typename":"Query"');
    const health = await rawRequest(`GET http://keygate.example/health HTTP/1.1\r\nHost: elsewhere.example`);
    expect(health.status).toBe(200);
  });

  it('a Host that names no host, `*` or a target of another scheme is 400 in JSON, without a stack', async () => {
    for (const head of [
      'GET /health HTTP/1.1\r\nHost: [',
      'GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: a:b:c',
      'GET /auth/verify HTTP/1.1\r\nHost: %zz',
      'OPTIONS * HTTP/1.1\r\nHost: keygate.example',
      'GET ftp://keygate.example/graphql HTTP/1.1\r\nHost: keygate.example',
    ]) {
      const answer = await rawRequest(head);
      expect(answer.status, head).toBe(400);
      expect(JSON.parse(answer.body), head).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
      expect(answer.body, head).not.toMatch(/\bat |node_modules|TypeError/);
    }
  });
});
