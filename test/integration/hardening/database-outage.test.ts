/**
 * Database faults, with a real server process on a private PostgreSQL that the test stops
 * and restarts:
 * - while the database is down, requests that need it get 503 SERVICE_UNAVAILABLE with
 *   Retry-After (from the auth strategies and from resolvers' Prisma errors alike), never a
 *   masked 500; requests that do not need it are still served; /ready says 503;
 * - no key is accepted that was not verified against the database within the cache TTL;
 * - when the database is back, the server recovers by itself, without a restart.
 * Also: the classifier behind it (src/security/database-faults.ts) on the errors Prisma gives.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../../../src/db.js';
import { isDatabaseUnavailable } from '../../../src/security/database-faults.js';
import { createPrivatePostgres, unavailableReason, type PrivatePostgres } from './private-postgres.js';
import { dataOf, graphqlOverHttp, startServer, stopServer, until, type HttpResult, type ServerProcess } from './server-process.js';

const ADMIN = { email: 'outage-admin@keygate.test', password: 'outage-admin-password-1' };
const CACHE_TTL_MS = 3_000;

const SIGN_IN = `mutation HardeningOutageSignIn($email: String!, $password: String!) { signIn(email: $email, password: $password) { token } }`;
const CREATE_TENANT = `mutation HardeningOutageTenant($input: CreateTenantInput!) { createTenant(input: $input) { id } }`;
const CREATE_GROUP = `mutation HardeningOutageGroup($input: CreateAuthorizationGroupInput!) { createAuthorizationGroup(input: $input) { id } }`;
const CREATE_KEY = `mutation HardeningOutageKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }`;
const VIEWER = `query HardeningOutageViewer { viewer { kind } }`;
const TENANTS = `query HardeningOutageTenants { tenants { id } }`;

function expectUnavailable(result: HttpResult) {
  expect(result.status).toBe(503);
  expect(result.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
  expect(result.errors?.[0]?.message).not.toBe('Unexpected error.');
  expect(Number(result.retryAfter)).toBeGreaterThan(0);
}

// Outside CI a machine without PostgreSQL's server binaries skips this file, saying why;
// under CI (.ci/run installs them) the same reason fails it.
const missing = unavailableReason();
const skipReason = process.env.CI === 'true' ? null : missing;
if (missing && !skipReason) {
  describe('database outage', () => {
    it('needs PostgreSQL server binaries under CI', () => {
      throw new Error(`cannot run the outage test: ${missing}`);
    });
  });
}

describe.skipIf(missing)(`database outage${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let postgres: PrivatePostgres;
  beforeAll(async () => {
    postgres = await createPrivatePostgres();
  }, 60_000);
  afterAll(() => postgres?.destroy());

  it(
    'requests needing the database get 503 while it is down, no key unverified for longer than the cache TTL is accepted, and the server recovers',
    async () => {
      const server = await startServer({
        DATABASE_URL: postgres.url,
        KEYGATE_ADMIN_EMAIL: ADMIN.email,
        KEYGATE_ADMIN_PASSWORD: ADMIN.password,
        KEYGATE_KEY_CACHE_TTL_MS: String(CACHE_TTL_MS),
        KEYGATE_AUTH_FAILURE_LIMIT: '0',
      });
      const asAdmin = await signedIn(server);
      const { usedKey, unusedKey } = await twoKeys(server, asAdmin);
      const key = (secret: string) => ({ 'x-api-key': secret });
      expect((await dataOf(graphqlOverHttp<{ viewer: { kind: string } }>(server, VIEWER, {}, key(usedKey)))).viewer.kind).toBe('API_KEY');

      postgres.stop();
      const stoppedAt = Date.now();

      // Needs the database: a key never verified, a session, a resolver (signIn, tenants).
      expectUnavailable(await graphqlOverHttp(server, VIEWER, {}, key(unusedKey)));
      expectUnavailable(await graphqlOverHttp(server, TENANTS, {}, asAdmin));
      expectUnavailable(await graphqlOverHttp(server, SIGN_IN, ADMIN));
      // Does not: anonymous requests and liveness.
      expect((await dataOf(graphqlOverHttp<{ viewer: { kind: string } }>(server, VIEWER))).viewer.kind).toBe('ANONYMOUS');
      expect((await fetch(`${server.baseUrl}/health`)).status).toBe(200);
      const ready = await fetch(`${server.baseUrl}/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ ready: false, checks: { database: false } });

      // The key verified before the outage stops working within the cache TTL.
      await until(server, async () => (await graphqlOverHttp(server, VIEWER, {}, key(usedKey))).status === 503, CACHE_TTL_MS + 2_000, 'refusing the cached key');
      expect(Date.now() - stoppedAt).toBeLessThan(CACHE_TTL_MS + 2_000);
      expectUnavailable(await graphqlOverHttp(server, VIEWER, {}, key(usedKey)));
      expect(server.child.exitCode).toBeNull();

      postgres.start();
      await until(server, async () => (await fetch(`${server.baseUrl}/ready`)).status === 200, 30_000, 'ready again');
      expect((await dataOf(graphqlOverHttp<{ viewer: { kind: string } }>(server, VIEWER, {}, key(usedKey)))).viewer.kind).toBe('API_KEY');
      expect((await dataOf(graphqlOverHttp<{ viewer: { kind: string } }>(server, VIEWER, {}, key(unusedKey)))).viewer.kind).toBe('API_KEY');
      expect((await dataOf(graphqlOverHttp<{ tenants: unknown[] }>(server, TENANTS, {}, asAdmin))).tenants.length).toBeGreaterThan(0);
      await dataOf(graphqlOverHttp(server, SIGN_IN, ADMIN));

      expect(await stopServer(server)).toEqual({ code: 0, signal: null });
      expect(server.stderr()).not.toContain('unexpected error');
    },
    120_000,
  );
});

async function signedIn(server: ServerProcess) {
  const { signIn } = await dataOf(graphqlOverHttp<{ signIn: { token: string } }>(server, SIGN_IN, ADMIN));
  return { authorization: `Bearer ${signIn.token}` };
}

async function twoKeys(server: ServerProcess, asAdmin: Record<string, string>) {
  const { createTenant } = await dataOf(
    graphqlOverHttp<{ createTenant: { id: string } }>(server, CREATE_TENANT, { input: { name: 'Outage tenant', slug: 'outage' } }, asAdmin),
  );
  const { createAuthorizationGroup } = await dataOf(
    graphqlOverHttp<{ createAuthorizationGroup: { id: string } }>(
      server,
      CREATE_GROUP,
      { input: { tenantId: createTenant.id, name: 'Integrations', type: 'TENANT_API_KEY', permissions: ['projects:read'] } },
      asAdmin,
    ),
  );
  const create = async (name: string) =>
    (
      await dataOf(
        graphqlOverHttp<{ createApiKey: { secret: string } }>(
          server,
          CREATE_KEY,
          { input: { tenantId: createTenant.id, name, authorizationGroupId: createAuthorizationGroup.id } },
          asAdmin,
        ),
      )
    ).createApiKey.secret;
  return { usedKey: await create('used before the outage'), unusedKey: await create('never used before the outage') };
}

describe('recognizing an unreachable database', () => {
  it('Prisma errors for an unreachable server are recognized; other errors are not', async () => {
    const unreachable = createDb('postgresql://keygate@127.0.0.1:1/nowhere');
    try {
      const modelError = await unreachable.tenant.count().catch((error: unknown) => error);
      const rawError = await unreachable.$queryRawUnsafe('SELECT 1').catch((error: unknown) => error);
      expect(isDatabaseUnavailable(modelError)).toBe(true);
      expect(isDatabaseUnavailable(rawError)).toBe(true);
    } finally {
      await unreachable.$disconnect();
    }
    expect(isDatabaseUnavailable(new Error('boom'))).toBe(false);
    expect(isDatabaseUnavailable({ code: 'P2002', meta: { target: ['slug'] } })).toBe(false);
    expect(isDatabaseUnavailable(new TypeError('x is undefined'))).toBe(false);
    expect(isDatabaseUnavailable(null)).toBe(false);
    // What a query in flight gets when PostgreSQL shuts down (SQLSTATE 57P01), and a dead socket.
    expect(isDatabaseUnavailable({ code: 'P2010', meta: { driverAdapterError: { cause: { kind: 'postgres', code: '57P01' } } } })).toBe(true);
    expect(isDatabaseUnavailable(new Error('query failed', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) }))).toBe(true);
  });

  it('a database dropped under the server, one recreated empty, and a SQLite file that cannot be opened are unavailable, not bugs', async () => {
    const server = process.env.KEYGATE_TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
    const name = `keygate_empty_${process.pid}_${Date.now()}`;
    const url = (database: string) => Object.assign(new URL(server), { pathname: `/${database}` }).toString();
    const admin = new pg.Client({ connectionString: server });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
      for (const database of [`${name}_dropped`, name]) {
        const client = createDb(url(database));
        try {
          // signIn's lookup, through Prisma's model API (P1003 and P2021).
          const error = await client.user.findFirst().catch((failure: unknown) => failure);
          expect(error, database).toBeInstanceOf(Error);
          expect(isDatabaseUnavailable(error), database).toBe(true);
        } finally {
          await client.$disconnect();
        }
      }
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      await admin.end();
    }
    const unopenable = createDb('file:/nonexistent-keygate-directory/keygate.db');
    try {
      expect(isDatabaseUnavailable(await unopenable.user.findFirst().catch((failure: unknown) => failure))).toBe(true);
    } finally {
      await unopenable.$disconnect();
    }
  });

  it('a database closed to new connections (ALLOW_CONNECTIONS false, SQLSTATE 55000) is unavailable, not a bug', async () => {
    const server = process.env.KEYGATE_TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
    const name = `keygate_closed_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ connectionString: server });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      const url = new URL(server);
      url.pathname = `/${name}`;
      const closed = createDb(url.toString());
      try {
        const error = await closed.$queryRawUnsafe('SELECT 1').catch((failure: unknown) => failure);
        expect(error).toBeInstanceOf(Error);
        expect(isDatabaseUnavailable(error)).toBe(true);
      } finally {
        await closed.$disconnect();
      }
      // Another 55000 is no outage.
      expect(isDatabaseUnavailable({ code: 'P2010', meta: { driverAdapterError: { cause: { originalCode: '55000', originalMessage: 'cannot do this now' } } } })).toBe(false);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      await admin.end();
    }
  });
});

describe('a write whose parent was deleted by another request at once', () => {
  it('is NOT_FOUND saying so, not "Unexpected error.", and nothing is written', async () => {
    const { vi } = await import('vitest');
    const projects = await import('../../../src/modules/project/project.service.js');
    const { seedTenant } = await import('../../helpers/seed.js');
    const { execute } = await import('../../helpers/app.js');
    const { db } = await import('../../../src/db.js');
    const seed = await seedTenant();
    const key = await seed.createKey();
    // The project passed every check, then was deleted before the write: the database refuses it (foreign key).
    const lookup = vi.spyOn(projects, 'findAccessibleProject').mockResolvedValue({ ...(await db.project.findUniqueOrThrow({ where: { id: seed.project.id } })), id: 'deleted-meanwhile' } as never);
    try {
      const result = await execute('mutation($p: ID!) { deliverData(input: { projectId: $p, source: "race", payload: {} }) { id } }', { p: seed.project.id }, { apiKey: key.secret });
      expect(result.errors?.[0]).toMatchObject({ message: 'What this refers to was deleted meanwhile: nothing was written.', extensions: { code: 'NOT_FOUND' } });
    } finally {
      lookup.mockRestore();
    }
    expect(await db.dataDelivery.count({ where: { source: 'race', tenantId: seed.tenant.id } })).toBe(0);
  });
});
