/**
 * The cache-miss path of API-key verification: secret digest → the key's verified record,
 * in one prepared statement (plus one for the project list of SELECTED keys), outside Prisma.
 *
 * Why not Prisma here: profiling `npm run bench` with the cache off showed most of a
 * request's CPU in `findUnique` + `include`, which on SQLite is four queries (key, tenant,
 * group, projects), each interpreted by Prisma's query compiler and prepared afresh by
 * libsql: ≈1.5 ms per verification, against ≈0.04 ms for one prepared statement. This is
 * the only per-request read of a key; everything else (writes, listings) stays on Prisma.
 *
 * SQLite: a second libsql connection to the same file that only ever SELECTs, statements
 * prepared once. It sees only committed rows, which is what verification must see. PostgreSQL: a small `pg` pool
 * with named prepared statements (parsed and planned once per connection).
 */
import type Database from 'libsql';
import pg from 'pg';
import { getConfig } from '../config.js';
import { isSqliteUrl } from '../db.js';
import { openSqlite } from '../db/sqlite.js';
import { parseAddressRange } from '../lib/ip.js';
import type { VerifiedKey } from './key-cache.js';
import { toPermissions } from './permissions.js';
import type { GroupControls, OperationPolicy, TrustedDocumentEntry } from './principal.js';

export type KeyLookup = {
  /** The key whose secret has this SHA-256 digest, or null. Throws when the database cannot answer. */
  findByDigest(secretDigest: string): Promise<VerifiedKey | null>;
  close(): Promise<void>;
};

type KeyRow = {
  id: string;
  name: string;
  prefix: string;
  role: 'API_USER' | 'ADMIN';
  status: 'ACTIVE' | 'REVOKED';
  expiresAt: string | number | Date | null;
  tenantId: string;
  organizationId: string | null;
  authorizationGroupId: string;
  projectAccess: 'ALL' | 'SELECTED';
  ipAllowlist: unknown;
  tenantIsSystem: unknown;
  permissions: unknown;
  previousSecretDigest: string | null;
  previousSecretExpiresAt: string | number | Date | null;
  operationPolicy: OperationPolicy | null;
  costBudgetPoints: number | bigint | null;
  costBudgetWindowSeconds: number | bigint | null;
  groupUpdatedAt: string | number | Date | null;
};

type DocumentRow = { documentId: string; manifestId: string | null; operationName: string | null; document: string };

/**
 * Tenant and group come from scalar subqueries rather than joins, so the plan stays "the key
 * by its unique digest, then its one tenant and its one group" whatever the table sizes (a
 * join let PostgreSQL pick hash joins that read the whole Tenant and AuthorizationGroup tables).
 */
const KEY_COLUMNS = `k."id", k."name", k."prefix", k."role", k."status", k."tenantId", k."organizationId",
  k."authorizationGroupId", k."projectAccess", k."ipAllowlist", k."previousSecretDigest",
  (SELECT t."isSystem" FROM "Tenant" t WHERE t."id" = k."tenantId") AS "tenantIsSystem",
  (SELECT g."permissions" FROM "AuthorizationGroup" g WHERE g."id" = k."authorizationGroupId") AS "permissions",
  (SELECT g."operationPolicy" FROM "AuthorizationGroup" g WHERE g."id" = k."authorizationGroupId") AS "operationPolicy",
  (SELECT g."costBudgetPoints" FROM "AuthorizationGroup" g WHERE g."id" = k."authorizationGroupId") AS "costBudgetPoints",
  (SELECT g."costBudgetWindowSeconds" FROM "AuthorizationGroup" g WHERE g."id" = k."authorizationGroupId") AS "costBudgetWindowSeconds",
  (SELECT g."updatedAt" FROM "AuthorizationGroup" g WHERE g."id" = k."authorizationGroupId") AS "groupUpdatedAt"`;

