/**
 * Another process holding SQLite's write lock past the busy timeout (a CLI run, a backup, a
 * migration) fails the writes that waited, and nothing more: once it lets go, keygate writes
 * again and holds no lock of its own. libsql-js leaves a statement that failed busy in
 * progress on its connection (libsql-client-ts#352), after which every COMMIT there failed and
 * left its transaction holding the write lock for good; db/sqlite.ts contains it.
 */
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from '@libsql/client';
import Database from 'libsql';
import { afterAll, describe, expect, it, inject } from 'vitest';
import { createDb, db } from '../../../src/db.js';
import { createInsertMany } from '../../../src/db/insert-many.js';
import { applyMigrations } from '../../../src/db/migrate.js';
import { SQLITE_BUSY_TIMEOUT_MS, SQLITE_PRAGMAS, sqlitePath, withPragmas } from '../../../src/db/sqlite.js';
import { app, execute } from '../../helpers/app.js';
import { seedTenant } from '../../helpers/seed.js';

const dir = mkdtempSync(path.join(tmpdir(), 'keygate-sqlite-busy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function database(name: string) {
  const file = path.join(dir, `${name}.db`);
  const client = withPragmas(() => createClient({ url: `file:${file}`, timeout: 100 }), SQLITE_PRAGMAS, { prismaAdapter: true });
  await client.execute('CREATE TABLE t (x INTEGER)');
  const other = new Database(file, { timeout: 100 });
  return { client, other };
}

const rows = async (client: ReturnType<typeof withPragmas>) => (await client.execute('SELECT x FROM t ORDER BY x')).rows.map((row) => Number(row.x));

describe('SQLite: a write lock held elsewhere past the busy timeout', () => {
  it('a transaction that could not begin: the next one commits, and keygate holds no lock afterwards', async () => {
    const { client, other } = await database('begin');
    other.exec('BEGIN EXCLUSIVE');
    await expect(client.transaction('deferred')).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
    other.exec('ROLLBACK');

    const tx = await client.transaction('deferred');
    await tx.execute('INSERT INTO t VALUES (1)');
    await tx.commit();
    // Another process writes at once: nothing of keygate's kept the lock.
    other.exec('BEGIN IMMEDIATE');
    other.exec('INSERT INTO t VALUES (2)');
    other.exec('COMMIT');
    expect(await rows(client)).toEqual([1, 2]);
    other.close();
  });

  it('a plain write that failed busy: later writes and transactions work', async () => {
    const { client, other } = await database('write');
    other.exec('BEGIN EXCLUSIVE');
    await expect(client.execute('INSERT INTO t VALUES (0)')).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
    other.exec('ROLLBACK');

    await client.execute('INSERT INTO t VALUES (1)');
    const tx = await client.transaction('deferred');
    await tx.execute('INSERT INTO t VALUES (2)');
    await tx.commit();
    other.exec('BEGIN IMMEDIATE');
    other.exec('COMMIT');
    expect(await rows(client)).toEqual([1, 2]);
    other.close();
  });
});

describe.skipIf(inject('databaseKind') === 'postgresql')('SQLite: the app while another process holds the write lock', () => {
  it('writes that waited past the busy timeout get 503 with Retry-After; once the lock is let go, writes work again', { timeout: 30_000 }, async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const other = new Database(sqlitePath(app.config.databaseUrl), { timeout: 100 });
    other.exec('BEGIN EXCLUSIVE');
    const started = Date.now();
    const [delivered, renamed] = await Promise.all([
      // The group commit's own connection (insert-many.ts), and a write through Prisma.
      execute('mutation($p: ID!) { deliverData(input: { projectId: $p, source: "busy", payload: {} }) { id } }', { p: seed.project.id }, { apiKey: key.secret }),
      execute('mutation($id: ID!) { updateOrganization(id: $id, input: { name: "Renamed while locked" }) { id } }', { id: seed.organization.id }, { token: seed.admin.token }),
    ]);
    other.exec('ROLLBACK');
    expect(Date.now() - started).toBeGreaterThanOrEqual(SQLITE_BUSY_TIMEOUT_MS - 500);
    for (const result of [delivered, renamed]) {
      expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
      expect(Number(result.headers.get('retry-after'))).toBeGreaterThan(0);
    }

    const again = await execute('mutation($id: ID!) { updateOrganization(id: $id, input: { name: "Renamed after" }) { name } }', { id: seed.organization.id }, { token: seed.admin.token });
    expect(again.errors).toBeUndefined();
    const deliveredAfter = await execute('mutation($p: ID!) { deliverData(input: { projectId: $p, source: "after", payload: {} }) { id } }', { p: seed.project.id }, { apiKey: key.secret });
    expect(deliveredAfter.errors).toBeUndefined();
    expect((await db.organization.findUniqueOrThrow({ where: { id: seed.organization.id } })).name).toBe('Renamed after');
    // keygate holds no lock: another process writes at once.
    other.exec('BEGIN IMMEDIATE');
    other.exec('COMMIT');
    other.close();
  });
});

