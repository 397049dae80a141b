/**
 * The migration history: it applies cleanly (SQLite always; PostgreSQL when KEYGATE_TEST_PG_URL
 * is set or a server answers on 127.0.0.1:5432), only once, under concurrent starters, refuses
 * tampered or failed history, and stays in step with prisma/schema.prisma.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createClient } from '@libsql/client';
import pg from 'pg';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { diffMigrationsToSchema, migrationsDir, repoRoot } from '../../../scripts/db/schema-engine.js';
import { applyMigrations } from '../../../src/db/migrate.js';

const schemaSource = readFileSync(path.join(repoRoot, 'prisma/schema.prisma'), 'utf8');
const expectedTables = [...schemaSource.matchAll(/^model (\w+)/gm)].map((m) => m[1]).concat('_prisma_migrations').sort();
const migrationNames = (provider: string) =>
  readdirSync(migrationsDir(provider as 'sqlite'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();

const AUDIT_EVENT_PROJECT = '20261202195427_audit_event_project';
const API_KEY_EXPIRY_ANNOUNCED = '20261203082223_api_key_expiry_announced';

const pgAdminUrl = process.env.KEYGATE_TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

async function pgReachable(): Promise<boolean> {
  // An explicitly configured server must be there: only the default one is optional.
  if (process.env.KEYGATE_TEST_PG_URL) return true;
  const client = new pg.Client({ connectionString: pgAdminUrl, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}
const withPg = await pgReachable();

/**
 * A fresh database with every migration but `left`: rows written then are what a data
 * migration (a backfill) finds when `left` is applied.
 */
async function migratedUpTo(target: Target, left: string): Promise<string> {
  const url = await target.create();
  const history = path.join(mkdtempSync(path.join(tmpdir(), 'keygate-history-')), 'migrations');
  cpSync(migrationsDir(target.provider), history, { recursive: true });
  rmSync(path.join(history, left), { recursive: true });
  await applyMigrations(url, { migrationsDir: history });
  return url;
}

/** What each database kind needs for the shared cases below. */
interface Target {
  provider: 'sqlite' | 'postgresql';
  /** A fresh, empty database. */
  create(): Promise<string>;
  query(url: string, sql: string): Promise<Record<string, unknown>[]>;
  cleanup(): Promise<void>;
}

function sqliteTarget(): Target {
  const dir = mkdtempSync(path.join(tmpdir(), 'keygate-migrations-'));
  return {
    provider: 'sqlite',
    // A subdirectory that does not exist yet: applyMigrations must create it.
    create: async () => `file:${path.join(dir, randomUUID(), 'keygate.db')}`,
    async query(url, sql) {
      const client = createClient({ url });
      try {
        return (await client.execute(sql)).rows as unknown as Record<string, unknown>[];
      } finally {
        client.close();
      }
    },
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

function pgTarget(): Target {
  const created: string[] = [];
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>) => {
    const client = new pg.Client({ connectionString: pgAdminUrl });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  return {
    provider: 'postgresql',
    async create() {
      const name = `keygate_test_${randomUUID().replaceAll('-', '')}`;
      await admin((c) => c.query(`CREATE DATABASE "${name}"`));
      created.push(name);
      const url = new URL(pgAdminUrl);
      url.pathname = `/${name}`;
      return url.href;
    },
    async query(url, sql) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query(sql)).rows;
      } finally {
        await client.end();
      }
    },
    cleanup: () =>
      admin(async (c) => {
        for (const name of created) await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      }),
  };
}

const tablesSql = {
  sqlite: `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`,
  postgresql: `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'`,
};