/**
 * A digest matches the key's current secret or, during a rotation grace, its previous one
 * (both columns are unique, so this is at most one row, found through either index).
 * SQLite keeps DateTime as ISO-8601 text (or epoch ms from older writers): both parse.
 */
const SQLITE_KEY = `SELECT ${KEY_COLUMNS}, k."expiresAt", k."previousSecretExpiresAt" FROM "ApiKey" k WHERE k."secretDigest" = ?1 OR k."previousSecretDigest" = ?1`;
const SQLITE_PROJECTS = `SELECT "projectId" FROM "ApiKeyProject" WHERE "apiKeyId" = ?`;
/** Only for AUDIT and TRUSTED_ONLY groups: the documents their keys' requests are matched against. */
const DOCUMENT_COLUMNS = `"documentId", "manifestId", "operationName", "document" FROM "TrustedDocument" WHERE "authorizationGroupId"`;
const SQLITE_DOCUMENTS = `SELECT ${DOCUMENT_COLUMNS} = ?`;
const PG_DOCUMENTS = `SELECT ${DOCUMENT_COLUMNS} = $1`;
/**
 * Prisma stores UTC in `timestamp without time zone`; pg would read that as local time, so
 * the instant travels as epoch milliseconds instead.
 */
export const PG_KEY_LOOKUP = `SELECT ${KEY_COLUMNS}, (extract(epoch FROM k."expiresAt") * 1000)::float8 AS "expiresAt",
  (extract(epoch FROM k."previousSecretExpiresAt") * 1000)::float8 AS "previousSecretExpiresAt"
  FROM "ApiKey" k WHERE k."secretDigest" = $1 OR k."previousSecretDigest" = $1`;
const PG_PROJECTS = `SELECT "projectId" FROM "ApiKeyProject" WHERE "apiKeyId" = $1`;

export function createKeyLookup(databaseUrl: string): KeyLookup {
  return isSqliteUrl(databaseUrl) ? sqliteLookup(databaseUrl) : postgresLookup(databaseUrl);
}

/** The process's lookup, on the configured database (like `db` in db.ts). */
export const keyLookup: KeyLookup = createKeyLookup(getConfig().databaseUrl);

function sqliteLookup(url: string): KeyLookup {
  let statements: { key: Database.Statement; projects: Database.Statement; documents: Database.Statement; connection: Database.Database } | null = null;

  // Opened on first use: the server creates the app before it applies migrations.
  function prepared() {
    if (!statements) {
      // A short busy timeout rides out another process's commit; a longer one would stall
      // the event loop (libsql is synchronous), so past it the request fails closed (503).
      const connection = openSqlite(url, 250);
      try {
        statements = {
          connection,
          key: connection.prepare(SQLITE_KEY),
          projects: connection.prepare(SQLITE_PROJECTS),
          documents: connection.prepare(SQLITE_DOCUMENTS),
        };
      } catch (error) {
        connection.close();
        throw error;
      }
    }
    return statements;
  }

  return {
    async findByDigest(secretDigest) {
      const { key, projects, documents } = prepared();
      const row = key.get(secretDigest) as KeyRow | undefined;
      if (!row) return null;
      const projectIds = row.projectAccess === 'SELECTED' ? (projects.all(row.id) as { projectId: string }[]).map((p) => p.projectId) : [];
      const trusted = needsDocuments(row) ? (documents.all(row.authorizationGroupId) as DocumentRow[]) : [];
      return toVerifiedKey(row, projectIds, secretDigest, trusted);
    },
    async close() {
      statements?.connection.close();
      statements = null;
    },
  };
}

