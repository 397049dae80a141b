/**
 * Turns the errors of a first contact with the database into one line saying what to do
 * (StartupError). Only failures an operator can act on are named; anything else is left as
 * it is and reported as unexpected.
 */
import { StartupError } from '../lib/startup-error.js';

type ErrorWithCode = Error & { code?: string; errors?: unknown[] };

/** The parts of a PostgreSQL URL worth naming in a message (never the password). */
export function pgTarget(url: string): { host: string; port: string; database: string; user: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // pg parses some URLs WHATWG refuses; the advice must not fail for that.
    return { host: 'the configured host', port: '5432', database: 'the configured database', user: 'the configured user' };
  }
  return {
    host: parsed.hostname || 'localhost',
    port: parsed.port || '5432',
    database: decodeURIComponent(parsed.pathname.slice(1)) || decodeURIComponent(parsed.username) || 'postgres',
    user: decodeURIComponent(parsed.username) || process.env.USER || 'postgres',
  };
}

/** pg reports socket failures by Node error code, server refusals by SQLSTATE; both land in `code`. */
function codeOf(error: unknown): string | undefined {
  const { code, errors } = (error ?? {}) as ErrorWithCode;
  if (code) return code;
  // Node's happy-eyeballs connect (several addresses for one host) wraps them in an AggregateError.
  const inner = errors?.find((e) => (e as ErrorWithCode)?.code);
  return (inner as ErrorWithCode | undefined)?.code;
}

/** The one-line advice for a failed PostgreSQL connection, or null when it is not one we can explain. */
export function describePgConnectionError(error: unknown, url: string): string | null {
  const { host, port, database, user } = pgTarget(url);
  const where = `PostgreSQL at ${host}:${port}`;
  switch (codeOf(error)) {
    case 'ECONNREFUSED':
      return `cannot connect to ${where} (connection refused): start PostgreSQL, or fix the host and port in DATABASE_URL`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve the PostgreSQL host "${host}": fix the host in DATABASE_URL`;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `cannot reach ${where} (${codeOf(error)}): check the host in DATABASE_URL and the network or firewall in between`;
    case '28P01':
      return `${where} rejected the password of role "${user}": fix the user name or password in DATABASE_URL`;
    case '28000':
      return `${where} refused role "${user}" (${(error as Error).message}): fix the user in DATABASE_URL, or allow it in pg_hba.conf`;
    case '3D000':
      return `database "${database}" does not exist on ${where}: create it with \`createdb ${database}\` (or CREATE DATABASE), then start again`;
    case '53300':
      return `${where} has no connection slot left: raise max_connections or lower the connection pool sizes`;
    case '57P03':
      return `${where} is starting up or shutting down: start again once it accepts connections`;
    default:
      return null;
  }
}

export function pgConnectionFailure(error: unknown, url: string): unknown {
  const advice = describePgConnectionError(error, url);
  return advice ? new StartupError(advice, { cause: error }) : error;
}

/** Why an SQLite file cannot be opened for writing, as a StartupError naming the file. */
export function sqliteOpenFailure(error: unknown, file: string): unknown {
  const { code = '', message = '' } = (error ?? {}) as ErrorWithCode;
  if (/SQLITE_NOTADB|not a database/i.test(`${code} ${message}`)) {
    return new StartupError(`${file} is not an SQLite database: point DATABASE_URL at keygate's database file (or a path where it may create one)`, { cause: error });
  }
  const reason =
    {
      ENOENT: 'a directory on its path does not exist and cannot be created',
      ENOTDIR: 'a part of its path is a file, not a directory',
      EACCES: 'permission denied',
      EPERM: 'operation not permitted',
      EROFS: 'the file system is read-only',
    }[code] ??
    (/SQLITE_CANTOPEN|unable to open/i.test(`${code} ${message}`)
      ? 'it cannot be opened'
      : /SQLITE_READONLY|readonly|read-only/i.test(`${code} ${message}`)
        ? 'it is read-only'
        : null);
  if (!reason) return error;
  return new StartupError(
    `cannot write the SQLite database ${file} (${reason}): make its directory writable for this user, or point DATABASE_URL to another file`,
    { cause: error },
  );
}
