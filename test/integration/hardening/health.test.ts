/**
 * `/health` (alive) and `/ready` (src/security/readiness.ts: the database answers and every
 * migration this release ships is applied there).
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSchema, createYoga } from 'graphql-yoga';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createDb, db } from '../../../src/db.js';
import { applyMigrations } from '../../../src/db/migrate.js';
import { useReadiness } from '../../../src/security/readiness.js';
import { app } from '../../helpers/app.js';
import { raw } from './support.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const provider = inject('databaseKind');
const shippedMigrations = path.join(repoRoot, 'prisma/migrations', provider);

const dirs: string[] = [];
const unreachable = createDb('postgresql://keygate@127.0.0.1:1/nowhere');
afterAll(async () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  await unreachable.$disconnect();
});

/** A Yoga with only the readiness plugin, so the database and migrations can be chosen. */
function readinessOf(options: Parameters<typeof useReadiness>[0]) {
  return createYoga({ schema: createSchema({ typeDefs: 'type Query { ok: Boolean }' }), plugins: [useReadiness(options)], logging: false });
}

async function ready(target: { fetch: (url: string) => Promise<Response> | Response }) {
  const response = await target.fetch('http://keygate.test/ready');
  return { status: response.status, body: (await response.json()) as unknown, cacheControl: response.headers.get('cache-control') };
}

describe('health and readiness', () => {
  it('/health answers 200 while the process runs', async () => {
    const response = await raw(app, { method: 'GET', path: '/health', body: null });
    expect(response.status).toBe(200);
  });

  it('/ready answers 200 when the database answers and every shipped migration is applied', async () => {
    expect(readdirSync(shippedMigrations).length).toBeGreaterThan(0);
    const response = await raw(app, { method: 'GET', path: '/ready', body: null });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ready: true, checks: { database: true, migrations: true } });
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('/ready answers 503 with migrations: false while a migration of this release is not applied', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'keygate-ready-'));
    dirs.push(dir);
    cpSync(shippedMigrations, dir, { recursive: true });
    mkdirSync(path.join(dir, '29991231000000_not_yet_applied'));
    writeFileSync(path.join(dir, '29991231000000_not_yet_applied', 'migration.sql'), 'SELECT 1;');

    const result = await ready(readinessOf({ db, databaseUrl: process.env.DATABASE_URL!, migrationsDir: dir }));
    expect(result).toMatchObject({ status: 503, body: { ready: false, checks: { database: true, migrations: false } } });
  });

  it('/ready answers 503 with migrations: false when a migration is recorded but unfinished', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'keygate-ready-'));
    dirs.push(dir);
    const url = `file:${path.join(dir, 'half-migrated.db')}`;
    await applyMigrations(url);
    const store = createDb(url);
    try {
      // What a migration that failed midway leaves behind: its row, without finished_at.
      await store.$executeRawUnsafe('UPDATE "_prisma_migrations" SET finished_at = NULL');
      const result = await ready(readinessOf({ db: store, databaseUrl: url }));
      expect(result).toMatchObject({ status: 503, body: { ready: false, checks: { database: true, migrations: false } } });
    } finally {
      await store.$disconnect();
    }
  });

  it('/ready answers 503 with database: false when the database does not answer', async () => {
    const result = await ready(readinessOf({ db: unreachable, databaseUrl: 'postgresql://keygate@127.0.0.1:1/nowhere' }));
    expect(result).toMatchObject({ status: 503, body: { ready: false, checks: { database: false, migrations: false } } });
  });

  it('/ready answers 503 with database: false for a SQLite file gone from under the server, though its open connection still answers', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'keygate-ready-'));
    dirs.push(dir);
    const file = path.join(dir, 'moved.db');
    await applyMigrations(`file:${file}`);
    const store = createDb(`file:${file}`);
    try {
      const readiness = readinessOf({ db: store, databaseUrl: `file:${file}` });
      expect((await ready(readiness)).status).toBe(200);
      renameSync(file, `${file}.elsewhere`);
      expect(await store.$queryRawUnsafe('SELECT 1 AS one')).toHaveLength(1);
      expect(await ready(readiness)).toMatchObject({ status: 503, body: { ready: false, checks: { database: false, migrations: false } } });
    } finally {
      await store.$disconnect();
    }
  });

  it('/ready on a database never migrated says so', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'keygate-ready-'));
    dirs.push(dir);
    const emptyUrl = `file:${path.join(dir, 'empty.db')}`;
    const empty = createDb(emptyUrl);
    try {
      await empty.$queryRawUnsafe('SELECT 1'); // the file exists from the first connection on
      const result = await ready(readinessOf({ db: empty, databaseUrl: emptyUrl }));
      expect(result).toMatchObject({ status: 503, body: { ready: false, checks: { database: true, migrations: false } } });
    } finally {
      await empty.$disconnect();
    }
  });
});
