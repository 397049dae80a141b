/**
 * Applies the pending migrations of prisma/migrations/<provider> to a database, the way
 * `prisma migrate deploy` would (same `_prisma_migrations` table and rows, so Prisma tooling
 * recognizes them), with the raw drivers only: the server runs this at start, and the
 * schema engine is too heavy for that.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, type Client as LibsqlClient } from '@libsql/client';
import pg from 'pg';
import { StartupError } from '../lib/startup-error.js';
import { pgConnectionFailure, pgTarget, sqliteOpenFailure } from './connection-errors.js';
import { SQLITE_PRAGMAS, withPragmas } from './sqlite.js';

type Provider = 'sqlite' | 'postgresql';

interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: unknown;
}

/** What each database needs to provide; everything else is shared. */
interface Driver {
  /** Rows of `_prisma_migrations` that still count (Prisma ignores rolled-back ones). */
  appliedRows(): Promise<AppliedRow[]>;
  /** Applies one migration in a transaction; false when another instance applied it first. */
  apply(migration: Migration): Promise<boolean>;
  close(): Promise<void>;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// Prisma's own DDL, so `prisma migrate status` and friends read the table as theirs.
const MIGRATIONS_TABLE: Record<Provider, string> = {
  sqlite: `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`,
  postgresql: `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`,
};

const SELECT_APPLIED = `SELECT migration_name, checksum, finished_at FROM "_prisma_migrations"
  WHERE rolled_back_at IS NULL ORDER BY started_at`;

/** The key `prisma migrate` itself locks on, so this runner and Prisma's exclude each other. */
const PG_ADVISORY_LOCK_KEY = 72707369;

function providerOf(url: string): Provider {
  if (url.startsWith('file:')) return 'sqlite';
  if (/^postgres(ql)?:\/\//.test(url)) return 'postgresql';
  throw new Error(`unsupported database URL (expected file: or postgresql://): ${url.split(':')[0]}:…`);
}

function readMigrations(dir: string): Migration[] {
  if (!existsSync(dir)) throw new Error(`no migrations folder at ${dir}`);
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(path.join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

/** Refuses to go on over history it cannot trust, as `prisma migrate deploy` does. */
function pendingMigrations(migrations: Migration[], rows: AppliedRow[], log: (line: string) => void): Migration[] {
  const failed = rows.filter((row) => row.finished_at === null);
  if (failed.length > 0) {
    throw new StartupError(
      `migration ${failed.map((r) => r.migration_name).join(', ')} failed or is unfinished in this database; ` +
        'repair the database by hand, then mark the row rolled back (rolled_back_at) before starting again',
    );
  }
  const local = new Map(migrations.map((m) => [m.name, m]));
  for (const row of rows) {
    const migration = local.get(row.migration_name);
    if (!migration) {
      // A newer release may already have migrated this database during a rolling deploy.
      log(`warning: migration ${row.migration_name} is applied in the database but missing from prisma/migrations`);
    } else if (migration.checksum !== row.checksum) {
      throw new StartupError(
        `migration ${row.migration_name} was modified after it was applied (checksum ${migration.checksum} ` +
          `differs from recorded ${row.checksum}); restore the original migration.sql and add a new migration instead`,
      );
    }
  }
  const applied = new Set(rows.map((row) => row.migration_name));
  return migrations.filter((m) => !applied.has(m.name));
}

function sqlitePath(url: string): string | null {
  const rest = url.slice('file:'.length).split('?')[0] ?? '';
  if (rest === ':memory:' || rest === '') return null;
  return rest.startsWith('//') ? fileURLToPath(url.split('?')[0] ?? url) : rest;
}

/**
 * mkdir -p by hand: Node's recursive mkdirSync never returns on some paths the kernel answers
 * strangely (under /proc it loops on ENOENT), and a start-up must fail, not hang.
 */
function ensureDirectory(dir: string): void {
  if (existsSync(dir)) return;
  const parent = path.dirname(dir);
  if (parent !== dir) ensureDirectory(parent);
  try {
    mkdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error; // another starter made it first
  }
}

async function sqliteDriver(url: string): Promise<Driver> {
  const file = sqlitePath(url);
  let client: LibsqlClient;
  try {
    if (file) ensureDirectory(path.dirname(path.resolve(file)));
    // The busy timeout makes concurrent starters queue on BEGIN IMMEDIATE instead of failing.
    client = withPragmas(() => createClient({ url, timeout: 30_000 }), SQLITE_PRAGMAS);
    // The first write: an unwritable file or directory fails here, before any migration.
    await client.execute(MIGRATIONS_TABLE.sqlite);
  } catch (error) {
    throw sqliteOpenFailure(error, file ? path.resolve(file) : url);
  }
  return {
    appliedRows: async () => (await client.execute(SELECT_APPLIED)).rows as unknown as AppliedRow[],
    async apply(migration) {
      // Prisma's SQLite table redefinitions drop and recreate tables: with foreign keys on, that
      // DROP would fire ON DELETE CASCADE into child tables. The pragma is ignored inside a
      // transaction, so it goes on the connection that transaction() is about to take over.
      await client.execute('PRAGMA foreign_keys = OFF');
      const tx = await client.transaction('write'); // BEGIN IMMEDIATE: one migrator at a time
      try {
        const done = await tx.execute({
          sql: 'SELECT 1 FROM "_prisma_migrations" WHERE migration_name = ? AND rolled_back_at IS NULL',
          args: [migration.name],
        });
        if (done.rows.length > 0) return false;
        const startedAt = sqliteTimestamp();
        await tx.executeMultiple(migration.sql);
        const violations = await tx.execute('PRAGMA foreign_key_check');
        if (violations.rows.length > 0) {
          throw new Error(`leaves ${violations.rows.length} foreign key violation(s), e.g. ${JSON.stringify(violations.rows[0])}`);
        }
        await tx.execute({
          sql: `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
                VALUES (?, ?, ?, ?, NULL, NULL, ?, 1)`,
          args: [randomUUID(), migration.checksum, sqliteTimestamp(), migration.name, startedAt],
        });
        await tx.commit();
        return true;
      } finally {
        tx.close(); // rolls back unless committed
      }
    },
    async close() {
      // In WAL mode committed pages may still sit in the -wal file; fold them into the
      // database file, so a migrated file is complete on its own (copied as a template, say).
      await client.execute('PRAGMA wal_checkpoint(TRUNCATE)').catch(() => {});
      client.close();
    },
  };
}

/** The text form Prisma's engine writes into SQLite's DATETIME columns. */
function sqliteTimestamp(): string {
  return new Date().toISOString().replace('Z', '+00:00');
}

/** Connects, creating the database first when it does not exist yet and the role may create it. */
async function connectPg(url: string, log: (line: string) => void, mayCreate: boolean): Promise<pg.Client> {
  try {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return client;
  } catch (error) {
    if (!mayCreate || (error as { code?: string }).code !== '3D000') throw pgConnectionFailure(error, url);
  }
  await createDatabase(url, log);
  const client = new pg.Client({ connectionString: url });
  await client.connect().catch((error) => {
    throw pgConnectionFailure(error, url);
  });
  return client;
}

/** CREATE DATABASE through the `postgres` maintenance database, with the same role and server. */
async function createDatabase(url: string, log: (line: string) => void): Promise<void> {
  const { database, user, host, port } = pgTarget(url);
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: maintenance.toString() });
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE "${database.replaceAll('"', '""')}"`);
    log(`created database ${database}`);
  } catch (error) {
    // Another instance created it first: 42P04 once it exists, 23505 when both CREATE DATABASE
    // statements ran at the same moment (the catalog's unique index decides).
    if (['42P04', '23505'].includes((error as { code?: string }).code ?? '')) return;
    const why =
      (error as { code?: string }).code === '42501' ? `role "${user}" may not create databases` : (error as Error).message;
    throw new StartupError(
      `database "${database}" does not exist on PostgreSQL at ${host}:${port} and keygate could not create it (${why}): ` +
        `create it with \`createdb ${database}\` as a role that may, then start again`,
      { cause: error },
    );
  } finally {
    await admin.end().catch(() => {});
  }
}

async function postgresDriver(url: string, log: (line: string) => void, mayCreate = true): Promise<Driver> {
  const client = await connectPg(url, log, mayCreate);
  try {
    // Session-level lock, held until close(): gateway instances starting together queue here.
    await client.query('SELECT pg_advisory_lock($1)', [PG_ADVISORY_LOCK_KEY]);
    await client.query(MIGRATIONS_TABLE.postgresql);
  } catch (error) {
    await client.end();
    throw error;
  }
  return {
    appliedRows: async () => (await client.query<AppliedRow>(SELECT_APPLIED)).rows,
    async apply(migration) {
      await client.query('BEGIN');
      try {
        const startedAt = new Date();
        // Without parameters pg uses the simple protocol, which runs a multi-statement script.
        await client.query(migration.sql);
        await client.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
           VALUES ($1, $2, $3, $4, NULL, NULL, $5, 1)`,
          [randomUUID(), migration.checksum, new Date(), migration.name, startedAt],
        );
        await client.query('COMMIT');
        return true;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    },
    async close() {
      await client.query('SELECT pg_advisory_unlock($1)', [PG_ADVISORY_LOCK_KEY]).catch(() => {});
      await client.end();
    },
  };
}

/**
 * Applies, in name order, the migrations this database has not recorded yet. Each runs in its
 * own transaction together with its `_prisma_migrations` row, so a failure leaves neither
 * behind and the next start retries it.
 */
export async function applyMigrations(
  databaseUrl: string,
  options: {
    log?: (line: string) => void;
    /** Defaults to prisma/migrations/<provider> in this repository; tests point it elsewhere. */
    migrationsDir?: string;
  } = {},
): Promise<{ applied: string[] }> {
  const log = options.log ?? (() => {});
  const provider = providerOf(databaseUrl);
  const migrations = readMigrations(options.migrationsDir ?? path.join(repoRoot, 'prisma/migrations', provider));
  const driver = provider === 'sqlite' ? await sqliteDriver(databaseUrl) : await postgresDriver(databaseUrl, log);
  const applied: string[] = [];
  try {
    for (const migration of pendingMigrations(migrations, await driver.appliedRows(), log)) {
      try {
        if (!(await driver.apply(migration))) continue;
      } catch (error) {
        throw new StartupError(
          `migration ${migration.name} failed and was rolled back (${(error as Error).message}): ` +
            'fix the database or the migration, then start again; until then this release cannot run on this database',
          { cause: error },
        );
      }
      applied.push(migration.name);
      log(`applied migration ${migration.name}`);
    }
  } finally {
    await driver.close();
  }
  return { applied };
}

/**
 * For commands that need a migrated database but must not change its schema (`keygate admin
 * …`): connects the way the migrator does, so an unreachable database is the same one line,
 * and refuses with advice when migrations are pending.
 */
export async function assertMigrated(databaseUrl: string): Promise<void> {
  const provider = providerOf(databaseUrl);
  // Opening a missing SQLite file would create an empty database there: a mistyped path must
  // be named, not answered with "run keygate migrate" next to a new stray file.
  const file = provider === 'sqlite' ? sqlitePath(databaseUrl) : null;
  if (file && !existsSync(file)) {
    throw new StartupError(`DATABASE_URL names ${path.resolve(file)}, which does not exist: point it at the server's database (or create one with \`keygate migrate\`); nothing was changed`);
  }
  const migrations = readMigrations(path.join(repoRoot, 'prisma/migrations', provider));
  const driver = provider === 'sqlite' ? await sqliteDriver(databaseUrl) : await postgresDriver(databaseUrl, () => {}, false);
  try {
    const pending = pendingMigrations(migrations, await driver.appliedRows(), () => {});
    if (pending.length > 0) {
      throw new StartupError(`the database lacks ${pending.length} migration(s) of this release: run \`keygate migrate\` (or start the server) first`);
    }
  } finally {
    await driver.close();
  }
}
