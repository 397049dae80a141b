/**
 * `npm run bench -- --scale`: keygate with many keys on PostgreSQL (KEYGATE_BENCH_PG_URL).
 * Seeds (scripts/seed-scale.ts: 1,000,000 keys over 1,000 tenants, 100,000 in one), then
 * measures, against that one big tenant:
 *   - verification: `{ viewer { kind } }` with a different known key on every request,
 *     cache off (each request is a lookup in the 1M-row digest index) and warm;
 *   - `apiKeys(first: 20)`: one request at a time (latency) and under 50 connections,
 *     with and without `totalCount`, and a page deep in the list (cursor);
 *   - deep pages: page 1 against the last ACTIVE page and against page 5,000 of the big
 *     tenant's 100,000 keys (all statuses), with the ratio the issue sets (≤ 2× page 1's p99);
 *   - EXPLAIN (ANALYZE) of the SQL Prisma actually sends for the listing (captured from the
 *     pg driver while an in-process app answers the same query) and of the key lookup.
 *
 * Options: --keys, --tenants, --big-tenant-keys (seed size); --database-url <url> to use
 * (and keep) an existing database, seeded once; otherwise a temp database is made and dropped.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { cacheFillNumbers, keyId, scaleSecret, SCALE_DEFAULTS, seedScale, type ScaleOptions } from '../scripts/seed-scale.js';
import { tempPostgres, type TempDatabase } from './lib/databases.js';
import { gql, request } from './lib/graphql.js';
import { measure, type LoadOptions, type Measurement } from './lib/load.js';
import { describeMachine } from './lib/machine.js';
import { BENCH_ADMIN, keygateEnv, startServer, type Server } from './lib/processes.js';
import { signIn } from './lib/seed-http.js';
import { writeReport } from './lib/write-report.js';

type Args = Record<string, string | boolean | undefined>;

const VIEWER = JSON.stringify({ query: '{ viewer { kind } }' });
const LIST = (withTotal: boolean) =>
  `query BenchScaleList($tenantId: ID!, $after: String, $status: [ApiKeyStatus!]) {
    apiKeys(tenantId: $tenantId, first: 20, after: $after, status: $status) {
      ${withTotal ? 'totalCount' : ''}
      edges { cursor node { id name prefix status createdAt } }
      pageInfo { hasNextPage endCursor }
    }
  }`;

export async function runScaleBenchmark(args: Args): Promise<void> {
  const serverUrl = process.env.KEYGATE_BENCH_PG_URL;
  const existingUrl = typeof args['database-url'] === 'string' ? args['database-url'] : undefined;
  if (!serverUrl && !existingUrl) throw new Error('the scale benchmark needs PostgreSQL: set KEYGATE_BENCH_PG_URL (or pass --database-url)');
  const options: ScaleOptions = {
    keys: Number(args.keys ?? SCALE_DEFAULTS.keys),
    tenants: Number(args.tenants ?? SCALE_DEFAULTS.tenants),
    bigTenantKeys: Number(args['big-tenant-keys'] ?? SCALE_DEFAULTS.bigTenantKeys),
    verifiable: SCALE_DEFAULTS.verifiable,
    cacheFill: Number(args['cache-fill'] ?? 100_000),
  };
  const rounds = Number(args.rounds ?? 3);
  const load: LoadOptions = { connections: Number(args.connections ?? 50), durationS: Number(args.duration ?? 8), warmupS: Number(args.warmup ?? 2) };
  const database: TempDatabase = existingUrl ? { kind: 'postgresql', url: existingUrl, drop: async () => {} } : await tempPostgres(serverUrl!, 'scale');
  const servers: Server[] = [];
  try {
    const started = performance.now();
    const seed = await seedScale(database.url, options);
    const seedSeconds = (performance.now() - started) / 1000;

    servers.push(await startServer('keygate', 'src/index.ts', keygateEnv(database.url), '/ready'));
    servers.push(await startServer('keygate (cache off)', 'src/index.ts', keygateEnv(database.url, { KEYGATE_KEY_CACHE_TTL_MS: '0' }), '/ready'));
    // The last-used write-behind at its worst: every key's use written every second (the
    // default is every 30 s; the other servers push it out of the measured window).
    servers.push(await startServer('keygate (last-used flush every 1 s)', 'src/index.ts', keygateEnv(database.url, { KEYGATE_LAST_USED_FLUSH_MS: '1000' }), '/ready'));
    const [keygate, cacheOff, flushing] = servers as [Server, Server, Server];
    const admin = { authorization: `Bearer ${await signIn(keygate.url, BENCH_ADMIN.email, BENCH_ADMIN.password)}` };

    const secrets = seed.verifiable.map((k) => k.secret);
    const randomKey = () => ({ 'x-api-key': secrets[Math.floor(Math.random() * secrets.length)]! });
    const first = await request(keygate.url, '{ viewer { kind } }', {}, randomKey());
    if (first.data?.viewer?.kind !== 'API_KEY') throw new Error(`seeded keys do not verify: ${JSON.stringify(first)}`);

    const rows: { label: string; result: Measurement }[] = [];
    const run = async (label: string, work: () => Promise<Measurement>) => {
      console.error(`[scale] ${label} …`);
      const result = await work();
      console.error(`  ${Math.round(result.rps)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, status codes ${JSON.stringify(result.statusCodes)}`);
      rows.push({ label, result });
    };
    const listBody = (withTotal: boolean, after?: string, status?: string[]) =>
      JSON.stringify({ query: LIST(withTotal), variables: { tenantId: seed.bigTenantId, after, status } });

    await run(`verification, ${secrets.length} different keys, cache off (${load.connections} connections)`, () =>
      measure({ url: cacheOff.url, body: VIEWER, pickHeaders: randomKey }, load),
    );
    // One key against 1,000 keys, warm, on the same server, interleaved round by round (issue
    // 12: the 1,000-key p99 within 1.5× of the one-key p99); medians of the rounds.
    const oneKey = { 'x-api-key': secrets[0]! };
    const warmRows = {
      one: { label: `verification, one key, warm cache (${load.connections} connections)`, results: [] as Measurement[] },
      many: { label: `verification, ${secrets.length} different keys, warm cache (${load.connections} connections)`, results: [] as Measurement[] },
      flushing: { label: `the same, last-used flushed every 1 s (${secrets.length} keys per flush)`, results: [] as Measurement[] },
    };
    for (let round = 1; round <= rounds; round++) {
      for (const [name, spec] of [
        ['one', { url: keygate.url, serverPid: keygate.process.pid, body: VIEWER, headers: oneKey }],
        ['many', { url: keygate.url, serverPid: keygate.process.pid, body: VIEWER, pickHeaders: randomKey }],
        ['flushing', { url: flushing.url, serverPid: flushing.process.pid, body: VIEWER, pickHeaders: randomKey }],
      ] as const) {
        const row = warmRows[name];
        console.error(`[scale] round ${round}/${rounds} ${row.label} …`);
        const result = await measure(spec, load);
        console.error(`  ${Math.round(result.rps)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, server CPU ${result.cpuUsPerRequest?.toFixed(0)} µs/req`);
        row.results.push(result);
      }
    }
    for (const row of Object.values(warmRows)) rows.push({ label: row.label, result: medianOf(row.results) });
    const tail = medianOf(warmRows.many.results).p99 / medianOf(warmRows.one.results).p99;
    const page1 = await gql(keygate.url, LIST(false), { tenantId: seed.bigTenantId }, admin);
    // Key numbers ending in 1 are ACTIVE; the big tenant's keys are 1..bigTenantKeys, newest = highest.
    const halfway = Math.floor(options.bigTenantKeys / 20) * 10 + 1;
    const deepCursor = cursorFor(page1.apiKeys.pageInfo.endCursor, keyId(halfway));
    await run('`apiKeys(first: 20)`, one request at a time', () => sequential(keygate.url, listBody(false), admin));
    await run('`apiKeys(first: 20) { totalCount }`, one request at a time', () => sequential(keygate.url, listBody(true), admin));
    await run('`apiKeys(first: 20, after: <cursor halfway down>)`, one at a time', () => sequential(keygate.url, listBody(false, deepCursor), admin));
    await run(`\`apiKeys(first: 20)\` (${load.connections} connections)`, () => measure({ url: keygate.url, body: listBody(false), headers: admin }, load));

    // Deep pages (issue 12: p99 at page 5,000 within 2× of page 1). The cursor is the last
    // key of the page before, computed from the seed's numbering (newest = highest number).
    const pages = deepPages(options.bigTenantKeys);
    const deepRows: { label: string; first: Measurement; deep: Measurement }[] = [];
    for (const { label, status, afterKey } of pages) {
      const firstPage = await sequential(keygate.url, listBody(false, undefined, status), admin);
      const deep = await sequential(keygate.url, listBody(false, cursorFor(page1.apiKeys.pageInfo.endCursor, keyId(afterKey)), status), admin);
      console.error(`[scale] ${label}: page 1 p99 ${firstPage.p99} ms, deep p99 ${deep.p99} ms`);
      deepRows.push({ label, first: firstPage, deep });
    }

    const memory = await fillKeyCache(keygate, cacheFillNumbers(options), load.connections);

    const page5000 = pages.find((page) => page.status.includes('REVOKED'))!;
    const plans = await explainListing(database.url, seed.bigTenantId, admin.authorization, deepCursor, {
      cursor: cursorFor(page1.apiKeys.pageInfo.endCursor, keyId(page5000.afterKey)),
      status: page5000.status,
    });

    const report = [
      '## Scale benchmark (PostgreSQL)',
      '',
      ...describeMachine(),
      '',
      seed.alreadySeeded
        ? `Database seeded earlier (${options.keys.toLocaleString('en-US')} keys requested).`
        : `Seeded ${options.keys.toLocaleString('en-US')} keys over ${options.tenants.toLocaleString('en-US')} tenants (${options.bigTenantKeys.toLocaleString('en-US')} in the big tenant, every 10th REVOKED) in ${seedSeconds.toFixed(0)} s: ` +
          Object.entries(seed.timings).map(([stage, seconds]) => `${stage} ${seconds.toFixed(1)} s`).join(', ') + '.',
      '',
      `Load rows: autocannon, ${load.connections} connections, ${load.durationS} s after a ${load.warmupS} s warm-up. "One at a time" rows: 200 sequential requests after 20 warm-up ones. Latencies in ms.`,
      '',
      '| measurement | req/s | p50 | p99 | server CPU µs/req | non-2xx/errors |',
      '|---|---:|---:|---:|---:|---:|',
      ...rows.map(
        ({ label, result }) =>
          `| ${label} | ${Math.round(result.rps).toLocaleString('en-US')} | ${result.p50} | ${result.p99} | ${result.cpuUsPerRequest === undefined ? '–' : Math.round(result.cpuUsPerRequest)} | ${result.failures} |`,
      ),
      '',
      `Warm verification rows: medians of ${rounds} interleaved rounds. 1,000 keys against one key, p99: ${tail.toFixed(2)}× (target ≤ 1.5×): ${tail <= 1.5 ? 'met' : 'MISSED'}.`,
      '',
      ...memory,
      '',
      '### Deep pages (one request at a time; target: deep p99 ≤ 2× page 1 p99)',
      '',
      '| listing | page 1 p50 / p99 | deep page p50 / p99 | p99 ratio | target |',
      '|---|---:|---:|---:|---|',
      ...deepRows.map(({ label, first, deep }) => {
        const ratio = deep.p99 / first.p99;
        return `| ${label} | ${first.p50} / ${first.p99} | ${deep.p50} / ${deep.p99} | ${ratio.toFixed(1)}× | ${ratio <= 2 ? 'met' : 'MISSED'} |`;
      }),
      '',
      ...plans,
    ].join('\n') + '\n';
    console.log('\n' + report);
    if (typeof args.out === 'string') writeReport(args.out, report);
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await database.drop();
  }
}

/**
 * The deep pages to measure: the last page of the ACTIVE listing (90 % of the keys are
 * ACTIVE: every 10th is REVOKED), and page 5,000 of the listing with every status (the
 * 100,000 keys' last page). `afterKey` is the number of the key the cursor points at.
 */
