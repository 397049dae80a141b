/**
 * One multi-row INSERT per batch, for group commits (group-commit.ts), written the way Prisma
 * stores the values, with each row's values bound as parameters.
 *
 * Why not `createMany`: Prisma's query compiler made `createMany` of 8 rows cost 5–9 ms of CPU
 * on this project's machine, against ~1 ms for the same INSERT sent raw.
 *
 * SQLite: the INSERT runs on a connection of its own through `libsql/promise` (a
 * WorkerConnection, sqlite.ts: replaced after a busy failure), whose statements execute on a
 * worker thread: the commit's fsync (milliseconds, up to a second on a busy disk)
 * no longer stops the event loop. An autocommit INSERT holds the write lock only while it runs
 * on that thread, so it never waits for the main thread, and the Prisma client's transactions
 * begin IMMEDIATE (db.ts) so a commit here between their read and their write cannot fail
 * them with SQLITE_BUSY_SNAPSHOT. PostgreSQL: `$executeRawUnsafe` on the Prisma client, each
 * value cast to its column's type (jsonb, enum types).
 */
import type { Db } from '../db.js';
import { WorkerConnection } from './sqlite.js';

export type InsertColumn<Row> = {
  name: keyof Row & string;
  /** PostgreSQL type to cast the parameter to, e.g. `jsonb` or `"ActorKind"`. */
  pgType?: string;
  /** Stored as JSON text (a Prisma `Json` field). */
  json?: boolean;
};

export type InsertMany = <Row>(table: string, columns: readonly InsertColumn<Row>[], rows: readonly Row[]) => Promise<void>;

/** Rows of one table, for `InsertTables`. */
export type TableRows = { table: string; columns: readonly InsertColumn<any>[]; rows: readonly any[] };
/**
 * Several multi-row INSERTs in one transaction (one commit): a workflow run and its outbox
 * message are written together or not at all.
 */
export type InsertTables = (writes: readonly TableRows[]) => Promise<void>;

export function createInsertMany(databaseUrl: string, db: Db): InsertMany {
  const insertTables = createInsertTables(databaseUrl, db);
  return (table, columns, rows) => insertTables([{ table, columns, rows }]);
}

export function createInsertTables(databaseUrl: string, db: Db): InsertTables {
  return databaseUrl.startsWith('file:') ? sqliteInsertTables(databaseUrl) : postgresInsertTables(db);
}

function postgresInsertTables(db: Db): InsertTables {
  return async (writes) => {
    const statements = writes.filter((write) => write.rows.length > 0).map((write) => postgresInsert(db, write));
    if (statements.length === 1) await statements[0];
    else await db.$transaction(statements);
  };
}

function postgresInsert(db: Db, { table, columns, rows }: TableRows) {
  const values: unknown[] = [];
  const tuples = rows.map((row) => {
    const placeholders = columns.map((column) => {
      const value = row[column.name];
      values.push(column.json ? JSON.stringify(value ?? null) : value);
      return column.pgType ? `$${values.length}::${column.pgType}` : `$${values.length}`;
    });
    return `(${placeholders.join(', ')})`;
  });
  return db.$executeRawUnsafe(`INSERT INTO "${table}" (${names(columns)}) VALUES ${tuples.join(', ')}`, ...values);
}

type AsyncStatement = { iterate(params: unknown[]): Promise<Iterator<unknown>> };

function sqliteInsertTables(url: string): InsertTables {
  const statements = new Map<string, Promise<AsyncStatement>>();
  // Its prepared statements go with a retired connection.
  const connection = new WorkerConnection(url, () => statements.clear());

  // One prepared statement per table and batch size: a busy server reuses a handful.
  function statement(sql: string): Promise<AsyncStatement> {
    let prepared = statements.get(sql);
    if (!prepared) {
      prepared = connection.open().then((db) => db.prepare(sql) as Promise<AsyncStatement>);
      prepared.catch(() => statements.delete(sql));
      statements.set(sql, prepared);
    }
    return prepared;
  }

  async function insert({ table, columns, rows }: TableRows): Promise<void> {
    const tuple = `(${columns.map(() => '?').join(', ')})`;
    const sql = `INSERT INTO "${table}" (${names(columns)}) VALUES ${rows.map(() => tuple).join(', ')}`;
    const values = rows.flatMap((row) => columns.map((column) => sqliteValue(row[column.name], column.json)));
    // `iterate` steps the statement on libsql's worker thread: the INSERT and its commit
    // (autocommit, one fsync) are done when the promise resolves.
    const rowsLeft = await (await statement(sql)).iterate(values);
    while (!rowsLeft.next().done);
  }

  // Several tables in one transaction: sent as ONE script (BEGIN; INSERT…; COMMIT) that runs
  // whole on libsql's worker thread. Statement by statement, the write lock would be held
  // across event-loop turns, and the Prisma client's synchronous BEGIN IMMEDIATE on the main
  // thread would then wait for a commit that needs the main thread (a deadlock until the busy
  // timeout). A script takes no parameters: values are written as SQL literals (sqlLiteral).
  // INSERT OR ROLLBACK ends the transaction itself on a constraint violation.
  // Writes take turns on the connection: nothing may run between a failed script and its ROLLBACK.
  let turn: Promise<unknown> = Promise.resolve();
  const inTurn = (write: () => Promise<void>): Promise<void> => {
    const done = turn.then(write, write);
    turn = done.catch(() => {});
    return done;
  };

  return (writes) =>
    inTurn(() =>
      insertTogether(writes).catch((error: unknown) => {
        connection.retireIfBusy(error);
        throw error;
      }),
    );

  async function insertTogether(writes: readonly TableRows[]): Promise<void> {
    const nonEmpty = writes.filter((write) => write.rows.length > 0);
    if (nonEmpty.length === 1) return insert(nonEmpty[0]!);
    const statements = nonEmpty.map(
      ({ table, columns, rows }) =>
        `INSERT OR ROLLBACK INTO "${table}" (${names(columns)}) VALUES ${rows
          .map((row) => `(${columns.map((column) => sqlLiteral(sqliteValue(row[column.name], column.json))).join(', ')})`)
          .join(', ')};`,
    );
    const db = await connection.open();
    try {
      await db.exec(`BEGIN IMMEDIATE;\n${statements.join('\n')}\nCOMMIT;`);
    } catch (error) {
      await db.exec('ROLLBACK').catch(() => {}); // already rolled back by OR ROLLBACK, usually
      throw error;
    }
  }
}

/** A value as an SQLite literal: strings quoted with '' doubled (SQLite has no backslash escapes). */
function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'string') {
    // exec() takes a C string: a NUL would cut the script. JSON text escapes it; ids never hold one.
    if (value.includes('\0')) throw new Error('NUL character in a batched value');
    return `'${value.replace(/'/g, "''")}'`;
  }
  throw new Error(`cannot write ${typeof value} as an SQLite literal`);
}

/** As Prisma's libsql adapter writes them: ISO-8601 with +00:00, JSON as text. */
function sqliteValue(value: unknown, json = false): unknown {
  if (json) return JSON.stringify(value ?? null);
  if (value instanceof Date) return value.toISOString().replace('Z', '+00:00');
  if (value === undefined) return null;
  return value;
}

function names(columns: readonly { name: string }[]): string {
  return columns.map((column) => `"${column.name}"`).join(', ');
}
