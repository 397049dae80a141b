/**
 * `npm run bench`: keygate's request path against a bare graphql-yoga server, on SQLite
 * (a temp file) and, when KEYGATE_BENCH_PG_URL names a PostgreSQL server, on a temp
 * PostgreSQL database too. Every server is a child process; autocannon runs here.
 *
 *   (a) bare graphql-yoga `{ me }`                     the baseline
 *   (b) keygate `{ viewer { kind } }`, session         warm verified-session cache
 *   (c) the same with an API key, warm cache           the hot path: SHA-256 + map lookup
 *   (d) the same with the cache off                    one indexed key lookup per request
 *   (e) `triggerWorkflow` with an API key              a durable write per request (group commit)
 *   (f) session `viewer`, cache off                    one prepared session statement per request
 *   (g) (c) with usage counting off                    what per-key usage counting costs (issue 17)
 *   (h) `viewer` by `documentId`, TRUSTED_ONLY key     trusted-document lookup + persisted-operations plugin
 *   (i) `viewer`, key with a cost budget               pricing + one budget counter per request (memory)
 *
 * Options: --duration <s> (8), --warmup <s> (2), --connections <n> (50), --rounds <n> (3:
 * each scenario measured n times, reads interleaved, medians reported), --only a,d (a subset,
 * e.g. to profile one path with KEYGATE_BENCH_PROFILE=<dir>), --skip-sqlite, --out <file.md>,
 * --scale (the 1,000,000-key PostgreSQL run instead: see bench/scale.ts), --webhooks (webhook
 * delivery latency and throughput instead, with --runs <n>: see bench/webhooks.ts), --gateway
 * (gateway mode instead, short: upstream through keygate vs direct, /auth/verify vs a bare
 * Node handler; see bench/gateway.ts), --usage-counting (the key path with and without usage
 * counting, in process: see bench/usage-counting.ts).
 */
import { parseArgs } from 'node:util';
import { tempPostgres, tempSqlite, type TempDatabase } from './lib/databases.js';
import { gql } from './lib/graphql.js';
import { measure, type LoadOptions, type LoadSpec, type Measurement } from './lib/load.js';
import { describeMachine } from './lib/machine.js';
import { BENCH_ADMIN, keygateEnv, startServer, type Server } from './lib/processes.js';
import { seedOverHttp, signIn } from './lib/seed-http.js';
import { writeReport } from './lib/write-report.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    /** Measure every scenario this many times, interleaved, and report medians (steadier on a shared machine). */
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    /** Only these scenarios, e.g. `--only a,d` (for profiling one path). */
    only: { type: 'string' },
    /** Skip the SQLite run (with KEYGATE_BENCH_PG_URL: PostgreSQL only). */
    'skip-sqlite': { type: 'boolean', default: false },
    out: { type: 'string' },
    scale: { type: 'boolean', default: false },
    gateway: { type: 'boolean', default: false },
    'usage-counting': { type: 'boolean', default: false },
    requests: { type: 'string' },
    keys: { type: 'string' },
    tenants: { type: 'string' },
    'big-tenant-keys': { type: 'string' },
    'database-url': { type: 'string' },
    /** --scale: fill the warm server's key cache with this many different keys, then report its memory. */
    'cache-fill': { type: 'string' },
    webhooks: { type: 'boolean', default: false },
    runs: { type: 'string' },
  },
});

/** Targets from the performance issues (11, 12), as fractions of bare Yoga's requests/s. */
const TARGETS = { warmKey: 0.95, cacheOffSqlite: 0.5, session: 0.85, write: 0.35, writeP99Ms: 100, usageCountingCost: 0.02 };

const VIEWER = JSON.stringify({ query: '{ viewer { kind } }' });

type Row = { label: string; result: Measurement };

if (args['usage-counting']) {
  const { runUsageCountingBenchmark } = await import('./usage-counting.js');
  await runUsageCountingBenchmark();
  process.exit(0);
} else if (args.webhooks) {
  const { runWebhookBenchmark } = await import('./webhooks.js');
  const report = (await runWebhookBenchmark({ ...args, connections: process.argv.includes('--connections') ? args.connections : undefined })).join('\n') + '\n';
  console.log('\n' + report);
  if (args.out) writeReport(args.out, report);
  process.exit(0);
} else if (args.gateway) {
  const { runGatewayBenchmark } = await import('./gateway.js');
  // Shorter than the main run unless asked otherwise: four scenarios, two rounds.
  const explicit = (flag: string) => process.argv.includes(`--${flag}`);
  console.log('\n' + (await runGatewayBenchmark({ ...args, duration: explicit('duration') ? args.duration : '5', rounds: explicit('rounds') ? args.rounds : '2', warmup: explicit('warmup') ? args.warmup : '1' })));
  process.exit(0);
} else if (args.scale) {
  const { runScaleBenchmark } = await import('./scale.js');
  await runScaleBenchmark(args);
  // The EXPLAIN step ran an app in this process; its pools would keep it alive.
  process.exit(0);
} else {
  await main();
}

