/** Servers as child processes: started on a free port, awaited until ready, stopped by pid. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type Server = { name: string; url: string; process: ChildProcess; output: string[]; stop(): Promise<void> };

export const BENCH_ADMIN = { email: 'bench-admin@keygate.local', password: 'bench-admin-password' };

/**
 * What every keygate server of the benchmark runs with: production mode, no logging, and
 * last-used writes pushed out of the measured window (write-behind, one UPDATE per key per
 * interval, is a constant the benchmark should not sample).
 */
export function keygateEnv(databaseUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    KEYGATE_ADMIN_EMAIL: BENCH_ADMIN.email,
    KEYGATE_ADMIN_PASSWORD: BENCH_ADMIN.password,
    KEYGATE_LOG_LEVEL: 'silent',
    KEYGATE_LAST_USED_FLUSH_MS: '60000',
    KEYGATE_KEY_FORMAT: 'kg_{base62:40}{checksum}',
    // Required in production on PostgreSQL; any 32 bytes do for a benchmark.
    KEYGATE_WEBHOOK_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
    ...extra,
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * `node --import tsx <entry>`: what `tsx <entry>` runs, as one process whose pid is the
 * server's (no npx or tsx wrapper left behind when it is stopped). A `.js` or `.mjs` entry
 * (the production build in dist/, say) runs on plain Node.
 */
export async function startServer(name: string, entry: string, env: Record<string, string>, readyPath: string): Promise<Server> {
  const port = await freePort();
  const output: string[] = [];
  // KEYGATE_BENCH_PROFILE=<dir>: each server writes a V8 CPU profile there when it stops
  // (summarize with `npx tsx bench/profile-summary.ts <file>`).
  const profileDir = process.env.KEYGATE_BENCH_PROFILE;
  const profiling = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const loader = /\.m?js$/.test(entry) ? [] : ['--import', 'tsx'];
  const child = spawn(process.execPath, [...profiling, ...loader, entry], {
    cwd: repoRoot,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk) => output.push(String(chunk)));
  child.stderr!.on('data', (chunk) => output.push(String(chunk)));
  const url = `http://127.0.0.1:${port}`;
  const server: Server = { name, url, process: child, output, stop: () => stopProcess(child) };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && child.exitCode === null) {
    if (await fetch(url + readyPath).then((r) => r.ok, () => false)) return server;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await server.stop();
  throw new Error(`${name} did not become ready:\n${output.join('')}`);
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(force);
}
