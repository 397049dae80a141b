/**
 * Telling "the database is unreachable" apart from a bug. The first is the client's
 * business (503 SERVICE_UNAVAILABLE with Retry-After: try again shortly, or another
 * instance); the second stays a masked "Unexpected error." (500). Without this, a
 * resolver's query against a database that is restarting would look like a server bug.
 *
 * Recognized: Prisma's connection error codes, the driver adapters' connection error kinds
 * (pg and libsql), PostgreSQL's connection-exception and shutdown SQLSTATEs, SQLite's
 * SQLITE_BUSY, and Node's socket errors, anywhere along the error's cause chain.
 */

/**
 * P1001 unreachable, P1002 timeout, P1003 database does not exist (dropped under a running
 * server), P1008 operation timeout, P1017 connection closed, P2021 table does not exist (a
 * database recreated empty, not migrated: /ready says so too), P2024 pool timeout, P2037 too
 * many connections.
 */
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1003', 'P1008', 'P1017', 'P2021', 'P2024', 'P2037']);
const ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'DatabaseDoesNotExist', 'TableDoesNotExist', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
/** libsql's message for a SQLite file it cannot open (gone, or its permissions taken away): no code comes with it. */
const SQLITE_CANNOT_OPEN = /Unable to open connection to local database/;
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/**
 * Class 08 (connection exception), 57P01–57P03 (shutdown, cannot connect now), 53300 (too many
 * connections), 3D000 (no such database), 42P01 (no such table); and 55000 below.
 */
const SQLSTATE = /^(08\w{3}|57P0[123]|53300|3D000|42P01)$/;

export function isDatabaseUnavailable(error: unknown): boolean {
  return somewhereInCauseChain(error, describesUnavailability);
}

/**
 * Whether `describes` holds for the error or for one it wraps: Prisma keeps the driver
 * adapter's error in `meta.driverAdapterError`, other errors theirs in `cause`.
 */
function somewhereInCauseChain(error: unknown, describes: (error: Record<string, unknown>) => boolean): boolean {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    if (describes(current as Record<string, unknown>)) return true;
    const meta = (current as { meta?: { driverAdapterError?: unknown } }).meta;
    current = meta?.driverAdapterError ?? (current as { cause?: unknown }).cause;
  }
  return false;
}

function describesUnavailability(error: Record<string, unknown>): boolean {
  if (error.name === 'PrismaClientInitializationError') return true;
  const code = typeof error.code === 'string' ? error.code : undefined;
  if (code && (PRISMA_CODES.has(code) || SOCKET_CODES.has(code) || SQLSTATE.test(code))) return true;
  // SQLite's write lock held by another process past the busy timeout, met by a raw libsql
  // write (the group commit, insert-many.ts); through Prisma the same is kind SocketTimeout.
  if (code?.startsWith('SQLITE_BUSY') || code?.startsWith('SQLITE_CANTOPEN')) return true;
  if (SQLITE_CANNOT_OPEN.test(String(error.message ?? ''))) return true;
  // 55000 is "object not in prerequisite state" in general; at connect, a database closed to new connections.
  if ((code ?? error.originalCode) === '55000' && /not currently accepting connections/i.test(String(error.message ?? error.originalMessage ?? ''))) return true;
  if (typeof error.kind === 'string' && ADAPTER_KINDS.has(error.kind)) return true;
  return typeof error.originalCode === 'string' && SQLSTATE.test(error.originalCode);
}

/** P2003, the adapters' kind, PostgreSQL's 23503, SQLite's SQLITE_CONSTRAINT_FOREIGNKEY (787). */
const FOREIGN_KEY = { prismaCode: 'P2003', kind: 'ForeignKeyConstraintViolation', sqlstate: '23503', sqliteCode: 'SQLITE_CONSTRAINT_FOREIGNKEY' } as const;

/**
 * A write that referred to a row deleted meanwhile (a project created in a workspace deleted
 * by another request at once): the database refused it, and nothing was written. The checks
 * before the write had found the row, so only a race gets here.
 */
export function isMissingReference(error: unknown): boolean {
  return somewhereInCauseChain(
    error,
    ({ code, kind, originalCode }) =>
      code === FOREIGN_KEY.prismaCode || code === FOREIGN_KEY.sqlstate || code === FOREIGN_KEY.sqliteCode || kind === FOREIGN_KEY.kind || originalCode === FOREIGN_KEY.sqlstate,
  );
}
