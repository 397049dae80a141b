/**
 * Writes a flush of key uses (last-used.ts) as one UPDATE per 500 keys instead of one
 * Prisma `updateMany` per key.
 *
 * Why: with many keys in use, the flush was the tail of the request latencies. 1,000 keys
 * used within an interval meant 1,000 statements every interval, each compiled by Prisma's
 * query engine on the event loop and, on SQLite, each its own commit: an fsync with the
 * event loop stopped (libsql is synchronous on the Prisma connection). Now a flush is a few
 * statements, and on SQLite they run on a connection of their own through `libsql/promise`
 * (statements execute on a worker thread, as the group commit's INSERT does:
 * insert-many.ts), so the commit's fsync no longer stops request handling.
 *
 * A use never replaces a later one: instances flush independently (and a failed flush is
 * retried later), so another instance may already have stored a later use of the same key.
 *
 * Values are stored the way Prisma stores them: on SQLite ISO-8601 text with +00:00, on
 * PostgreSQL UTC in `timestamp(3) without time zone` (an ISO string cast to that type: the
 * trailing Z is ignored, which leaves the UTC wall time, exactly what Prisma writes).
 */
import type { Db } from '../db.js';
import { WorkerConnection } from './sqlite.js';

export type KeyUse = { id: string; at: Date; ip: string | null };

/** Writes every use given (a key deleted meanwhile is skipped); rejects if the database cannot. */
export type WriteKeyUses = (uses: readonly KeyUse[]) => Promise<void>;

/** Keys per statement: 1,500 bound parameters, far below SQLite's and PostgreSQL's limits. */
const CHUNK = 500;

/** One writer (one SQLite connection) per database, however many apps a process creates. */
const writers = new Map<string, WriteKeyUses>();

export function createKeyUseWriter(databaseUrl: string, db: Db): WriteKeyUses {
  let write = writers.get(databaseUrl);
  if (!write) {
    write = databaseUrl.startsWith('file:') ? sqliteWriter(databaseUrl) : postgresWriter(db);
    writers.set(databaseUrl, write);
  }
  const writeChunk = write;
  return async (uses) => {
    for (let i = 0; i < uses.length; i += CHUNK) await writeChunk(uses.slice(i, i + CHUNK));
  };
}

function postgresWriter(db: Db): WriteKeyUses {
  return async (uses) => {
    const values: unknown[] = [];
    const tuples = uses.map((use) => {
      values.push(use.id, use.at.toISOString(), use.ip);
      const n = values.length;
      return `($${n - 2}::text, $${n - 1}::timestamp(3), $${n}::text)`;
    });
    await db.$executeRawUnsafe(
      `UPDATE "ApiKey" AS k SET "lastUsedAt" = v.at, "lastUsedIp" = v.ip FROM (VALUES ${tuples.join(', ')}) AS v(id, at, ip) WHERE k."id" = v.id AND (k."lastUsedAt" IS NULL OR k."lastUsedAt" < v.at)`,
      ...values,
    );
  };
}

function sqliteWriter(url: string): WriteKeyUses {
  const connection = new WorkerConnection(url);

  return async (uses) => {
    // VALUES columns are column1..3 in SQLite; UPDATE … FROM needs SQLite 3.33 (libsql has it).
    const sql = `UPDATE "ApiKey" SET "lastUsedAt" = v.column2, "lastUsedIp" = v.column3 FROM (VALUES ${uses.map(() => '(?, ?, ?)').join(', ')}) AS v WHERE "ApiKey"."id" = v.column1 AND ("ApiKey"."lastUsedAt" IS NULL OR "ApiKey"."lastUsedAt" < v.column2)`;
    const values = uses.flatMap((use) => [use.id, use.at.toISOString().replace('Z', '+00:00'), use.ip]);
    try {
      const statement = (await (await connection.open()).prepare(sql)) as unknown as { iterate(params: unknown[]): Promise<Iterator<unknown>> };
      // `iterate` steps the statement on libsql's worker thread (`run` would step it here, on
      // the event loop): the UPDATE and its commit are done when the promise resolves.
      const rowsLeft = await statement.iterate(values);
      while (!rowsLeft.next().done);
    } catch (error) {
      connection.retireIfBusy(error);
      throw error;
    }
  };
}