function migrationSuite(makeTarget: () => Target, runConcurrently: (url: string) => Promise<string[][]>) {
  let target: Target;
  beforeAll(() => {
    target = makeTarget();
  });
  afterAll(() => target.cleanup());

  it('applies every migration to an empty database, then nothing the second time', async () => {
    const url = await target.create();
    const first = await applyMigrations(url);
    expect(first.applied).toEqual(migrationNames(target.provider));
    expect((await applyMigrations(url)).applied).toEqual([]);

    const tables = (await target.query(url, tablesSql[target.provider])).map((r) => String(r.name)).sort();
    expect(tables).toEqual(expectedTables);
    const rows = await target.query(url, 'SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations"');
    expect(rows).toHaveLength(first.applied.length);
    for (const row of rows) {
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(row.finished_at).not.toBeNull();
      expect(Number(row.applied_steps_count)).toBe(1);
    }
  });

  it('applies each migration once when several instances start together', async () => {
    const url = await target.create();
    const results = await runConcurrently(url);
    expect(results.flat().sort()).toEqual(migrationNames(target.provider));
    expect(await target.query(url, 'SELECT id FROM "_prisma_migrations"')).toHaveLength(migrationNames(target.provider).length);
  });

  it('refuses a migration whose checksum differs from the recorded one', async () => {
    const url = await target.create();
    await applyMigrations(url);
    await target.query(url, `UPDATE "_prisma_migrations" SET checksum = '${'0'.repeat(64)}'`);
    await expect(applyMigrations(url)).rejects.toThrow(/was modified after it was applied/);
  });

  it('gives audit events recorded before it their project (audit_event_project)', async () => {
    const url = await migratedUpTo(target, AUDIT_EVENT_PROJECT);
    for (const statement of [
      `INSERT INTO "Tenant" (id, slug, name, "updatedAt") VALUES ('t1', 't', 'T', CURRENT_TIMESTAMP)`,
      `INSERT INTO "Organization" (id, "tenantId", name, slug, "updatedAt") VALUES ('o1', 't1', 'O', 'o', CURRENT_TIMESTAMP)`,
      `INSERT INTO "Workspace" (id, "tenantId", "organizationId", name, slug, "updatedAt") VALUES ('w1', 't1', 'o1', 'W', 'w', CURRENT_TIMESTAMP)`,
      `INSERT INTO "Project" (id, "tenantId", "organizationId", "workspaceId", name, slug, "updatedAt") VALUES ('p1', 't1', 'o1', 'w1', 'P', 'p', CURRENT_TIMESTAMP)`,
      `INSERT INTO "Workflow" (id, "tenantId", "projectId", name) VALUES ('f1', 't1', 'p1', 'F')`,
      `INSERT INTO "WorkflowRun" (id, "tenantId", "projectId", "workflowId", input, "triggeredByKind") VALUES ('r1', 't1', 'p1', 'f1', '{}', 'SYSTEM')`,
      ...[
        ['e1', 'project.created', 'Project', 'p1', '{}'],
        ['e2', 'workflow.created', 'Workflow', 'f1', '{"projectId":"p1"}'],
        ['e3', 'workflow_run.redelivered', 'WorkflowRun', 'r1', '{}'],
        ['e4', 'workflow_run.redelivered', 'WorkflowRun', 'gone', '{}'],
        ['e5', 'workspace.created', 'Workspace', 'w1', '{}'],
      ].map(
        ([id, action, targetType, targetId, metadata]) =>
          `INSERT INTO "AuditEvent" (id, "tenantId", "actorKind", action, "targetType", "targetId", metadata) VALUES ('${id}', 't1', 'SYSTEM', '${action}', '${targetType}', '${targetId}', '${metadata}')`,
      ),
    ]) {
      await target.query(url, statement);
    }

    expect((await applyMigrations(url)).applied).toEqual([AUDIT_EVENT_PROJECT]);
    const rows = await target.query(url, `SELECT id, "projectId" FROM "AuditEvent" ORDER BY id`);
    expect(rows.map((row) => [row.id, row.projectId])).toEqual([
      ['e1', 'p1'],
      ['e2', 'p1'],
      ['e3', 'p1'],
      ['e4', null],
      ['e5', null],
    ]);
  });

  it('marks keys whose expiry events went out before it as announced (api_key_expiry_announced)', async () => {
    const url = await migratedUpTo(target, API_KEY_EXPIRY_ANNOUNCED);
    const key = (id: string) =>
      `INSERT INTO "ApiKey" (id, "tenantId", "authorizationGroupId", name, prefix, "secretDigest", "ipAllowlist", "updatedAt") VALUES ('${id}', 't1', 'g1', '${id}', 'kg_${id}', 'digest-${id}', '[]', CURRENT_TIMESTAMP)`;
    const message = (id: string, dedupeKey: string) =>
      `INSERT INTO "WebhookMessage" (id, "tenantId", "eventType", payload, "dedupeKey") VALUES ('${id}', 't1', '${dedupeKey.split(':')[0]}', '{}', '${dedupeKey}')`;
    for (const statement of [
      `INSERT INTO "Tenant" (id, slug, name, "updatedAt") VALUES ('t1', 't', 'T', CURRENT_TIMESTAMP)`,
      `INSERT INTO "AuthorizationGroup" (id, "tenantId", name, type, permissions, "updatedAt") VALUES ('g1', 't1', 'G', 'TENANT_API_KEY', '[]', CURRENT_TIMESTAMP)`,
      key('k1'),
      key('k2'),
      key('k3'),
      message('m1', 'api_key.expiring_soon:k1'),
      message('m2', 'api_key.expiring_soon:k2'),
      message('m3', 'api_key.expired:k2'),
    ]) {
      await target.query(url, statement);
    }

    expect((await applyMigrations(url)).applied).toEqual([API_KEY_EXPIRY_ANNOUNCED]);
    const rows = await target.query(url, `SELECT id, "expiringSoonAnnouncedAt" AS soon, "expiredAnnouncedAt" AS expired FROM "ApiKey" ORDER BY id`);
    expect(rows.map((row) => [row.id, row.soon !== null, row.expired !== null])).toEqual([
      ['k1', true, false],
      ['k2', true, true],
      ['k3', false, false],
    ]);
  });

  it('refuses to continue after a failed migration', async () => {
    const url = await target.create();
    await applyMigrations(url);
    await target.query(url, `UPDATE "_prisma_migrations" SET finished_at = NULL, logs = 'boom'`);
    await expect(applyMigrations(url)).rejects.toThrow(/failed or is unfinished/);
  });
}

