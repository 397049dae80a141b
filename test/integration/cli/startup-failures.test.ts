/**
 * Start-up failures an operator can act on, provoked for real against the real process:
 * each ends with exit code 1 and exactly one line on stderr that names what to do, without
 * a stack trace, for `serve` and for the CLI's other commands alike.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { createClient } from '@libsql/client';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { adminQuery, withDatabase } from '../../helpers/global-setup.js';
import { dataOf, freePort, graphqlOverHttp, startServer, stopServer } from '../hardening/server-process.js';
import { startPasswordPostgres, unavailableReason } from './password-postgres.js';
import { afterTest, databaseKind, dropAfterTest, pgServerUrl, runKeygate, stderrLines, tempDir, type Finished } from './cli-process.js';

function expectOneLineFailure(result: Finished, ...mentions: (string | RegExp)[]) {
  expect(result.code, result.stderr).toBe(1);
  const lines = stderrLines(result);
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^keygate: /);
  expect(lines[0]).not.toMatch(/\n\s+at |unexpected error/);
  for (const mention of mentions) expect(lines[0]).toMatch(mention);
}

const sqliteSettings = (file: string) => ({ DATABASE_URL: `file:${file}`, HOST: '127.0.0.1' });

describe('an SQLite path that cannot be written', { timeout: 120_000 }, () => {
  it('under /proc: serve and migrate name the file and DATABASE_URL', async () => {
    for (const command of [['serve'], ['migrate']]) {
      const result = await runKeygate(command, { ...sqliteSettings('/proc/nope/keygate.db'), PORT: String(await freePort()) });
      expectOneLineFailure(result, '/proc/nope/keygate.db', 'DATABASE_URL', 'writable');
    }
  });

  it('below a regular file: serve names the file', async () => {
    const blocker = path.join(tempDir(), 'not-a-directory');
    writeFileSync(blocker, '');
    const result = await runKeygate(['serve'], { ...sqliteSettings(path.join(blocker, 'keygate.db')), PORT: String(await freePort()) });
    expectOneLineFailure(result, path.join(blocker, 'keygate.db'), 'DATABASE_URL');
  });

  it('a file that is not an SQLite database: serve and migrate name it', async () => {
    const notADatabase = path.join(tempDir(), 'README.md');
    writeFileSync(notADatabase, `# Not a database\n${'text '.repeat(2000)}\n`);
    for (const command of [['serve'], ['migrate']]) {
      const result = await runKeygate(command, { ...sqliteSettings(notADatabase), PORT: String(await freePort()) });
      expectOneLineFailure(result, `${notADatabase} is not an SQLite database`, 'DATABASE_URL');
    }
  });
});

describe('a PostgreSQL server that refuses the connection', { timeout: 120_000 }, () => {
  it('serve, migrate and admin reset-password each say to start PostgreSQL or fix DATABASE_URL', async () => {
    const closedPort = await freePort();
    const settings = { DATABASE_URL: `postgresql://postgres@127.0.0.1:${closedPort}/keygate`, HOST: '127.0.0.1', PORT: String(await freePort()) };
    for (const command of [['serve'], ['migrate'], ['admin', 'reset-password', 'admin@keygate.local']]) {
      const result = await runKeygate(command, settings);
      expectOneLineFailure(result, `127.0.0.1:${closedPort}`, 'connection refused', 'DATABASE_URL');
    }
  });
});

describe('a port already in use', { timeout: 120_000 }, () => {
  it('serve names the port and PORT, and the holder keeps it', async () => {
    const holder = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    afterTest(() => new Promise<void>((resolve) => holder.close(() => resolve())));

    const file = path.join(tempDir(), 'k.db');
    const result = await runKeygate(['serve'], { ...sqliteSettings(file), PORT: String(port) });

    expectOneLineFailure(result, `port ${port} is already in use`, 'PORT');
    expect(holder.listening).toBe(true);
    // Before anything was written: no database, so no administrator whose one-time password went to this failed start's log.
    expect(existsSync(file)).toBe(false);
    expect(result.stdout).not.toMatch(/password/i);
  });

  it('serve names HOST when it does not resolve, before creating the database', async () => {
    const file = path.join(tempDir(), 'k.db');
    const result = await runKeygate(['serve'], { ...sqliteSettings(file), HOST: 'no-such-host.invalid', PORT: String(await freePort()) });
    expectOneLineFailure(result, 'HOST "no-such-host.invalid" does not resolve');
    expect(existsSync(file)).toBe(false);
  });

  it('an empty SQLite path is a bad setting', async () => {
    expectOneLineFailure(await runKeygate(['serve'], { DATABASE_URL: 'file:' }), 'invalid setting DATABASE_URL');
  });

  it('gateway mode in production without a signing key or its secret: one line, before the database is created', async () => {
    const dir = tempDir();
    const schema = path.join(dir, 'shop.graphql');
    writeFileSync(schema, 'type Query { shopItem: String }');
    const upstreams = path.join(dir, 'upstreams.json');
    writeFileSync(upstreams, JSON.stringify({ upstreams: [{ name: 'shop', url: 'http://127.0.0.1:9/graphql', schema }] }));
    const file = path.join(dir, 'k.db');
    const env = { ...sqliteSettings(file), NODE_ENV: 'production', KEYGATE_UPSTREAMS: upstreams, KEYGATE_ADMIN_PASSWORD: 'production-password', PORT: String(await freePort()) };
    expectOneLineFailure(await runKeygate(['serve'], env), 'KEYGATE_SIGNING_KEY', 'KEYGATE_SIGNING_KEY_SECRET');
    expect(existsSync(file)).toBe(false);
  });

  it('a webhook secret key of the wrong size is a bad setting', async () => {
    expectOneLineFailure(await runKeygate(['serve'], { ...sqliteSettings(path.join(tempDir(), 'k.db')), KEYGATE_WEBHOOK_SECRET_KEY: 'abc' }), 'invalid setting KEYGATE_WEBHOOK_SECRET_KEY');
  });
});

describe('a migration that fails', { timeout: 120_000 }, () => {
  it('serve names the migration and the database error, and records nothing as applied', async () => {
    const file = path.join(tempDir(), 'k.db');
    // A table the first migration creates is already there, as after a botched manual repair.
    const sqlite = createClient({ url: `file:${file}` });
    await sqlite.execute('CREATE TABLE "Tenant" ("id" TEXT)');

    const result = await runKeygate(['serve'], { ...sqliteSettings(file), PORT: String(await freePort()) });

    expectOneLineFailure(result, /migration \d+_init failed and was rolled back/, /Tenant.*already exists/, 'start again');
    const recorded = await sqlite.execute('SELECT migration_name FROM "_prisma_migrations"');
    expect(recorded.rows).toEqual([]);
    sqlite.close();
  });

  it('migrate refuses a database whose migration history records an unfinished migration', async () => {
    const file = path.join(tempDir(), 'k.db');
    const settings = sqliteSettings(file);
    expect((await runKeygate(['migrate'], settings)).code).toBe(0);
    const sqlite = createClient({ url: `file:${file}` });
    await sqlite.execute('UPDATE "_prisma_migrations" SET finished_at = NULL');
    sqlite.close();

    expectOneLineFailure(await runKeygate(['migrate'], settings), /failed or is unfinished/, 'rolled_back_at');
  });
});

describe('bad usage', { timeout: 120_000 }, () => {
  it('an unknown command or a missing email is one line, exit 1', async () => {
    expectOneLineFailure(await runKeygate(['serv'], {}), 'unknown command: serv', '--help');
    expectOneLineFailure(await runKeygate(['admin', 'reset-password'], {}), 'reset-password <email>');
    expectOneLineFailure(await runKeygate(['admin'], {}), 'usage: keygate admin reset-password <email>');
  });

  it('a bad setting stops every command with one line naming it', async () => {
    expectOneLineFailure(await runKeygate(['migrate'], { DATABASE_URL: 'mysql://x' }), 'DATABASE_URL');
  });
});

describe.runIf(databaseKind === 'postgresql')('production on PostgreSQL', { timeout: 120_000 }, () => {
  it('refuses to serve without KEYGATE_WEBHOOK_SECRET_KEY, which every instance must share', async () => {
    const name = `keygate_cli_prod_${process.pid}_${Date.now()}`;
    dropAfterTest(name);
    const result = await runKeygate(['serve'], { NODE_ENV: 'production', DATABASE_URL: withDatabase(pgServerUrl(), name), HOST: '127.0.0.1', PORT: String(await freePort()), KEYGATE_ADMIN_PASSWORD: 'production-password' });
    expectOneLineFailure(result, 'KEYGATE_WEBHOOK_SECRET_KEY is required in production on PostgreSQL');
    // Refused before migrating (the database is not even created) or making the administrator.
    const client = new pg.Client({ connectionString: pgServerUrl() });
    await client.connect();
    try {
      expect((await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount).toBe(0);
    } finally {
      await client.end();
    }
    expect(result.stdout).not.toMatch(/password/i);
  });
});

describe.runIf(databaseKind === 'postgresql')('a PostgreSQL database that does not exist', { timeout: 120_000 }, () => {
  it('two instances starting together both serve: one creates it, and its system tenant, the other finds them', async () => {
    const name = `keygate_cli_together_${process.pid}_${Date.now()}`;
    dropAfterTest(name);
    const settings = { DATABASE_URL: withDatabase(pgServerUrl(), name), KEYGATE_ADMIN_PASSWORD: 'together-password' };
    const servers = await Promise.all([startServer(settings), startServer(settings)]);
    for (const server of servers) {
      expect((await dataOf(graphqlOverHttp<{ viewer: { kind: string } }>(server, '{ viewer { kind } }'))).viewer.kind).toBe('ANONYMOUS');
      await stopServer(server);
    }
    const client = new pg.Client({ connectionString: withDatabase(pgServerUrl(), name) });
    await client.connect();
    try {
      expect((await client.query(`SELECT count(*)::int AS n FROM "Tenant" WHERE slug = 'system'`)).rows[0].n).toBe(1);
      expect((await client.query(`SELECT count(*)::int AS n FROM "User" WHERE role = 'PLATFORM_ADMIN'`)).rows[0].n).toBe(1);
    } finally {
      await client.end();
    }
  });

  it('is created when the role may, then served', async () => {
    const name = `keygate_cli_new_${process.pid}_${Date.now()}`;
    dropAfterTest(name);
    const server = await startServer({ DATABASE_URL: withDatabase(pgServerUrl(), name), KEYGATE_ADMIN_PASSWORD: 'new-database-password' });

    const data = await dataOf(graphqlOverHttp<{ viewer: { kind: string } }>(server, '{ viewer { kind } }'));
    expect(data.viewer.kind).toBe('ANONYMOUS');
    await stopServer(server);
    const client = new pg.Client({ connectionString: withDatabase(pgServerUrl(), name) });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT count(*)::int AS n FROM "_prisma_migrations" WHERE finished_at IS NOT NULL');
      expect(rows[0].n).toBeGreaterThan(0);
    } finally {
      await client.end();
    }
  });

  it('is one line saying `createdb <name>` when the role may not create databases', async () => {
    const role = `keygate_nocreate_${process.pid}_${Date.now()}`;
    const name = `keygate_cli_missing_${process.pid}_${Date.now()}`;
    await adminQuery(pgServerUrl(), `CREATE ROLE ${role} LOGIN NOCREATEDB`);
    afterTest(() => adminQuery(pgServerUrl(), `DROP ROLE IF EXISTS ${role}`));
    dropAfterTest(name);
    const url = new URL(withDatabase(pgServerUrl(), name));
    url.username = role;
    url.password = '';

    for (const command of [['serve'], ['migrate']]) {
      const result = await runKeygate(command, { DATABASE_URL: url.toString(), HOST: '127.0.0.1', PORT: String(await freePort()) });
      expectOneLineFailure(result, `database "${name}" does not exist`, `createdb ${name}`, 'may not create databases');
    }
    const client = new pg.Client({ connectionString: pgServerUrl() });
    await client.connect();
    const { rows } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    await client.end();
    expect(rows).toEqual([]);
  });
});

describe('admin commands on a database that is not migrated', { timeout: 120_000 }, () => {
  it('say to run keygate migrate first, and change nothing', async () => {
    const file = path.join(tempDir(), 'empty.db');
    const result = await runKeygate(['admin', 'reset-password', 'admin@keygate.local'], sqliteSettings(file));
    expectOneLineFailure(result, 'keygate migrate');
  });
});

// Under CI a machine without the PostgreSQL server binaries fails this test instead of skipping it.
const noPrivatePostgres = process.env.CI === 'true' ? null : unavailableReason();

describe.skipIf(noPrivatePostgres)(
  `a PostgreSQL server that checks passwords${noPrivatePostgres ? ` (skipped: ${noPrivatePostgres})` : ''}`,
  { timeout: 120_000 },
  () => {
    it('a wrong password is one line naming the role and DATABASE_URL, without the password', async () => {
      const server = await startPasswordPostgres();
      afterTest(() => server.destroy());
      const url = `postgresql://postgres:wrong-password-456@${server.host}:${server.port}/postgres`;

      for (const command of [['serve'], ['migrate']]) {
        const result = await runKeygate(command, { DATABASE_URL: url, HOST: '127.0.0.1', PORT: String(await freePort()) });
        expectOneLineFailure(result, `rejected the password of role "postgres"`, 'DATABASE_URL');
        expect(result.stderr).not.toContain('wrong-password-456');
      }
      // The right password works against the same server, so the failure above was the password.
      const ok = await runKeygate(['migrate'], { DATABASE_URL: url.replace('wrong-password-456', server.password) });
      expect(ok.code, ok.stderr).toBe(0);
    });
  },
);
