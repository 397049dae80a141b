/**
 * `npm run bench -- --webhooks`: end-to-end webhook delivery, trigger → the endpoint receives
 * it. A keygate server (child process, production settings, SSRF guard lifted for the local
 * receiver) on SQLite and, with KEYGATE_BENCH_PG_URL, PostgreSQL; a receiver in this process
 * answering 204 at once. `--runs <n>` runs (default 1000) triggered by `--connections <n>`
 * concurrent clients (default 20). Reports latency p50/p99 from sending `triggerWorkflow` to
 * the signed delivery arriving, and throughput (deliveries per second, first trigger to last
 * delivery). Short by design: the machine is shared.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tempPostgres, tempSqlite, type TempDatabase } from './lib/databases.js';
import { gql } from './lib/graphql.js';
import { describeMachine } from './lib/machine.js';
import { keygateEnv, startServer } from './lib/processes.js';
import { seedOverHttp } from './lib/seed-http.js';

type Options = { runs?: string; connections?: string; 'skip-sqlite'?: boolean };

export async function runWebhookBenchmark(args: Options): Promise<string[]> {
  const runs = Number(args.runs ?? 1000);
  const connections = Number(args.connections ?? 20);
  const lines = ['## Benchmark: webhook delivery (trigger → endpoint)', '', ...describeMachine(), ''];
  lines.push(`${runs} runs triggered by ${connections} concurrent clients; the receiver answers 204 at once. Latency in ms from sending triggerWorkflow to the delivery's arrival.`, '');
  lines.push('| database | p50 | p99 | max | deliveries/s | trigger requests/s |', '|---|---|---|---|---|---|');
  const databases: (() => Promise<TempDatabase>)[] = args['skip-sqlite'] ? [] : [async () => tempSqlite()];
  if (process.env.KEYGATE_BENCH_PG_URL) databases.push(() => tempPostgres(process.env.KEYGATE_BENCH_PG_URL!, 'bench_webhooks'));
  for (const create of databases) {
    const database = await create();
    try {
      const result = await benchDatabase(database, runs, connections);
      lines.push(`| ${database.kind} | ${result.p50} | ${result.p99} | ${result.max} | ${result.deliveriesPerSecond} | ${result.triggersPerSecond} |`);
    } finally {
      await database.drop();
    }
  }
  return lines;
}

async function benchDatabase(database: TempDatabase, runs: number, connections: number) {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let lastArrival = 0;
  let done: () => void = () => {};
  const allArrived = new Promise<void>((resolve) => (done = resolve));
  // A delivery may arrive before its trigger's answer: whichever comes second completes the pair.
  const early = new Map<string, number>();
  const complete = (sent: number, arrived: number) => {
    latencies.push(arrived - sent);
    lastArrival = Math.max(lastArrival, arrived);
    if (latencies.length === runs) done();
  };
  const arrivedAt = (runId: string, arrived: number) => {
    const sent = sentAt.get(runId);
    if (sent === undefined) return void early.set(runId, arrived);
    sentAt.delete(runId);
    complete(sent, arrived);
  };
  const answered = (runId: string, sent: number) => {
    const arrived = early.get(runId);
    if (arrived === undefined) return void sentAt.set(runId, sent);
    early.delete(runId);
    complete(sent, arrived);
  };
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const arrived = performance.now();
      res.writeHead(204).end();
      const runId = JSON.parse(Buffer.concat(chunks).toString('utf8'))?.data?.run?.id as string | undefined;
      if (runId) arrivedAt(runId, arrived);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;

  const server = await startServer(
    `keygate (${database.kind})`,
    'src/index.ts',
    keygateEnv(database.url, { KEYGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', KEYGATE_WEBHOOK_CONCURRENCY: '32', KEYGATE_WEBHOOK_SECRET_KEY: randomBytes(32).toString('base64'), KEYGATE_LOG_LEVEL: 'error' }),
    '/ready',
  );
  try {
    const seed = await seedOverHttp(server.url);
    const session = { authorization: `Bearer ${seed.sessionToken}` };
    const { organizations } = await gql(server.url, '{ organizations(first: 1) { edges { node { id } } } }', {}, session);
    const { createWebhookEndpoint } = await gql(
      server.url,
      'mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }',
      { input: { url: receiverUrl, events: ['workflow.run.triggered'], organizationId: organizations.edges[0].node.id } },
      session,
    );
    const { createWorkflow } = await gql(
      server.url,
      'mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id } }',
      { input: { projectId: seed.projectId, name: 'Routed bench workflow', endpointId: createWebhookEndpoint.endpoint.id } },
      session,
    );
    const trigger = JSON.stringify({ query: 'mutation($input: TriggerWorkflowInput!) { triggerWorkflow(input: $input) { id } }' });
    const body = (n: number) =>
      JSON.stringify({ ...JSON.parse(trigger), variables: { input: { projectId: seed.projectId, workflowId: createWorkflow.id, input: { n } } } });

    let next = 0;
    const started = performance.now();
    let triggersDone = 0;
    async function client() {
      while (next < runs) {
        const n = next++;
        const sent = performance.now();
        const response = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': seed.apiKey }, body: body(n) });
        const result = (await response.json()) as { data?: { triggerWorkflow?: { id: string } } };
        const id = result.data?.triggerWorkflow?.id;
        if (!id) throw new Error(`trigger failed: ${JSON.stringify(result)}`);
        answered(id, sent);
        triggersDone = performance.now();
      }
    }
    await Promise.all(Array.from({ length: connections }, client));
    await Promise.race([allArrived, new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${latencies.length} of ${runs} delivered in 60 s`)), 60_000))]);
    latencies.sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(1);
    return {
      p50: at(0.5),
      p99: at(0.99),
      max: latencies[latencies.length - 1]!.toFixed(1),
      deliveriesPerSecond: Math.round(runs / ((lastArrival - started) / 1000)),
      triggersPerSecond: Math.round(runs / ((triggersDone - started) / 1000)),
    };
  } catch (error) {
    console.error(server.output.join('').slice(-3000));
    throw error;
  } finally {
    await server.stop();
    receiver.close();
  }
}
