/**
 * How keygate opens SQLite: the settings every connection gets, whoever opens it (the Prisma
 * client in db.ts, the key and session lookups, the migrator). No side effects on import.
 */
import type { Client as LibsqlClient, Transaction, TransactionMode } from '@libsql/client';
import Database from 'libsql';
import AsyncDatabase from 'libsql/promise';

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
 * the old one away) or a busy failure; so the pragmas run before the next statement on each.
 *
 * `prismaAdapter`: the client serves Prisma's adapter, which holds its lock for the whole of a
 * transaction. Its transactions run on the client's own connection (`onSharedConnection`),
 * and every one begins IMMEDIATE (takes the write lock at BEGIN,
 * waiting up to the busy timeout) whatever mode the caller asked for. Prisma's adapter asks
 * for DEFERRED, which fails outright (SQLITE_BUSY_SNAPSHOT, no waiting) when another
 * connection commits between the transaction's first read and its first write — and the
 * group commit's connection (insert-many.ts) commits all the time.
 *
 * Busy failures (another process held the write lock past the busy timeout) are contained.
 * libsql-js does not reset a statement whose step failed SQLITE_BUSY (libsql-client-ts#352,
 * libsql-js#237): it stays "in progress" on its connection, and every later COMMIT there fails
 * with "cannot commit transaction - SQL statements in progress" while its BEGIN IMMEDIATE holds
 * the write lock, for good, since nobody rolls back after a failed commit. So a busy failure
 * retires the client (`open` makes the next), and a failed commit rolls its transaction back.
 */
export function withPragmas(open: () => LibsqlClient, pragmas: readonly string[], options: { prismaAdapter?: boolean } = {}): LibsqlClient {
  let client = open();
  let fresh = true;
  const configure = async () => {
    if (!fresh) return;
    fresh = false;
    for (const pragma of pragmas) await client.execute(pragma);
  };
  /** The next statement goes to a new client; `tainted` closes once its stuck statement is finalized. */
  const retire = (tainted: LibsqlClient) => {
    if (client !== tainted) return; // retired already
    client = open();
    fresh = true;
    tainted.close();
  };
  const retireIfBusy = (error: unknown) => {
    if (isBusy(error)) retire(client);
  };
  // Only what the adapter calls to run statements; everything else passes through.
  const call =
    <K extends 'execute' | 'batch' | 'executeMultiple'>(name: K) =>
    async (...args: unknown[]) => {
      await configure();
      try {
        return await (client[name] as (...a: unknown[]) => unknown).apply(client, args);
      } catch (error) {
        retireIfBusy(error);
        throw error;
      }
    };
  const wrapped: Record<string, unknown> = {
    execute: call('execute'),
    batch: call('batch'),
    executeMultiple: call('executeMultiple'),
    transaction: async (mode?: TransactionMode) => {
      await configure();
      if (!options.prismaAdapter) return detachedTransaction(mode);
      const connection = client;
      try {
        await connection.execute('BEGIN IMMEDIATE');
      } catch (error) {
        retireIfBusy(error);
        throw error;
      }
      // A transaction whose end failed (statements still in progress) keeps the connection
      // in it, and its write lock with it: that connection is retired.
      return onSharedConnection(connection, () => retire(connection));
    },
  };
  /** @libsql/client's own transaction (the migrator's: a handful per start, scripts included). */
  async function detachedTransaction(mode?: TransactionMode): Promise<Transaction> {
    let transaction: Transaction;
    try {
      transaction = await client.transaction(mode);
    } catch (error) {
      retireIfBusy(error);
      throw error;
    }
    fresh = true;
    return rollingBackFailedCommits(transaction);
  }
  return new Proxy({} as LibsqlClient, {
    get(_target, property) {
      if (typeof property === 'string' && Object.hasOwn(wrapped, property)) return wrapped[property];
      // The client keeps its state in #private fields: its own methods must see it as `this`.
      const value: unknown = Reflect.get(client, property, client);
      return typeof value === 'function' ? value.bind(client) : value;
    },
  });
}

/** A transaction whose failed COMMIT is rolled back, so that it does not keep the write lock. */
function rollingBackFailedCommits(transaction: Transaction): Transaction {
  const commit = transaction.commit.bind(transaction);
  transaction.commit = async () => {
    try {
      await commit();
    } catch (error) {
      try {
        transaction.close(); // ROLLBACK while the connection is still in the transaction
      } catch {
        // Nothing more can be done for this connection; the commit's error is the one to report.
      }
      throw error;
    }
  };
  return transaction;
}

/**
 * A transaction on the client's own connection, begun already. Not `client.transaction()`:
 * @libsql/client hands its connection to the transaction and opens another, and nothing ever
 * closes the one handed over (libsql-client-ts#350; libsql-js#230: a connection that prepared
 * a statement keeps its file handles after close() until GC), so every transaction left two
 * file descriptors open: thousands a day, until the process could open no file. Sharing is
 * safe because Prisma's adapter holds its lock for the whole transaction: nothing else runs
 * on this client meanwhile. (The migrator keeps @libsql/client's transactions: it runs scripts
 * in them, and a handful per start leak nothing that matters.)
 * A failed COMMIT is rolled back, so that it does not keep the write lock; if the transaction
 * cannot be ended, `abandon` retires the connection.
 */
function onSharedConnection(connection: LibsqlClient, abandon: () => void): Transaction {
  let open = true;
  const inTransaction = () => {
    if (!open) throw Object.assign(new Error('The transaction is closed'), { code: 'TRANSACTION_CLOSED' });
  };
  const end = async (statement: 'COMMIT' | 'ROLLBACK') => {
    inTransaction();
    try {
      await connection.execute(statement);
      open = false;
    } catch (error) {
      if (statement === 'COMMIT') await end('ROLLBACK').catch(() => {});
      if (open) {
        open = false;
        abandon();
      }
      throw error;
    }
  };
  return {
    execute: async (statement) => {
      inTransaction();
      return connection.execute(statement);
    },
    batch: async (statements) => {
      inTransaction();
      const results = [];
      for (const statement of statements) results.push(await connection.execute(statement));
      return results;
    },
    executeMultiple: async () => {
      // The client's executeMultiple rolls back whatever transaction its script leaves open,
      // this one included; Prisma's adapter never calls it inside a transaction.
      throw new Error('executeMultiple is not available inside a transaction on the shared connection');
    },
    commit: () => end('COMMIT'),
    rollback: async () => {
      if (open) await end('ROLLBACK');
    },
    close: () => {
      if (open) void end('ROLLBACK').catch(() => {});
    },
    get closed() {
      return !open;
    },
  };
}

/**
 * A `libsql/promise` connection (its statements step on libsql's worker thread, so a commit's
 * fsync does not stop the event loop) for a writer of its own: the group commit's INSERTs, the
 * last-used flush. Opened on first use with SQLITE_PRAGMAS (the server creates the app before
 * it applies migrations), and replaced after a busy failure: libsql-js leaves a statement that
 * failed busy in progress (libsql-js#237), and SQLite commits a connection's autocommit write
 * only once none of its statements is in progress, so the next write there was answered but
 * never committed, and held the write lock, locking every writer out until restart.
 */
export class WorkerConnection {
  private connection: Promise<AsyncDatabase> | null = null;

  constructor(
    private readonly url: string,
    /** Drops what was prepared on the retired connection. */
    private readonly onRetire: () => void = () => {},
  ) {}

  open(): Promise<AsyncDatabase> {
    this.connection ??= (async () => {
      const opened = new AsyncDatabase(sqlitePath(this.url), { timeout: SQLITE_BUSY_TIMEOUT_MS });
      for (const pragma of SQLITE_PRAGMAS) await opened.exec(pragma);
      return opened;
    })().catch((error: unknown) => {
      this.connection = null;
      throw error;
    });
    return this.connection;
  }

  /** Call with a write's failure: after a busy one, the next write gets a new connection. */
  retireIfBusy(error: unknown): void {
    if (!isBusy(error)) return;
    const retired = this.connection;
    this.connection = null;
    this.onRetire();
    void retired?.then((db) => db.close()).catch(() => {});
  }
}

export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
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