function postgresLookup(connectionString: string): KeyLookup {
  const pool = new pg.Pool({ connectionString, max: 4, application_name: 'keygate-key-lookup' });
  // An idle connection that dies emits here; without a handler it would crash the process.
  // The next lookup gets a fresh connection (or fails closed with 503).
  pool.on('error', () => {});

  return {
    async findByDigest(secretDigest) {
      const { rows } = await pool.query<KeyRow>({ name: 'keygate_key_by_digest', text: PG_KEY_LOOKUP, values: [secretDigest] });
      const row = rows[0];
      if (!row) return null;
      const projectIds =
        row.projectAccess === 'SELECTED'
          ? (await pool.query<{ projectId: string }>({ name: 'keygate_key_projects', text: PG_PROJECTS, values: [row.id] })).rows.map((p) => p.projectId)
          : [];
      const trusted = needsDocuments(row)
        ? (await pool.query<DocumentRow>({ name: 'keygate_trusted_documents', text: PG_DOCUMENTS, values: [row.authorizationGroupId] })).rows
        : [];
      return toVerifiedKey(row, projectIds, secretDigest, trusted);
    },
    close: () => pool.end(),
  };
}

function needsDocuments(row: KeyRow): boolean {
  return row.operationPolicy === 'AUDIT' || row.operationPolicy === 'TRUSTED_ONLY';
}

/** Null for the common group (ANY, no budget), so the request path skips the controls with one check. */
function toControls(row: KeyRow, documents: DocumentRow[]): GroupControls | null {
  const policy = row.operationPolicy ?? 'ANY';
  const points = row.costBudgetPoints === null ? null : Number(row.costBudgetPoints);
  const windowSeconds = row.costBudgetWindowSeconds === null ? null : Number(row.costBudgetWindowSeconds);
  // The group's last edit names the budget's windows: a budget edited (even back to an earlier value) starts fresh ones.
  const costBudget = points && windowSeconds ? { points, windowSeconds, edition: String(toDate(row.groupUpdatedAt)?.getTime() ?? '') } : null;
  if (policy === 'ANY' && !costBudget) return null;
  const trustedDocuments = new Map<string, TrustedDocumentEntry>();
  for (const { documentId, manifestId, operationName, document } of documents) {
    const entry = { documentId, operationName, document };
    trustedDocuments.set(documentId, entry);
    if (manifestId) trustedDocuments.set(manifestId, entry);
  }
  return { groupId: row.authorizationGroupId, operationPolicy: policy, trustedDocuments, costBudget };
}

function toVerifiedKey(row: KeyRow, projectIds: string[], secretDigest: string, documents: DocumentRow[] = []): VerifiedKey {
  const matchedPreviousSecret = row.previousSecretDigest === secretDigest;
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    role: row.role,
    status: row.status,
    expiresAt: toDate(row.expiresAt),
    tenantId: row.tenantId,
    tenantIsSystem: row.tenantIsSystem === true || row.tenantIsSystem === 1 || row.tenantIsSystem === 1n,
    organizationId: row.organizationId,
    authorizationGroupId: row.authorizationGroupId,
    permissions: new Set(toPermissions(fromJson(row.permissions))),
    projectAccess: row.projectAccess,
    projectIds: new Set(projectIds),
    ipAllowlist: (toStringArray(fromJson(row.ipAllowlist))).map(parseAddressRange),
    matchedPreviousSecret,
    // Only the previous secret's entry needs it; an unreadable one reads as "already over".
    previousSecretExpiresAt: matchedPreviousSecret ? (toDate(row.previousSecretExpiresAt) ?? new Date(0)) : null,
    controls: toControls(row, documents),
  };
}

/** SQLite returns JSON columns as text; pg has parsed jsonb already. */
export function fromJson(value: unknown): unknown {
  return typeof value === 'string' ? JSON.parse(value) : value;
}

function toStringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === 'string') : [];
}

export function toDate(value: string | number | Date | null | undefined): Date | null {
  if (value === null || value === undefined) return null;
  const date = value instanceof Date ? value : new Date(typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value);
  // An unreadable expiry must not read as "never expires": treat it as already expired.
  return Number.isNaN(date.getTime()) ? new Date(0) : date;
}
