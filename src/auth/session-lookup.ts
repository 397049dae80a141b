/**
 * The cache-miss path of session verification: token digest → the session with its user,
 * the user's tenant and authorization group, in one prepared statement outside Prisma (as
 * key-lookup.ts does for keys, and for the same reason: Prisma's `findUnique` + `include`
 * was four queries and most of a session request's CPU; see bench/RESULTS.md).
 *
 * SQLite: a read-only use of its own libsql connection, the statement prepared once.
 * PostgreSQL: a small `pg` pool with a named prepared statement.
 *
 * Whoever adds a column that decides whether a session is accepted (like a user's
 * deactivation) adds it here, and calls publishSessionChange (invalidation.ts) when it changes.
 */
import type Database from 'libsql';
import pg from 'pg';
import { getConfig } from '../config.js';
import { isSqliteUrl } from '../db.js';
import { openSqlite } from '../db/sqlite.js';
import { fromJson, toDate } from './key-lookup.js';
import type { UserRole } from './principal.js';

/** What a session request needs, read in one statement. */
export type VerifiedSession = {
  id: string;
  expiresAt: Date;
  userId: string;
  email: string;
  role: UserRole;
  tenantId: string;
  tenantIsSystem: boolean;
  authorizationGroupId: string | null;
  group: { type: string; permissions: unknown } | null;
  /** deactivateUser ran: the session must not be accepted, whatever its expiry. */
  userDeactivated: boolean;
};

export type SessionLookup = {
  /** The session whose token has this SHA-256 digest, or null. Throws when the database cannot answer. */
  findByDigest(tokenDigest: string): Promise<VerifiedSession | null>;
  close(): Promise<void>;
};

type SessionRow = {
  id: string;
  expiresAt: string | number | Date;
  userId: string;
  email: string;
  role: UserRole;
  tenantId: string;
  authorizationGroupId: string | null;
  tenantIsSystem: unknown;
  groupType: string | null;
  groupPermissions: unknown;
  userDeactivatedAt: unknown;
};

/** Tenant and group as scalar subqueries, for the plan's sake (see key-lookup.ts). */
const SESSION_COLUMNS = `s."id", s."userId", u."email", u."role", u."tenantId", u."authorizationGroupId", u."deactivatedAt" AS "userDeactivatedAt",
  (SELECT t."isSystem" FROM "Tenant" t WHERE t."id" = u."tenantId") AS "tenantIsSystem",
  (SELECT g."type" FROM "AuthorizationGroup" g WHERE g."id" = u."authorizationGroupId") AS "groupType",
  (SELECT g."permissions" FROM "AuthorizationGroup" g WHERE g."id" = u."authorizationGroupId") AS "groupPermissions"`;
const FROM = `FROM "Session" s JOIN "User" u ON u."id" = s."userId"`;

const SQLITE_SESSION = `SELECT ${SESSION_COLUMNS}, s."expiresAt" ${FROM} WHERE s."tokenDigest" = ?`;
/** `timestamp without time zone` holds UTC: read it as epoch milliseconds (see key-lookup.ts). */
export const PG_SESSION_LOOKUP = `SELECT ${SESSION_COLUMNS}, (extract(epoch FROM s."expiresAt") * 1000)::float8 AS "expiresAt" ${FROM} WHERE s."tokenDigest" = $1`;

export function createSessionLookup(databaseUrl: string): SessionLookup {
  return isSqliteUrl(databaseUrl) ? sqliteLookup(databaseUrl) : postgresLookup(databaseUrl);
}

/** The process's lookup, on the configured database (like `db` in db.ts). */
export const sessionLookup: SessionLookup = createSessionLookup(getConfig().databaseUrl);

function sqliteLookup(url: string): SessionLookup {
  let statement: { connection: Database.Database; session: Database.Statement } | null = null;

  // Opened on first use: the server creates the app before it applies migrations.
  function prepared() {
    if (!statement) {
      // Short busy timeout, as for keys: libsql is synchronous (see key-lookup.ts).
      const connection = openSqlite(url, 250);
      try {
        statement = { connection, session: connection.prepare(SQLITE_SESSION) };
      } catch (error) {
        connection.close();
        throw error;
      }
    }
    return statement;
  }

  return {
    async findByDigest(tokenDigest) {
      const row = prepared().session.get(tokenDigest) as SessionRow | undefined;
      return row ? toVerifiedSession(row) : null;
    },
    async close() {
      statement?.connection.close();
      statement = null;
    },
  };
}

function postgresLookup(connectionString: string): SessionLookup {
  const pool = new pg.Pool({ connectionString, max: 4, application_name: 'keygate-session-lookup' });
  // An idle connection that dies emits here; without a handler it would crash the process.
  pool.on('error', () => {});
  return {
    async findByDigest(tokenDigest) {
      const { rows } = await pool.query<SessionRow>({ name: 'keygate_session_by_digest', text: PG_SESSION_LOOKUP, values: [tokenDigest] });
      return rows[0] ? toVerifiedSession(rows[0]) : null;
    },
    close: () => pool.end(),
  };
}

function toVerifiedSession(row: SessionRow): VerifiedSession {
  return {
    id: row.id,
    // An unreadable expiry reads as already expired (toDate), never as "valid".
    expiresAt: toDate(row.expiresAt) ?? new Date(0),
    userId: row.userId,
    email: row.email,
    role: row.role,
    tenantId: row.tenantId,
    tenantIsSystem: row.tenantIsSystem === true || row.tenantIsSystem === 1 || row.tenantIsSystem === 1n,
    authorizationGroupId: row.authorizationGroupId,
    group: row.groupType === null ? null : { type: row.groupType, permissions: fromJson(row.groupPermissions) },
    userDeactivated: row.userDeactivatedAt !== null && row.userDeactivatedAt !== undefined,
  };
}