const execFileAsync = promisify(execFile);
const migrateScript = fileURLToPath(new URL('../../../scripts/db/migrate.ts', import.meta.url));

describe('migrations on SQLite', { timeout: 60_000 }, () => {
  // libsql is synchronous: concurrent starters must be separate processes, as in production.
  migrationSuite(sqliteTarget, (url) =>
    Promise.all(
      [1, 2, 3].map(async () => {
        const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', migrateScript], {
          cwd: repoRoot,
          env: { ...process.env, DATABASE_URL: url },
        });
        return [...stdout.matchAll(/^applied migration (\S+)$/gm)].map((m) => m[1] as string);
      }),
    ),
  );
});

describe('SQLite table redefinitions', { timeout: 60_000 }, () => {
  // Prisma rebuilds SQLite tables with DROP TABLE; inside a transaction with foreign keys on,
  // that DROP would cascade into every child table.
  it('keep the rows of child tables', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'keygate-redefine-'));
    try {
      const url = `file:${path.join(dir, 'keygate.db')}`;
      await applyMigrations(url);
      const client = createClient({ url });
      await client.execute(`INSERT INTO "Tenant" (id, slug, name, updatedAt) VALUES ('t1', 't', 'T', CURRENT_TIMESTAMP)`);
      await client.execute(`INSERT INTO "Organization" (id, tenantId, name, slug, updatedAt) VALUES ('o1', 't1', 'O', 'o', CURRENT_TIMESTAMP)`);

      const changed = schemaSource.replace(/^(model Tenant \{[^}]*?\n\s+name\s+)String/m, '$1String @default("x")');
      const sql = await diffMigrationsToSchema('sqlite', { schema: changed });
      expect(sql).toMatch(/RedefineTables[\s\S]*DROP TABLE "Tenant"/);
      const migrations = path.join(dir, 'migrations');
      cpSync(migrationsDir('sqlite'), migrations, { recursive: true });
      mkdirSync(path.join(migrations, '99990101000000_redefine_tenant'));
      writeFileSync(path.join(migrations, '99990101000000_redefine_tenant', 'migration.sql'), sql ?? '');

      expect((await applyMigrations(url, { migrationsDir: migrations })).applied).toEqual(['99990101000000_redefine_tenant']);
      expect((await client.execute('SELECT id FROM "Organization"')).rows).toHaveLength(1);
      client.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!withPg)('migrations on PostgreSQL', { timeout: 60_000 }, () => {
  migrationSuite(pgTarget, (url) =>
    Promise.all([1, 2, 3].map(async () => (await applyMigrations(url)).applied)),
  );
});

describe('migrations are in step with prisma/schema.prisma', { timeout: 60_000 }, () => {
  it('SQLite: the history builds exactly the schema', async () => {
    expect(await diffMigrationsToSchema('sqlite')).toBeNull();
  });

  it('notices a schema change that has no migration', async () => {
    const changed = schemaSource.replace(/^model Tenant \{/m, 'model Tenant {\n  unmigrated String?');
    expect(await diffMigrationsToSchema('sqlite', { schema: changed })).toMatch(/ALTER TABLE "Tenant" ADD COLUMN "unmigrated"/);
  });

  it.skipIf(!withPg)('PostgreSQL: the history builds exactly the schema', async () => {
    expect(await diffMigrationsToSchema('postgresql', { pgAdminUrl })).toBeNull();
  });
});