function deepPages(bigTenantKeys: number): { label: string; status: string[]; afterKey: number }[] {
  const active: number[] = [];
  for (let i = bigTenantKeys; i >= 1; i--) if (i % 10 !== 0) active.push(i);
  const lastActivePage = Math.floor((active.length - 1) / 20) + 1;
  const allPages = Math.floor((bigTenantKeys - 1) / 20) + 1;
  return [
    { label: `ACTIVE keys, page ${lastActivePage.toLocaleString('en-US')} (${active.length.toLocaleString('en-US')} keys)`, status: ['ACTIVE'], afterKey: active[20 * (lastActivePage - 1) - 1]! },
    { label: `all statuses, page ${allPages.toLocaleString('en-US')} (${bigTenantKeys.toLocaleString('en-US')} keys)`, status: ['ACTIVE', 'REVOKED'], afterKey: bigTenantKeys - 20 * (allPages - 1) + 1 },
  ];
}

/** Latency without queueing: one request at a time. */
async function sequential(url: string, body: string, headers: Record<string, string>, count = 200): Promise<Measurement> {
  const { query, variables } = JSON.parse(body) as { query: string; variables: Record<string, unknown> };
  const once = async () => {
    const started = performance.now();
    await gql(url, query, variables, headers);
    return performance.now() - started;
  };
  for (let i = 0; i < 20; i++) await once();
  const started = performance.now();
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) latencies.push(await once());
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Number(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(1));
  return { rps: count / seconds, p50: at(0.5), p99: at(0.99), requests: count, failures: 0, statusCodes: { '200': count } };
}