async function main() {
  const load: LoadOptions = { connections: Number(args.connections), durationS: Number(args.duration), warmupS: Number(args.warmup) };
  const lines = [
    '## Benchmark: keygate vs. bare graphql-yoga',
    '',
    ...describeMachine(),
    '',
    `autocannon, ${load.connections} connections, ${load.durationS} s per measurement after a ${load.warmupS} s warm-up; the read scenarios (a)–(d) and (f) in ${args.rounds} interleaved rounds, then the write (e) ${args.rounds} times; medians shown. Servers run with NODE_ENV=production, KEYGATE_LOG_LEVEL=silent, KEYGATE_LAST_USED_FLUSH_MS=60000. Latencies in ms.`,
  ];
  const databases: (() => Promise<TempDatabase>)[] = args['skip-sqlite'] ? [] : [async () => tempSqlite()];
  const pgUrl = process.env.KEYGATE_BENCH_PG_URL;
  if (pgUrl) databases.push(() => tempPostgres(pgUrl));
  else console.error('KEYGATE_BENCH_PG_URL not set: SQLite only.');

  for (const create of databases) {
    const database = await create();
    try {
      lines.push('', ...(await benchDatabase(database, load)));
    } finally {
      await database.drop();
    }
  }
  const report = lines.join('\n') + '\n';
  console.log('\n' + report);
  if (args.out) writeReport(args.out, report);
}

