/**
 * Real keygate server processes on the worker's database, as behind a load balancer: the
 * multi-instance tests start two, act through one and watch the other. Each listens on a free
 * port, with a one-minute key cache, so only the invalidation path can explain a quick change.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../integration/hardening/server-process.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type Instance = { url: string; process: ChildProcess; output: string[] };

/** `node --import tsx src/index.ts` is what `npx tsx src/index.ts` runs, without npx's extra processes to kill. */
export async function startInstance(): Promise<Instance> {
  const port = await freePort();
  const output: string[] = [];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: process.env.DATABASE_URL,
      KEYGATE_LOG_LEVEL: 'warn',
      KEYGATE_KEY_CACHE_TTL_MS: '60000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk) => output.push(String(chunk)));
  child.stderr!.on('data', (chunk) => output.push(String(chunk)));
  const instance = { url: `http://127.0.0.1:${port}`, process: child, output };
  await waitUntilReady(instance);
  return instance;
}

async function waitUntilReady(instance: Instance, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (instance.process.exitCode !== null) break;
    const ready = await fetch(`${instance.url}/ready`).then((r) => r.ok, () => false);
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`instance at ${instance.url} did not become ready:\n${instance.output.join('')}`);
}

export async function stopInstance(instance: Instance): Promise<void> {
  if (instance.process.exitCode !== null) return;
  const exited = new Promise((resolve) => instance.process.once('exit', resolve));
  instance.process.kill('SIGTERM');
  const killed = setTimeout(() => instance.process.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(killed);
}