/** Pothos cursors are base64 of a tagged id; point one at another key. */
function cursorFor(sample: string, id: string): string {
  const decoded = Buffer.from(sample, 'base64').toString('utf8');
  const sampleId = /scale-k-\d{7}/.exec(decoded)?.[0];
  if (!sampleId) throw new Error(`unexpected cursor format: ${decoded}`);
  return Buffer.from(decoded.replace(sampleId, id), 'utf8').toString('base64');
}

/**
 * Runs the listing through an in-process app on the same database and captures the SQL the
 * pg driver receives, then EXPLAINs exactly that (same text, same parameters).
 */
async function explainListing(
  databaseUrl: string,
  tenantId: string,
  authorization: string,
  deepCursor: string,
  page5000: { cursor: string; status: string[] },
): Promise<string[]> {
  process.env.DATABASE_URL = databaseUrl;
  process.env.KEYGATE_LOG_LEVEL = 'silent';
  process.env.NODE_ENV = 'production';
  type Captured = { text: string; values: unknown[] };
  const captured: Captured[] = [];
  const originalQuery = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...params: unknown[]) {
    const [config, values] = params as [string | { text: string; values?: unknown[] }, unknown[] | undefined];
    const text = typeof config === 'string' ? config : config?.text;
    if (typeof text === 'string' && /FROM "public"\."ApiKey"/.test(text)) {
      captured.push({ text, values: (typeof config === 'object' ? config.values : undefined) ?? values ?? [] });
    }
    return (originalQuery as (...args: unknown[]) => unknown).apply(this, params);
  } as typeof pg.Client.prototype.query;

  const { createApp } = await import('../src/app.js');
  const app = createApp();
  const ask = async (after?: string, withTotal = false, status?: string[]) => {
    captured.length = 0;
    const response = await app.yoga.fetch('http://bench/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body: JSON.stringify({ query: LIST(withTotal), variables: { tenantId, after, status } }),
    });
    const body = (await response.json()) as { errors?: unknown };
    if (body.errors) throw new Error(`listing failed: ${JSON.stringify(body.errors)}`);
    return [...captured];
  };

  let firstPage: Captured[], withTotal: Captured[], deepPage: Captured[], lastPage: Captured[];
  try {
    firstPage = await ask();
    withTotal = await ask(undefined, true);
    deepPage = await ask(deepCursor);
    lastPage = await ask(page5000.cursor, false, page5000.status);
  } finally {
    pg.Client.prototype.query = originalQuery;
  }

  const sections: string[] = ['### Query plans', ''];
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const explain = async (title: string, statement: Captured | undefined) => {
      if (!statement) {
        sections.push(`#### ${title}: not captured`, '');
        return;
      }
      const plan = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${statement.text}`, statement.values);
      const lines = plan.rows.map((row) => row['QUERY PLAN']);
      const verdict = lines.some((line) => /Seq Scan on "?ApiKey"?/.test(line)) ? 'SEQUENTIAL SCAN on ApiKey' : 'no sequential scan on ApiKey';
      sections.push(`#### ${title} (${verdict})`, '', '```sql', statement.text.trim(), '```', '', '```', ...lines, '```', '');
    };
    const ordered = (statements: Captured[]) => statements.find((s) => /ORDER BY/.test(s.text));
    await explain('`apiKeys(first: 20)`: the SQL Prisma sends', ordered(firstPage));
    await explain('`totalCount`: the SQL Prisma sends', withTotal.find((s) => /COUNT\(/i.test(s.text)));
    await explain('`apiKeys(first: 20, after: <cursor>)`: the SQL Prisma sends', ordered(deepPage));
    await explain('`apiKeys(first: 20, status: [ACTIVE, REVOKED], after: <page 4,999>)`: the SQL Prisma sends', ordered(lastPage));
    const digest = (await client.query('SELECT "secretDigest" FROM "ApiKey" WHERE "tenantId" = $1 LIMIT 1', [tenantId])).rows[0].secretDigest;
    const { PG_KEY_LOOKUP } = await import('../src/auth/key-lookup.js');
    await explain('key verification by digest (src/auth/key-lookup.ts)', { text: PG_KEY_LOOKUP, values: [digest] });
  } finally {
    await client.end();
  }
  return sections;
}

