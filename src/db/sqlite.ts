/**
 * How keygate opens SQLite: the settings every connection gets, whoever opens it (the Prisma
 * client in db.ts, the key and session lookups, the migrator). No side effects on import.
 */
import type { Client as LibsqlClient, TransactionMode } from '@libsql/client';
import Database from 'libsql';

/**
 * What every SQLite connection runs before its first statement.
 *
 * - `journal_mode = WAL`: a commit appends to the write-ahead log and fsyncs it once, instead
 *   of the rollback journal's several fsyncs (measured on this project's disk: 4.2 ms against
 *   13.6 ms per commit), and readers never wait for a writer. The mode is stored in the file;
 *   setting it again is a no-op.
 * - `synchronous = FULL`: the log is fsynced at every commit, so a write that was answered
 *   survives a crash or power loss. (NORMAL would be ~100× cheaper and loses the last commits
 *   on power loss: an acknowledged workflow run, or a revoke, could come back.) FULL is also
 *   SQLite's compiled default, but builds differ, so it is set rather than assumed.
 *
 * The busy timeout is the connection's `timeout` option rather than a pragma, so that libsql
 * applies it to every connection it opens.
 */
export const SQLITE_PRAGMAS = ['PRAGMA journal_mode = WAL', 'PRAGMA synchronous = FULL'] as const;

/**
 * How long a writing connection waits for another's write lock before failing with
 * SQLITE_BUSY: another process's (a CLI run, a migration), or within this process the group
 * commit's (insert-many.ts, milliseconds: one fsync). The Prisma client's libsql is
 * synchronous, so its wait blocks the event loop: worth it, where failing an acknowledged
 * request would be worse.
 */
export const SQLITE_BUSY_TIMEOUT_MS = 5_000;

/**
 * A libsql client whose every connection runs `pragmas` first. The client opens connections
 * itself: one at creation, and a new one after each `transaction()` (the transaction takes
 * the old one away); so the pragmas run before the next statement on each fresh one.
 *
 * `immediateTransactions`: every transaction begins IMMEDIATE (takes the write lock at BEGIN,
 * waiting up to the busy timeout) whatever mode the caller asked for. Prisma's adapter asks
 * for DEFERRED, which fails outright (SQLITE_BUSY_SNAPSHOT, no waiting) when another
 * connection commits between the transaction's first read and its first write — and the
 * group commit's connection (insert-many.ts) commits all the time.
 */
export function withPragmas(client: LibsqlClient, pragmas: readonly string[], options: { immediateTransactions?: boolean } = {}): LibsqlClient {
  let fresh = true;
  const configure = async () => {
    if (!fresh) return;
    fresh = false;
    for (const pragma of pragmas) await client.execute(pragma);
  };
  // Only what the adapter calls to run statements; everything else passes through.
  const call =
    <K extends 'execute' | 'batch' | 'executeMultiple'>(name: K) =>
    async (...args: unknown[]) => {
      await configure();
      return (client[name] as (...a: unknown[]) => unknown).apply(client, args);
    };
  const wrapped: Record<string, unknown> = {
    execute: call('execute'),
    batch: call('batch'),
    executeMultiple: call('executeMultiple'),
    transaction: async (mode?: TransactionMode) => {
      await configure();
      const transaction = await client.transaction(options.immediateTransactions ? 'write' : mode);
      fresh = true;
      return transaction;
    },
  };
  return new Proxy(client, {
    get(target, property) {
      if (typeof property === 'string' && Object.hasOwn(wrapped, property)) return wrapped[property];
      // The client keeps its state in #private fields: its own methods must see it as `this`.
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * A synchronous connection (libsql's better-sqlite3 API) with SQLITE_PRAGMAS applied, for
 * the prepared-statement lookups. `busyTimeoutMs` is the caller's: see key-lookup.ts.
 */
export function openSqlite(url: string, busyTimeoutMs: number): Database.Database {
  const connection = new Database(sqlitePath(url), { timeout: busyTimeoutMs });
  try {
    for (const pragma of SQLITE_PRAGMAS) connection.exec(pragma);
  } catch (error) {
    connection.close();
    throw error;
  }
  return connection;
}

/** `file:./data/keygate.db` or `file:/abs/path.db?mode=…` → the path libsql opens. */
export function sqlitePath(url: string): string {
  return url.slice('file:'.length).replace(/\?.*$/, '');
}
