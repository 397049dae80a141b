/**
 * `npx tsx bench/instructions.ts [targets]`: machine instructions per request, counted by
 * valgrind's callgrind, for the gateway's two hot paths and their references. Instructions do
 * not depend on what else the machine is doing, so a few percent of difference shows here that
 * a throughput run on a shared two-core VM hides in its noise (bench/gateway.ts), and the
 * functions they are spent in name the slow path (V8's `Runtime_*` functions, a regular
 * expression's generic path…).
 *
 * Targets (comma-separated, default `bare,verify`):
 *   empty     a bare Node handler answering /auth/verify's request with an empty 200
 *   bare      a bare Node handler answering /auth/verify's request with its answer headers
 *            (bench/gateway-targets.mjs)
 *   constant  keygate's app in its process, answering /auth/verify with those headers without
 *            checking anything (bench/gateway.ts's i″): what the process costs before any check
 *   verify    GET /auth/verify with an API key, in a keygate that has served nothing else
 *   verify-after-lane  the same after 3,000 `{ benchItem }` through the upstream lane first,
 *            as a gateway serving both sees it (Node's own functions then have more shapes)
 *   lane      POST `{ benchItem }` through keygate to an upstream
 *
 * Each target runs under `valgrind --tool=callgrind` with instrumentation off; after a warm-up
 * (--warmup requests, default 5,000) it is switched on for --requests requests (default
 * 3,000), sent one at a time over one keep-alive connection. JIT compilation and garbage
 * collection still land in the counted window now and then: compare a target with itself run
 * twice before trusting a difference of less than ~10 %, and read the function lists.
 * Needs valgrind (Debian's `valgrind` package); keygate is built first, as bench/gateway.ts does.
 *
 * `--names` names JIT-compiled JavaScript functions (`JS:*answerVerify file:…`, `RegExp:…`)
 * instead of `???:0x…`, from the perf map V8 writes with --perf-basic-prof; `--inclusive`
 * counts each function with everything it calls, which is how to see what one step of a request
 * costs (divide by --requests). With both, the noise is visible too: TurboFan compiling
 * (`OptimizingCompileDispatcher`) and keygate's background jobs (Prisma) in the window.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { tempSqlite } from './lib/databases.js';
import { answerHeadersOf, keyWithUpstreamPermission } from './gateway.js';
import { freePort, keygateEnv, repoRoot, startServer } from './lib/processes.js';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    requests: { type: 'string', default: '3000' },
    warmup: { type: 'string', default: '5000' },
    top: { type: 'string', default: '15' },
    // Name JIT-compiled JavaScript functions (otherwise `???:0x…`) from V8's perf map.
    names: { type: 'boolean', default: false },
    // Each function with what the functions it calls spent (callgrind_annotate --inclusive).
    inclusive: { type: 'boolean', default: false },
  },
});
const REQUESTS = Number(args.requests);
const LANE_BODY = JSON.stringify({ query: '{ benchItem }' });
// valgrind names its control pipes after HOST, which every server here is given: the
// controlling callgrind_control must see the same value to find them.
const SERVER_HOST = '127.0.0.1';
const VGDB_PREFIX = path.join(tmpdir(), 'keygate-bench-vgdb');

type Target = { name: string; entry: string; env: Record<string, string>; path: string; body?: string; headers: Record<string, string>; readyPath: string; afterLane?: boolean };

execFileSync(path.join(repoRoot, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], { cwd: repoRoot, stdio: 'inherit' });
const database = tempSqlite();
const dir = mkdtempSync(path.join(tmpdir(), 'keygate-bench-instructions-'));
const upstream = await startServer('upstream', 'bench/gateway-targets.mjs', { BENCH_TARGET: 'upstream', NODE_ENV: 'production' }, '/health');
try {
  const upstreams = path.join(dir, 'upstreams.json');
  writeFileSync(upstreams, JSON.stringify({ upstreams: [{ name: 'bench', url: `${upstream.url}/graphql` }] }));
  const env = keygateEnv(database.url, {
    KEYGATE_UPSTREAMS: upstreams,
    KEYGATE_SIGNING_KEY_SECRET: 'bench-signing-key-secret-of-32-characters',
    // The webhook outbox is polled once a second (a Prisma query, ~350 k instructions): at full
    // speed a few instructions per request, but under valgrind a request takes fifty times
    // longer, so about 2 k of every counted request would be polls. Last-used times are
    // written once a minute already (keygateEnv).
    KEYGATE_WEBHOOK_POLL_MS: '60000',
  });
  const { key, answerHeaders } = await seed(env);
  const asKey = { 'x-api-key': key };
  const targets: Record<string, Target> = {
    empty: { name: 'empty', entry: 'bench/gateway-targets.mjs', env: { BENCH_TARGET: 'bare-node' }, path: '/auth/verify', headers: asKey, readyPath: '/' },
    bare: { name: 'bare', entry: 'bench/gateway-targets.mjs', env: { BENCH_TARGET: 'bare-node', BENCH_ANSWER_HEADERS: answerHeaders }, path: '/auth/verify', headers: asKey, readyPath: '/' },
    constant: {
      name: 'constant',
      entry: 'bench/gateway-targets.mjs',
      env: { ...env, BENCH_TARGET: 'keygate-constant', BENCH_ANSWER_HEADERS: answerHeaders },
      path: '/auth/verify',
      headers: asKey,
      readyPath: '/ready',
    },
    verify: { name: 'verify', entry: 'dist/index.js', env, path: '/auth/verify', headers: asKey, readyPath: '/ready' },
    'verify-after-lane': { name: 'verify-after-lane', entry: 'dist/index.js', env, path: '/auth/verify', headers: asKey, readyPath: '/ready', afterLane: true },
    lane: { name: 'lane', entry: 'dist/index.js', env, path: '/graphql', body: LANE_BODY, headers: asKey, readyPath: '/ready' },
  };
  for (const name of (positionals[0] ?? 'bare,verify').split(',')) {
    const target = targets[name];
    if (!target) throw new Error(`unknown target ${name}; one of ${Object.keys(targets).join(', ')}`);
    console.log(await count(target));
  }
} finally {
  await upstream.stop();
  await database.drop();
}

/** A key holding `upstream:bench`, and the headers of its /auth/verify answer (what `bare` sends). */
async function seed(env: Record<string, string>): Promise<{ key: string; answerHeaders: string }> {
  const keygate = await startServer('keygate', 'dist/index.js', env, '/ready');
  try {
    const key = await keyWithUpstreamPermission(keygate.url);
    const answer = await answerHeadersOf({ label: '/auth/verify', url: `${keygate.url}/auth/verify`, method: 'GET', headers: { 'x-api-key': key } });
    return { key, answerHeaders: JSON.stringify(answer) };
  } finally {
    await keygate.stop();
  }
}