function medianOf(results: Measurement[]): Measurement {
  const mid = (pick: (m: Measurement) => number) => results.map(pick).sort((a, b) => a - b)[Math.floor(results.length / 2)]!;
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

/** VmRSS and VmHWM (peak) of a process, in MiB (Linux /proc). */
function residentMemory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

/**
 * Fills the warm server's key cache: one request with each of the given keys (derived
 * secrets, all ACTIVE), `connections` at a time, then reports the server's resident memory
 * before and after.
 */
async function fillKeyCache(server: Server, numbers: number[], connections: number): Promise<string[]> {
  const count = numbers.length;
  if (count <= 0 || !server.process.pid) return [];
  const pid = server.process.pid;
  const before = residentMemory(pid);
  console.error(`[scale] filling the key cache with ${count.toLocaleString('en-US')} keys …`);
  const started = performance.now();
  let next = 0;
  let verified = 0;
  const worker = async () => {
    while (next < count) {
      const i = numbers[next++]!;
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': scaleSecret(i) },
        body: VIEWER,
      });
      await response.arrayBuffer();
      if (response.status === 200) verified++;
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const seconds = (performance.now() - started) / 1000;
  const after = residentMemory(pid);
  // Let the last-used write-behind and the collector settle, then read again.
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  const settled = residentMemory(pid);
  console.error(`[scale] cache filled in ${seconds.toFixed(0)} s; RSS ${before.rss.toFixed(0)} → ${after.rss.toFixed(0)} MiB (settled ${settled.rss.toFixed(0)}, peak ${settled.peak.toFixed(0)})`);
  const mib = (value: number) => `${value.toFixed(0)} MiB`;
  return [
    '### Memory with a full key cache',
    '',
    `The warm server (KEYGATE_KEY_CACHE_MAX_ENTRIES default, 100,000) after one request with each of ${count.toLocaleString('en-US')} different keys (ACTIVE keys, ${verified.toLocaleString('en-US')} answered 200; ${seconds.toFixed(0)} s at ${connections} connections):`,
    '',
    '| resident memory (VmRSS) | MiB |',
    '|---|---:|',
    `| before the fill (after the load rows above) | ${mib(before.rss)} |`,
    `| right after the fill | ${mib(after.rss)} |`,
    `| 5 s later | ${mib(settled.rss)} |`,
    `| peak (VmHWM) | ${mib(settled.peak)} |`,
  ];
}
