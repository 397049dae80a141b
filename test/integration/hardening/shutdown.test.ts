/**
 * SIGTERM (src/index.ts): the server stops accepting connections, finishes the requests in
 * flight (here a large deliverData whose body is still arriving), writes the pending
 * last-used times, and exits 0 within a bound. Runs a real server process on this worker's
 * database, so the test can read what it wrote.
 */
import { request, Agent } from 'node:http';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { seedTenant } from '../../helpers/seed.js';
import { dataOf, graphqlOverHttp, startServerOnThisDatabase, withinMs, type ServerProcess } from './server-process.js';

const VIEWER = `query HardeningShutdownViewer { viewer { kind } }`;
const TRIGGER = `mutation HardeningShutdownTrigger($input: TriggerWorkflowInput!) { triggerWorkflow(input: $input) { id } }`;
const WATCH = `subscription HardeningShutdownWatch($id: ID!) { workflowRunUpdated(id: $id) { id status } }`;
const DELIVER = `mutation HardeningShutdownDeliver($input: DeliverDataInput!) { deliverData(input: $input) { id source } }`;

/** Whether a new TCP connection to the server is accepted. */
function accepts(server: ServerProcess): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(server.port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A POST whose body is sent in two parts, the second only when `finish()` is called. */
function slowPost(server: ServerProcess, body: string, headers: Record<string, string>) {
  const bytes = Buffer.from(body);
  const half = Math.floor(bytes.length / 2);
  const agent = new Agent({ keepAlive: true });
  let sendRest!: () => void;
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: server.port, path: '/graphql', method: 'POST', agent, headers: { ...headers, 'content-type': 'application/json', 'content-length': bytes.length } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.write(bytes.subarray(0, half));
    sendRest = () => req.end(bytes.subarray(half));
  });
  return { response, finish: () => sendRest(), close: () => agent.destroy() };
}

describe('graceful shutdown', () => {
  it('on SIGTERM: stops accepting, finishes a large deliverData in flight, flushes last-used, exits 0 within 10 s, without waiting for keep-alive connections', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const server = await startServerOnThisDatabase({
      // Longer than the test: only the flush on shutdown can write lastUsedAt.
      KEYGATE_LAST_USED_FLUSH_MS: '60000',
    });
    const headers = { 'x-api-key': key.secret };

    expect((await dataOf(graphqlOverHttp<{ viewer: { kind: string } }>(server, VIEWER, {}, headers))).viewer.kind).toBe('API_KEY');
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).lastUsedAt).toBeNull();

    const payload = { rows: Array.from({ length: 2_000 }, (_, i) => ({ i, text: 'x'.repeat(64) })) };
    const body = JSON.stringify({ query: DELIVER, variables: { input: { projectId: seed.project.id, source: 'in-flight', payload } } });
    const inFlight = slowPost(server, body, headers);
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const signalledAt = Date.now();
      server.child.kill('SIGTERM');

      // New connections are refused while the request is still open.
      const deadline = Date.now() + 5_000;
      while ((await accepts(server)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await accepts(server)).toBe(false);
      expect(server.child.exitCode).toBeNull();

      inFlight.finish();
      const answer = await withinMs(inFlight.response, 5_000, 'the in-flight response');
      expect(answer.status).toBe(200);
      const result = JSON.parse(answer.body) as { data?: { deliverData: { id: string; source: string } }; errors?: unknown };
      expect(result.errors).toBeUndefined();
      expect(result.data?.deliverData.source).toBe('in-flight');

      const answeredAt = Date.now();

      expect(await withinMs(server.exited, 10_000, 'exit after SIGTERM')).toEqual({ code: 0, signal: null });
      expect(Date.now() - signalledAt).toBeLessThan(10_000);
      // The client keeps its connection alive: a server that waited for Node's keep-alive
      // timeout (5 s) to drop it, rather than closing it once idle, would fail here.
      expect(Date.now() - answeredAt).toBeLessThan(3_000);

      const delivery = await db.dataDelivery.findUniqueOrThrow({ where: { id: result.data!.deliverData.id } });
      expect(delivery.payload).toEqual(payload);
      const stored = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });
      expect(stored.lastUsedAt).not.toBeNull();
      expect(stored.lastUsedIp).toBe('127.0.0.1');
    } finally {
      inFlight.close();
    }
  }, 60_000);

  it('on SIGTERM with a subscription open: ends the stream, writes the last use, exits 0 at once', async () => {
    const seed = await seedTenant();
    const watcher = await seed.createKey();
    const user = await seed.createKey();
    const server = await startServerOnThisDatabase({
      KEYGATE_LAST_USED_FLUSH_MS: '60000',
    });
    const run = await dataOf(
      graphqlOverHttp<{ triggerWorkflow: { id: string } }>(server, TRIGGER, { input: { projectId: seed.project.id, workflowId: seed.workflow.id } }, { 'x-api-key': watcher.secret }),
    );
    const stream = await fetch(`http://127.0.0.1:${server.port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'x-api-key': watcher.secret },
      body: JSON.stringify({ query: WATCH, variables: { id: run.triggerWorkflow.id } }),
    });
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = stream.body!.getReader();
    let received = '';
    while (!received.includes(run.triggerWorkflow.id)) received += new TextDecoder().decode((await reader.read()).value);
    // Ended as the protocol ends a stream: `event: complete`, then the end of the body (a cut
    // connection would fail the read instead).
    const streamEnded = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return received.includes('event: complete');
        received += new TextDecoder().decode(value);
      }
    })();
    expect((await dataOf(graphqlOverHttp<{ viewer: { kind: string } }>(server, VIEWER, {}, { 'x-api-key': user.secret }))).viewer.kind).toBe('API_KEY');

    server.child.kill('SIGTERM');
    expect(await withinMs(streamEnded, 5_000, 'the end of the stream')).toBe(true);
    expect(await withinMs(server.exited, 5_000, 'exit after SIGTERM')).toEqual({ code: 0, signal: null });
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: user.id } })).lastUsedAt).not.toBeNull();
  }, 60_000);
});
