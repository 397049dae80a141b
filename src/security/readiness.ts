/**
 * `/ready`: may this instance take traffic? Yes when the database answers and every
 * migration this release ships is applied and finished there. A load balancer takes the
 * instance out otherwise: during an outage, or while a rolling deploy is still migrating.
 * `/health` (Yoga's) only says the process is alive.
 *
 * The answer names which check failed, never why in detail: it is unauthenticated.
 */
import { constants, existsSync, readdirSync } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'graphql-yoga';
import type { Db } from '../db.js';
import { sqlitePath } from '../db/sqlite.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type ReadinessOptions = {
  db: Pick<Db, '$queryRawUnsafe'>;
  databaseUrl: string;
  /** Defaults to prisma/migrations/<provider>; tests point it elsewhere. */
  migrationsDir?: string;
};

export function useReadiness(options: ReadinessOptions): Plugin {
  const provider = options.databaseUrl.startsWith('file:') ? 'sqlite' : 'postgresql';
  const expected = migrationNames(options.migrationsDir ?? path.join(repoRoot, 'prisma/migrations', provider));
  const sqliteFile = provider === 'sqlite' ? path.resolve(sqlitePath(options.databaseUrl)) : null;
  return {
    // Not async: every request passes through here, and an async hook would cost each one a
    // promise and a microtask turn for nothing.
    onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname !== '/ready') return;
      return check(options.db, expected, sqliteFile).then((checks) => {
        const ready = checks.database && checks.migrations;
        endResponse(
          new fetchAPI.Response(JSON.stringify({ ready, checks }), {
            status: ready ? 200 : 503,
            headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
          }),
        );
      });
    },
  };
}

async function check(db: ReadinessOptions['db'], expected: readonly string[], sqliteFile: string | null) {
  // The connection Prisma holds keeps answering for a SQLite file that was removed, or whose
  // permissions were taken away, after it was opened; the key lookups' own connections
  // (auth/key-lookup.ts) and every restart would fail on it.
  if (sqliteFile && !(await access(sqliteFile, constants.R_OK | constants.W_OK).then(() => true, () => false))) {
    return { database: false, migrations: false };
  }
  let finished: Set<string>;
  try {
    const rows = await db.$queryRawUnsafe<{ migration_name: string }[]>(
      `SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
    );
    finished = new Set(rows.map((row) => row.migration_name));
  } catch {
    // Either the database is unreachable or it was never migrated; tell them apart.
    const reachable = await db.$queryRawUnsafe('SELECT 1').then(
      () => true,
      () => false,
    );
    return { database: reachable, migrations: false };
  }
  return { database: true, migrations: expected.every((name) => finished.has(name)) };
}

function migrationNames(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name);
}
