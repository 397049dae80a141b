/**
 * `npm run bench -- --gateway`: gateway mode (issue 14), on SQLite (a temp file), short.
 *
 *   (g) `{ benchItem }` straight to the upstream yoga         the baseline for (h)
 *   (h) the same query through keygate, API key (warm cache)  target ≥ 0.7 of (g), p99 + ≤ 5 ms
 *   (i) a bare Node HTTP handler (GET, 200)                   the baseline for (j)
 *   (j) GET /auth/verify, API key (warm cache)                target ≥ 0.8 of (i)
 *
 * Each pair runs interleaved for --rounds rounds; medians are reported.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { tempSqlite } from './lib/databases.js';
import { gql } from './lib/graphql.js';
import { describeMachine } from './lib/machine.js';
import { BENCH_ADMIN, keygateEnv, startServer, type Server } from './lib/processes.js';
import { signIn } from './lib/seed-http.js';

type Options = { duration?: string; warmup?: string; connections?: string; rounds?: string; out?: string };
type Spec = { url: string; method: 'GET' | 'POST'; body?: string; headers?: Record<string, string> };
type Result = { rps: number; p50: number; p99: number; failures: number };

const TARGETS = { upstream: 0.7, upstreamAddedP99Ms: 5, verify: 0.8 };

export async function runGatewayBenchmark(options: Options): Promise<string> {
  const load = { connections: Number(options.connections ?? 50), durationS: Number(options.duration ?? 5), warmupS: Number(options.warmup ?? 1) };
  const rounds = Number(options.rounds ?? 2);
  const database = await tempSqlite();
  const servers: Server[] = [];
  const start = async (...params: Parameters<typeof startServer>) => {
    const server = await startServer(...params);
    servers.push(server);
    return server;
  };
  try {
    const upstream = await start('upstream yoga', 'bench/gateway-targets.ts', { BENCH_TARGET: 'upstream', NODE_ENV: 'production' }, '/health');
    const bareNode = await start('bare node', 'bench/gateway-targets.ts', { BENCH_TARGET: 'bare-node' }, '/');
    const dir = mkdtempSync(path.join(tmpdir(), 'keygate-bench-gateway-'));
    const upstreams = path.join(dir, 'upstreams.json');
    writeFileSync(upstreams, JSON.stringify({ upstreams: [{ name: 'bench', url: `${upstream.url}/graphql` }] }));
    const keygate = await start(
      'keygate (gateway)',
      'src/index.ts',
      keygateEnv(database.url, { KEYGATE_UPSTREAMS: upstreams, KEYGATE_SIGNING_KEY_SECRET: 'bench-signing-key-secret-of-32-characters' }),
      '/ready',
    );
    const apiKey = await keyWithUpstreamPermission(keygate.url);
    const asKey = { 'x-api-key': apiKey };
    const item = JSON.stringify({ query: '{ benchItem }' });
    const pairs: [string, Spec][][] = [
      [
        ['(g) `{ benchItem }` straight to the upstream', { url: `${upstream.url}/graphql`, method: 'POST', body: item }],
        ['(h) the same through keygate, API key', { url: `${keygate.url}/graphql`, method: 'POST', body: item, headers: asKey }],
      ],
      [
        ['(i) bare Node HTTP handler', { url: `${bareNode.url}/`, method: 'GET' }],
        ['(j) GET /auth/verify, API key', { url: `${keygate.url}/auth/verify`, method: 'GET', headers: asKey }],
      ],
    ];
    const lines = ['## Benchmark: gateway mode (SQLite)', '', ...describeMachine(), '', `autocannon, ${load.connections} connections, ${load.durationS} s per measurement after ${load.warmupS} s warm-up, ${rounds} interleaved rounds, medians. Latencies in ms.`, ''];
    lines.push('| scenario | req/s | p50 | p99 | vs. baseline | non-2xx/errors |', '|---|---:|---:|---:|---:|---:|');
    const verdicts: string[] = [];
    for (const [[baseLabel, baseSpec], [label, spec]] of pairs as [[string, Spec], [string, Spec]][]) {
      const base: Result[] = [];
      const measured: Result[] = [];
      for (let round = 1; round <= rounds; round++) {
        console.error(`[gateway] round ${round}/${rounds} ${baseLabel} …`);
        base.push(await measure(baseSpec, load));
        console.error(`[gateway] round ${round}/${rounds} ${label} …`);
        measured.push(await measure(spec, load));
      }
      const [b, m] = [median(base), median(measured)];
      const ratio = m.rps / b.rps;
      lines.push(row(baseLabel, b, '1.00'), row(label, m, ratio.toFixed(2)));
      if (label.startsWith('(h)')) {
        const added = m.p99 - b.p99;
        verdicts.push(
          `- through keygate: ${(ratio * 100).toFixed(0)}% of direct (target ≥ ${TARGETS.upstream * 100}%): ${ratio >= TARGETS.upstream ? 'met' : 'MISSED'}; p99 added ${added} ms (target ≤ ${TARGETS.upstreamAddedP99Ms} ms): ${added <= TARGETS.upstreamAddedP99Ms ? 'met' : 'MISSED'}`,
        );
      } else {
        verdicts.push(`- /auth/verify: ${(ratio * 100).toFixed(0)}% of a bare Node handler (target ≥ ${TARGETS.verify * 100}%): ${ratio >= TARGETS.verify ? 'met' : 'MISSED'}`);
      }
    }
    const report = [...lines, '', ...verdicts].join('\n') + '\n';
    if (options.out) writeFileSync(options.out, report);
    return report;
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await database.drop();
  }
}

/** A key whose group holds `upstream:bench`, made over HTTP as the bench administrator. */
async function keyWithUpstreamPermission(url: string): Promise<string> {
  const root = { authorization: `Bearer ${await signIn(url, BENCH_ADMIN.email, BENCH_ADMIN.password)}` };
  const call = (query: string, input: Record<string, unknown>) => gql(url, query, { input }, root);
  const { createAuthorizationGroup } = await call('mutation($input: CreateAuthorizationGroupInput!) { createAuthorizationGroup(input: $input) { id } }', {
    name: 'Gateway bench',
    type: 'TENANT_API_KEY',
    permissions: ['upstream:bench'],
  });
  const { createApiKey } = await call('mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }', {
    name: 'Gateway bench key',
    authorizationGroupId: createAuthorizationGroup.id,
  });
  return createApiKey.secret;
}