/** One target under callgrind: instructions per request, and the functions that spent the most. */
async function count(target: Target): Promise<string> {
  const port = await freePort();
  const out = path.join(dir, `callgrind.${target.name}.out`);
  const log = openSync(`${out}.log`, 'w');
  // The perf map turns V8's own log on as well: into the temporary directory, not the repository.
  const nodeFlags = args.names ? ['--perf-basic-prof', `--logfile=${out}.v8.log`, '--no-logfile-per-isolate'] : [];
  const child = spawn('valgrind', ['--tool=callgrind', '--instr-atstart=no', `--vgdb-prefix=${VGDB_PREFIX}`, `--callgrind-out-file=${out}`, process.execPath, ...nodeFlags, target.entry], {
    cwd: repoRoot,
    env: { ...process.env, ...target.env, PORT: String(port), HOST: SERVER_HOST },
    stdio: ['ignore', log, log],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = `http://${SERVER_HOST}:${port}`;
  try {
    await untilReady(url + target.readyPath, () => child.exitCode !== null);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    if (target.afterLane) await send(agent, `${url}/graphql`, target.headers, LANE_BODY, 3000);
    await send(agent, url + target.path, target.headers, target.body, Number(args.warmup));
    instrumentation(child.pid!, 'on');
    await send(agent, url + target.path, target.headers, target.body, REQUESTS);
    instrumentation(child.pid!, 'off');
    agent.destroy();
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  const total = Number(/^totals: (\d+)/m.exec(readFileSync(out, 'utf8'))?.[1]);
  const annotated = execFileSync('callgrind_annotate', [`--inclusive=${args.inclusive ? 'yes' : 'no'}`, out], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const nameOf = args.names ? jitNames(`/tmp/perf-${child.pid}.map`) : (line: string) => line;
  const functions = annotated
    .split('\n')
    .filter((line) => /^\s*[\d,]+ \(\s*[\d.]+%\)\s+\S/.test(line) && !line.includes('PROGRAM TOTALS'))
    .slice(0, Number(args.top))
    .map((line) => `    ${nameOf(line.trim()).slice(0, 150)}`);
  return [`${target.name}: ${(total / REQUESTS / 1000).toFixed(1)} k instructions/request`, ...functions, ''].join('\n');
}

/**
 * Replaces `???:0x…` in an annotated line with the JavaScript function V8's perf map (written
 * by --perf-basic-prof: start, size and name of each compiled function) places there.
 */
function jitNames(mapFile: string): (line: string) => string {
  const entries = readFileSync(mapFile, 'utf8')
    .split('\n')
    .map((line) => /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line))
    .filter((match) => match !== null)
    .map(([, start, size, name]) => ({ start: parseInt(start!, 16), end: parseInt(start!, 16) + parseInt(size!, 16), name: name! }))
    .sort((a, b) => a.start - b.start);
  const find = (address: number) => {
    let [low, high] = [0, entries.length - 1];
    while (low <= high) {
      const middle = (low + high) >> 1;
      const entry = entries[middle]!;
      if (address < entry.start) high = middle - 1;
      else if (address >= entry.end) low = middle + 1;
      else return entry.name;
    }
    return null;
  };
  return (line) => line.replace(/\?\?\?:0x([0-9a-f]+) \[\?\?\?\]/, (unnamed, address: string) => find(parseInt(address, 16)) ?? unnamed);
}

async function untilReady(url: string, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + 10 * 60_000; // start-up under valgrind takes a minute or two
  while (!(await fetch(url).then((response) => response.ok, () => false))) {
    if (Date.now() > deadline || exited()) throw new Error(`${url} did not become ready under valgrind`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function instrumentation(pid: number, state: 'on' | 'off'): void {
  execFileSync('callgrind_control', [`--vgdb-prefix=${VGDB_PREFIX}`, '-i', state, String(pid)], { env: { ...process.env, HOST: SERVER_HOST }, stdio: 'ignore' });
}

/** `count` requests, one at a time (a request alone in its event-loop turn, as counted). */
async function send(agent: http.Agent, url: string, headers: Record<string, string>, body: string | undefined, count: number): Promise<void> {
  for (let sent = 0; sent < count; sent++) {
    const status = await new Promise<number>((resolve, reject) => {
      const request = http.request(url, { agent, method: body ? 'POST' : 'GET', headers: body ? { ...headers, 'content-type': 'application/json' } : headers }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode!));
      });
      request.on('error', reject);
      request.end(body);
    });
    if (status !== 200) throw new Error(`${url} answered ${status}`);
  }
}
