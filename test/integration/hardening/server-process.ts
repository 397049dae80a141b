/**
 * Running the real server (src/index.ts) as a child process, for the fault and shutdown
 * tests: start it with only the settings given, wait for it, talk GraphQL over HTTP, stop it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { getConfig } from '../../../src/config.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

export type ServerProcess = {
  child: ChildProcess;
  baseUrl: string;
  port: number;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

const started: ServerProcess[] = [];
afterEach(async () => {
  for (const server of started.splice(0)) {
    if (server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
  }
});

export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Starts the server with `settings` only (the worker's environment does not leak in). */
/**
 * A server on this test worker's database, with the tests' administrator (so it bootstraps
 * nothing new), and `settings` on top: its writes are read back through `db`.
 */
export function startServerOnThisDatabase(settings: Record<string, string> = {}): Promise<ServerProcess> {
  const config = getConfig();
  return startServer({ DATABASE_URL: process.env.DATABASE_URL!, KEYGATE_ADMIN_EMAIL: config.adminEmail, KEYGATE_ADMIN_PASSWORD: config.adminPassword!, ...settings });
}

export async function startServer(settings: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    TMPDIR: tmpdir(),
    HOST: '127.0.0.1',
    PORT: String(port),
    KEYGATE_LOG_LEVEL: 'warn',
    ...settings,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const server = { child, port, baseUrl: `http://127.0.0.1:${port}`, stderr: () => stderr, exited };
  started.push(server);
  await until(server, async () => (await fetch(`${server.baseUrl}/health`)).ok, 30_000, 'serving');
  return server;
}

/** Polls `condition` (errors count as false) until it holds; fails after `ms` or if the process dies. */
export async function until(server: ServerProcess, condition: () => Promise<boolean>, ms: number, what: string) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null) throw new Error(`server exited with ${server.child.exitCode} before ${what}: ${server.stderr()}`);
    if (await condition().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`not ${what} within ${ms} ms; server log: ${server.stderr().slice(-2000)}`);
}

export function withinMs<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export type HttpResult<T = Record<string, unknown>> = {
  status: number;
  retryAfter: string | null;
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; reason?: string } }[];
};

export async function graphqlOverHttp<T = Record<string, unknown>>(
  server: ServerProcess,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<HttpResult<T>> {
  const response = await fetch(`${server.baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T | null; errors?: HttpResult['errors'] };
  return { status: response.status, retryAfter: response.headers.get('retry-after'), data: body.data, errors: body.errors };
}

/** The data of a call that must succeed. */
export async function dataOf<T>(result: Promise<HttpResult<T>>): Promise<T> {
  const { status, data, errors } = await result;
  if (errors || !data) throw new Error(`expected success, got ${status}: ${JSON.stringify(errors)}`);
  return data;
}

export async function stopServer(server: ServerProcess, ms = 15_000) {
  server.child.kill('SIGTERM');
  return withinMs(server.exited, ms, 'exit after SIGTERM');
}