async function measure(spec: Spec, load: { connections: number; durationS: number; warmupS: number }): Promise<Result> {
  const check = await fetch(spec.url, { method: spec.method, body: spec.body, headers: { 'content-type': 'application/json', ...spec.headers } });
  if (check.status !== 200) throw new Error(`scenario does not answer 200 (${check.status}): ${await check.text()}`);
  const options = {
    url: spec.url,
    connections: load.connections,
    timeout: 10,
    requests: [{ method: spec.method, headers: { 'content-type': 'application/json', ...spec.headers }, ...(spec.body ? { body: spec.body } : {}) }],
  };
  if (load.warmupS > 0) await autocannon({ ...options, duration: load.warmupS });
  const result = await autocannon({ ...options, duration: load.durationS });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, failures: result.non2xx + result.errors + result.timeouts };
}

function median(results: Result[]): Result {
  const mid = (pick: (r: Result) => number) => results.map(pick).sort((a, b) => a - b)[Math.floor(results.length / 2)]!;
  return { rps: mid((r) => r.rps), p50: mid((r) => r.p50), p99: mid((r) => r.p99), failures: results.reduce((sum, r) => sum + r.failures, 0) };
}

function row(label: string, result: Result, ratio: string): string {
  return `| ${label} | ${Math.round(result.rps).toLocaleString('en-US')} | ${result.p50} | ${result.p99} | ${ratio} | ${result.failures} |`;
}