describe('SQLite: the group commit connection after a busy failure', () => {
  it('an INSERT that failed busy leaves no write lock behind: the next one commits and others can write', { timeout: 30_000 }, async () => {
    const file = path.join(dir, 'group-commit.db');
    const setup = new Database(file);
    setup.exec('PRAGMA journal_mode = WAL');
    setup.exec('CREATE TABLE t (x INTEGER)');
    setup.close();
    const insertMany = createInsertMany(`file:${file}`, db);
    const columns = [{ name: 'x' as const }];
    await insertMany('t', columns, [{ x: 1 }]); // the connection and its statement exist

    const other = new Database(file, { timeout: 100 });
    other.exec('BEGIN IMMEDIATE');
    // Two rows: another statement than the one-row INSERT, which stays behind in progress.
    await expect(insertMany('t', columns, [{ x: 2 }, { x: 2 }])).rejects.toMatchObject({ code: expect.stringMatching(/^SQLITE_BUSY/) });
    other.exec('ROLLBACK');

    await insertMany('t', columns, [{ x: 3 }]);
    // Committed, and the write lock free for another connection.
    expect(other.prepare('SELECT x FROM t ORDER BY x').all()).toEqual([{ x: 1 }, { x: 3 }]);
    expect(() => other.exec('BEGIN IMMEDIATE')).not.toThrow();
    other.exec('COMMIT');
    other.close();
  });
});

describe('SQLite: open files', () => {
  /** Descriptors this process holds on `file` and its write-ahead log. */
  const descriptorsOn = (file: string) =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith(file);
      } catch {
        return false; // closed meanwhile
      }
    }).length;

  it('transactions through Prisma leave no connection open behind them (each one left two descriptors)', { timeout: 30_000 }, async () => {
    const file = path.join(dir, 'descriptors.db');
    await applyMigrations(`file:${file}`);
    const store = createDb(`file:${file}`);
    try {
      const tenant = await store.tenant.create({ data: { name: 'Descriptors', slug: 'descriptors' } });
      const before = descriptorsOn(file);
      for (let i = 0; i < 200; i++) {
        await store.$transaction(async (tx) => {
          await tx.tenant.findUniqueOrThrow({ where: { id: tenant.id } });
          await tx.tenant.update({ where: { id: tenant.id }, data: { name: `Descriptors ${i}` } });
        });
      }
      await expect(store.$transaction(async (tx) => tx.tenant.update({ where: { id: tenant.id }, data: { name: 'x' } }).then(() => Promise.reject(new Error('undo'))))).rejects.toThrow('undo');
      expect((await store.tenant.findUniqueOrThrow({ where: { id: tenant.id } })).name).toBe('Descriptors 199');
      expect(descriptorsOn(file)).toBeLessThanOrEqual(before + 2);
    } finally {
      await store.$disconnect();
    }
  });
});
