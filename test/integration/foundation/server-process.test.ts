/**
 * The real server process (src/index.ts): a bad setting stops it with one line naming the
 * variable; a good configuration serves over HTTP, shuts down cleanly on SIGTERM, and a
 * restart on the same database keeps the data and bootstraps no second administrator.
 * On PostgreSQL runs the spawned server uses the test database (DATABASE_URL of this worker).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { getConfig } from '../../../src/config.js';
import { createDb, db } from '../../../src/db.js';
import { SYSTEM_TENANT_SLUG } from '../../../src/modules/user/bootstrap.js';
import { unique } from '../../helpers/seed.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const databaseKind = inject('databaseKind');

type Running = {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

const started: Running[] = [];
const tempDirs: string[] = [];

afterEach(async () => {
  for (const server of started.splice(0)) {
    if (server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
  }
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'keygate-process-'));
  tempDirs.push(dir);
  return dir;
}

/** Only what the server needs: the worker's own settings must not leak into it. */
function startServer(settings: Record<string, string>, command: [string, string[]] = [process.execPath, ['--import', 'tsx', 'src/index.ts']]): Running {
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TMPDIR: tmpdir(), ...settings };
  const child = spawn(command[0], command[1], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const running = { child, stdout: () => stdout, stderr: () => stderr, exited };
  started.push(running);
  return running;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

function withinMs<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves once the server answers its health check; fails if the process dies first. */
async function untilServing(server: Running, baseUrl: string) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null) throw new Error(`server exited with ${server.child.exitCode}: ${server.stderr()}`);
    const healthy = await fetch(`${baseUrl}/health`).then(
      (response) => response.ok,
      () => false,
    );
    if (healthy) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`server did not serve within 30 s: ${server.stderr()}`);
}

async function graphqlOverHttp<T>(baseUrl: string, query: string, variables: Record<string, unknown>, token?: string) {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (body.errors || !body.data) throw new Error(`${response.status}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

const SIGN_IN = `mutation ServerSignIn($email: String!, $password: String!) { signIn(email: $email, password: $password) { token } }`;
const CREATE_TENANT = `mutation ServerCreateTenant($input: CreateTenantInput!) { createTenant(input: $input) { id name slug } }`;
const TENANT = `query ServerTenant($id: ID!) { tenant(id: $id) { id name slug } tenants { id } }`;

async function stop(server: Running) {
  server.child.kill('SIGTERM');
  return withinMs(server.exited, 15_000, 'exit after SIGTERM');
}

describe('the server process', () => {
  it('`npm start` stopped with SIGTERM (a process manager stopping npm) stops the server: nothing keeps serving', async () => {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const server = startServer(
      { PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: `file:${path.join(tempDir(), 'npm-start.db')}`, KEYGATE_ADMIN_PASSWORD: 'npm-start-password-1' },
      ['npm', ['start', '--silent']],
    );
    await untilServing(server, baseUrl);
    await stop(server);
    const stillServing = async () => fetch(`${baseUrl}/health`).then(() => true, () => false);
    const deadline = Date.now() + 10_000;
    while ((await stillServing()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await stillServing()).toBe(false);
    expect(server.stdout() + server.stderr()).toMatch(/shutting down/);
  });

  it('exits non-zero within seconds with one line on stderr naming PORT when PORT=abc', async () => {
    const server = startServer({ PORT: 'abc', DATABASE_URL: `file:${path.join(tempDir(), 'never.db')}` });
    const { code } = await withinMs(server.exited, 10_000, 'exit');

    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    const lines = server.stderr().trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('PORT');
  });

  it(
    'serves, survives SIGTERM cleanly, and after a restart on the same database keeps the tenant and one platform admin',
    async () => {
      const sqliteFile = databaseKind === 'sqlite' ? path.join(tempDir(), 'keygate.db') : null;
      const databaseUrl = sqliteFile ? `file:${sqliteFile}` : process.env.DATABASE_URL!;
      // On the shared PostgreSQL test database the administrator may already have been
      // bootstrapped by the test workers, with their settings; use the same ones.
      const admin =
        databaseKind === 'sqlite'
          ? { email: 'operator@keygate.test', password: 'operator-password-123' }
          : { email: getConfig().adminEmail, password: getConfig().adminPassword! };
      const port = await freePort();
      const baseUrl = `http://127.0.0.1:${port}`;
      const settings = {
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: databaseUrl,
        KEYGATE_ADMIN_EMAIL: admin.email,
        KEYGATE_ADMIN_PASSWORD: admin.password,
        KEYGATE_LOG_LEVEL: 'warn',
      };

      const first = startServer(settings);
      await untilServing(first, baseUrl);
      const { signIn } = await graphqlOverHttp<{ signIn: { token: string } }>(baseUrl, SIGN_IN, admin);
      const input = { name: unique('Process tenant'), slug: unique('process') };
      const { createTenant } = await graphqlOverHttp<{ createTenant: { id: string; name: string; slug: string } }>(
        baseUrl,
        CREATE_TENANT,
        { input },
        signIn.token,
      );
      expect(createTenant).toMatchObject(input);

      expect(await stop(first)).toEqual({ code: 0, signal: null });

      const second = startServer(settings);
      await untilServing(second, baseUrl);
      const again = await graphqlOverHttp<{ signIn: { token: string } }>(baseUrl, SIGN_IN, admin);
      const data = await graphqlOverHttp<{ tenant: { id: string; name: string; slug: string }; tenants: { id: string }[] }>(
        baseUrl,
        TENANT,
        { id: createTenant.id },
        again.signIn.token,
      );
      expect(data.tenant).toEqual(createTenant);
      expect(data.tenants.map((t) => t.id)).toContain(createTenant.id);
      expect(await stop(second)).toEqual({ code: 0, signal: null });

      const store = sqliteFile ? createDb(databaseUrl) : db;
      try {
        const system = await store.tenant.findUniqueOrThrow({ where: { slug: SYSTEM_TENANT_SLUG } });
        const bootstrapped = await store.auditEvent.count({
          where: { tenantId: system.id, action: 'user.created', actorKind: 'SYSTEM' },
        });
        expect(bootstrapped).toBe(1);
        expect(await store.user.count({ where: { email: admin.email, role: 'PLATFORM_ADMIN', tenantId: system.id } })).toBe(1);
        // On the shared PostgreSQL database the test seeds add platform admins of their own.
        if (sqliteFile) expect(await store.user.count({ where: { role: 'PLATFORM_ADMIN' } })).toBe(1);
        expect(await store.tenant.findUnique({ where: { id: createTenant.id } })).toMatchObject(input);
      } finally {
        if (store !== db) await store.$disconnect();
      }
    },
    90_000,
  );
});