async function benchDatabase(database: TempDatabase, load: LoadOptions): Promise<string[]> {
  const servers: Server[] = [];
  const start = async (...params: Parameters<typeof startServer>) => {
    const server = await startServer(...params);
    servers.push(server);
    return server;
  };
  try {
    const bare = await start('bare yoga', 'bench/bare-yoga.ts', { NODE_ENV: 'production' }, '/health');
    const keygate = await start('keygate', 'src/index.ts', keygateEnv(database.url), '/ready');
    const seed = await seedOverHttp(keygate.url);
    // Started after seeding, so the two processes never migrate the same SQLite file at once.
    const cacheOff = await start('keygate (cache off)', 'src/index.ts', keygateEnv(database.url, { KEYGATE_KEY_CACHE_TTL_MS: '0', KEYGATE_SESSION_CACHE_TTL_MS: '0' }), '/ready');
    const uncounted = await start('keygate (usage counting off)', 'src/index.ts', keygateEnv(database.url, { KEYGATE_USAGE_COUNTING: 'false' }), '/ready');

    const asKey = { 'x-api-key': seed.apiKey };
    const controls = await seedKeyControls(keygate.url, seed.tenantId);
    const trigger = JSON.stringify({
      query: 'mutation BenchTrigger($input: TriggerWorkflowInput!) { triggerWorkflow(input: $input) { id } }',
      variables: { input: { projectId: seed.projectId, workflowId: seed.workflowId, input: { source: 'bench' } } },
    });
    const scenarios: { label: string; spec: LoadSpec; writes?: boolean }[] = [
      { label: '(a) bare graphql-yoga `{ me }`', spec: { url: bare.url, serverPid: bare.process.pid, body: JSON.stringify({ query: '{ me }' }) } },
      { label: '(b) `{ viewer { kind } }`, session', spec: { url: keygate.url, serverPid: keygate.process.pid, body: VIEWER, headers: { authorization: `Bearer ${seed.sessionToken}` } } },
      { label: '(c) `{ viewer { kind } }`, API key, warm cache', spec: { url: keygate.url, serverPid: keygate.process.pid, body: VIEWER, headers: asKey } },
      { label: '(d) `{ viewer { kind } }`, API key, cache off', spec: { url: cacheOff.url, serverPid: cacheOff.process.pid, body: VIEWER, headers: asKey } },
      { label: '(e) `triggerWorkflow`, API key', spec: { url: keygate.url, serverPid: keygate.process.pid, body: trigger, headers: asKey }, writes: true },
      { label: '(f) `{ viewer { kind } }`, session, cache off', spec: { url: cacheOff.url, serverPid: cacheOff.process.pid, body: VIEWER, headers: { authorization: `Bearer ${seed.sessionToken}` } } },
      { label: '(g) (c) with usage counting off', spec: { url: uncounted.url, serverPid: uncounted.process.pid, body: VIEWER, headers: asKey } },
      { label: '(h) `viewer` by documentId, TRUSTED_ONLY key', spec: { url: keygate.url, serverPid: keygate.process.pid, body: JSON.stringify({ documentId: controls.documentId }), headers: { 'x-api-key': controls.trustedOnlyKey } } },
      { label: '(i) `{ viewer { kind } }`, key with a cost budget', spec: { url: keygate.url, serverPid: keygate.process.pid, body: VIEWER, headers: { 'x-api-key': controls.budgetedKey } } },
    ];

    const only = args.only?.split(',').map((letter) => `(${letter.trim()})`);
    const selected = scenarios.filter((s) => !only || s.label.startsWith('(a)') || only.some((o) => s.label.startsWith(o)));
    for (const { spec } of selected) await assertAnswers(spec);
    const samples = new Map<string, Measurement[]>(selected.map((s) => [s.label, []]));
    const rounds = Number(args.rounds);
    // Reads interleave round by round; the write scenario runs after all of them, so the rows
    // it adds (and PostgreSQL's autovacuum of them) cannot slow a read measurement down.
    const roundNumbers = Array.from({ length: rounds }, (_, i) => i + 1);
    const inRounds = (group: typeof selected) => roundNumbers.flatMap((round) => group.map((scenario) => ({ scenario, round })));
    const schedule = [...inRounds(selected.filter((s) => !s.writes)), ...inRounds(selected.filter((s) => s.writes))];
    for (const { scenario, round } of schedule) {
      const { label, spec } = scenario;
      console.error(`[${database.kind}] round ${round}/${rounds} ${label} …`);
      const result = await measure(spec, load);
      console.error(`  ${Math.round(result.rps)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, server CPU ${result.cpuUsPerRequest?.toFixed(0) ?? '?'} µs/req, status codes ${JSON.stringify(result.statusCodes)}, ${result.failures} failures`);
      samples.get(label)!.push(result);
    }
    const rows: Row[] = selected.map(({ label }) => ({ label, result: median(samples.get(label)!) }));
    return [`### ${database.kind === 'sqlite' ? 'SQLite (temp file)' : 'PostgreSQL (temp database, same machine)'}`, '', ...table(rows, database.kind)];
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}

/** The median of each figure over the rounds; failures are summed (any failure matters). */
function median(results: Measurement[]): Measurement {
  const mid = (pick: (m: Measurement) => number) => {
    const sorted = results.map(pick).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  };
  const cpu = results.every((m) => m.cpuUsPerRequest !== undefined) ? { cpuUsPerRequest: mid((m) => m.cpuUsPerRequest!) } : {};
  return {
    ...cpu,
    rps: mid((m) => m.rps),
    p50: mid((m) => m.p50),
    p99: mid((m) => m.p99),
    requests: results.reduce((sum, m) => sum + m.requests, 0),
    failures: results.reduce((sum, m) => sum + m.failures, 0),
    statusCodes: {},
  };
}

/** A scenario that errors would measure error handling: check one answer first. */
async function assertAnswers(spec: LoadSpec): Promise<void> {
  // The body as the load sends it (a `documentId` body has no `query`).
  const response = await fetch(`${spec.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...spec.headers }, body: spec.body });
  const result = { status: response.status, ...((await response.json()) as { data?: unknown; errors?: unknown[] }) };
  if (result.status !== 200 || result.errors?.length || !result.data) {
    throw new Error(`scenario does not answer cleanly (${result.status}): ${JSON.stringify(result.errors)}`);
  }
}

function table(rows: Row[], kind: TempDatabase['kind']): string[] {
  const baseline = rows[0]!.result.rps;
  const ratio = (row: Row) => row.result.rps / baseline;
  const lines = [
    '| scenario | req/s | p50 | p99 | vs. (a) | server CPU µs/req | (a)\'s CPU / this CPU | non-2xx/errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((row, i) =>
      `| ${row.label} | ${Math.round(row.result.rps).toLocaleString('en-US')} | ${row.result.p50} | ${row.result.p99} | ${i === 0 ? '1.00' : ratio(row).toFixed(2)} | ${cpuOf(row)} | ${cpuRatio(rows[0]!, row)} | ${row.result.failures} |`,
    ),
    '',
  ];
  const warmRow = rows.find((row) => row.label.startsWith('(c)'));
  if (warmRow) {
    const warm = ratio(warmRow);
    lines.push(`- warm-cache key viewer: ${(warm * 100).toFixed(0)}% of bare Yoga (target ≥ ${TARGETS.warmKey * 100}%): ${warm >= TARGETS.warmKey ? 'met' : 'MISSED'}`);
  }
  const check = (label: string, value: number, target: number) => `${label}: ${(value * 100).toFixed(0)}% of bare Yoga (target ≥ ${target * 100}%): ${value >= target ? 'met' : 'MISSED'}`;
  // Issue 16: the GraphQL key controls against the unrestricted warm key (c).
  for (const prefix of ['(h)', '(i)']) {
    const row = rows.find((r) => r.label.startsWith(prefix));
    if (row && warmRow) {
      const share = row.result.rps / warmRow.result.rps;
      lines.push(`- ${prefix} vs. the unrestricted key (c): ${share.toFixed(2)} (target ≥ ${TARGETS.warmKey}): ${share >= TARGETS.warmKey ? 'met' : 'MISSED'}`);
    }
  }
  const sessionRow = rows.find((row) => row.label.startsWith('(b)'));
  if (sessionRow) lines.push(`- ${check('session viewer, warm', ratio(sessionRow), TARGETS.session)}`);
  const writeRow = rows.find((row) => row.label.startsWith('(e)'));
  if (writeRow) {
    const p99 = writeRow.result.p99;
    lines.push(`- ${check('durable triggerWorkflow', ratio(writeRow), TARGETS.write)}; p99 ${p99} ms (target ≤ ${TARGETS.writeP99Ms} ms): ${p99 <= TARGETS.writeP99Ms ? 'met' : 'MISSED'}`);
  }
  const uncountedRow = rows.find((row) => row.label.startsWith('(g)'));
  if (warmRow && uncountedRow) {
    const cost = 1 - warmRow.result.rps / uncountedRow.result.rps;
    lines.push(
      `- usage counting: (c) at ${((1 - cost) * 100).toFixed(1)}% of (g), a cost of ${(cost * 100).toFixed(1)}% (target ≤ ${TARGETS.usageCountingCost * 100}%): ${cost <= TARGETS.usageCountingCost ? 'met' : 'MISSED'}`,
    );
  }
  const offRow = rows.find((row) => row.label.startsWith('(d)'));
  if (offRow) {
    const off = ratio(offRow);
    lines.push(
      kind === 'sqlite'
        ? `- cache-off key viewer: ${(off * 100).toFixed(0)}% of bare Yoga (target ≥ ${TARGETS.cacheOffSqlite * 100}% on SQLite): ${off >= TARGETS.cacheOffSqlite ? 'met' : 'MISSED'}`
        : `- cache-off key viewer: ${(off * 100).toFixed(0)}% of bare Yoga (no target on PostgreSQL)`,
    );
  }
  return lines;
}

function cpuOf(row: Row): string {
  return row.result.cpuUsPerRequest === undefined ? '–' : Math.round(row.result.cpuUsPerRequest).toLocaleString('en-US');
}

/** Bare Yoga's CPU per request over this scenario's: the req/s ratio the server would reach if CPU were all that limited it. */
function cpuRatio(baseline: Row, row: Row): string {
  const base = baseline.result.cpuUsPerRequest;
  const own = row.result.cpuUsPerRequest;
  return base === undefined || own === undefined || own === 0 ? '–' : (base / own).toFixed(2);
}

/** Issue 16's keys: one in a TRUSTED_ONLY group (viewer trusted), one in a group with a budget too large to run out. */
async function seedKeyControls(url: string, tenantId: string) {
  const root = { authorization: `Bearer ${await signIn(url, BENCH_ADMIN.email, BENCH_ADMIN.password)}` };
  const call = (query: string, variables: Record<string, unknown>) => gql(url, query, variables, root);
  const makeGroup = async (name: string, extra: Record<string, unknown>) =>
    (await call('mutation($input: CreateAuthorizationGroupInput!) { createAuthorizationGroup(input: $input) { id } }', {
      input: { tenantId, name, type: 'TENANT_API_KEY', permissions: ['projects:read'], ...extra },
    })).createAuthorizationGroup.id as string;
  const makeKey = async (groupId: string) =>
    (await call('mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }', { input: { tenantId, name: `Bench ${groupId}`, authorizationGroupId: groupId } })).createApiKey.secret as string;
  const trustedGroup = await makeGroup('Trusted only', { operationPolicy: 'TRUSTED_ONLY' });
  const added = await call('mutation($g: ID!, $d: [String!]) { addTrustedDocuments(authorizationGroupId: $g, documents: $d) { id } }', { g: trustedGroup, d: ['{ viewer { kind } }'] });
  const budgetGroup = await makeGroup('Budgeted', { costBudget: { points: 1_000_000_000, windowSeconds: 3600 } });
  return { documentId: added.addTrustedDocuments[0].id as string, trustedOnlyKey: await makeKey(trustedGroup), budgetedKey: await makeKey(budgetGroup) };
}
