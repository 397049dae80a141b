/**
 * An assignment racing a deletion (a key given a group, an organization or a project while it
 * is deleted): without a lock, the deletion may count what uses the row before the new key is
 * committed and go ahead, leaving an active key in a deleted group, or the key's insert may
 * meet a foreign key that is gone (an unexpected error instead of a clear one).
 *
 * On PostgreSQL the deletion locks its row `FOR UPDATE` before counting; an assignment reads
 * the row it points at `FOR SHARE` inside its transaction, before writing. Whichever comes
 * second waits for the other's commit and then sees it: the deletion counts the new key and is
 * refused, or the assignment finds the row gone. On SQLite every transaction begins IMMEDIATE
 * (db/sqlite.ts), holding the database's write lock, so reading inside it is enough.
 */
import { getConfig } from '../config.js';
import { isSqliteUrl, type Tx } from '../db.js';

type AssignableTable = 'AuthorizationGroup' | 'Organization' | 'Project';

/** The assignable rows that can be soft-deleted: such a row is gone for an assignment too. */
const SOFT_DELETED: ReadonlySet<AssignableTable> = new Set(['AuthorizationGroup']);

/** Locks the row for this transaction before what uses it is counted (PostgreSQL; a no-op on SQLite). */
export async function lockForDeletion(tx: Tx, table: AssignableTable, id: string): Promise<void> {
  if (onSqlite()) return;
  await tx.$queryRawUnsafe(`SELECT 1 FROM "${table}" WHERE "id" = $1 FOR UPDATE`, id);
}

/** Whether the row is still there (and not soft-deleted), read inside the transaction and, on PostgreSQL, locked until it ends. */
export async function stillAssignable(tx: Tx, table: AssignableTable, id: string): Promise<boolean> {
  const live = SOFT_DELETED.has(table) ? ' AND "deletedAt" IS NULL' : '';
  const rows = onSqlite()
    ? await tx.$queryRawUnsafe<unknown[]>(`SELECT 1 FROM "${table}" WHERE "id" = ?${live}`, id)
    : await tx.$queryRawUnsafe<unknown[]>(`SELECT 1 FROM "${table}" WHERE "id" = $1${live} FOR SHARE`, id);
  return rows.length > 0;
}

/**
 * Whether the user still signs in with the password hash a sign-in verified (not changed, not
 * deactivated since), read like `stillAssignable`: a changePassword or a deactivation that
 * commits meanwhile ends every session, and the sign-in's must not be made after that. On
 * PostgreSQL the change's UPDATE waits for this transaction, then ends its session too.
 */
export async function stillSignsInWith(tx: Tx, userId: string, passwordHash: string): Promise<boolean> {
  const rows = onSqlite()
    ? await tx.$queryRawUnsafe<unknown[]>('SELECT 1 FROM "User" WHERE "id" = ? AND "passwordHash" = ? AND "deactivatedAt" IS NULL', userId, passwordHash)
    : await tx.$queryRawUnsafe<unknown[]>('SELECT 1 FROM "User" WHERE "id" = $1 AND "passwordHash" = $2 AND "deactivatedAt" IS NULL FOR SHARE', userId, passwordHash);
  return rows.length > 0;
}

function onSqlite(): boolean {
  return isSqliteUrl(getConfig().databaseUrl);
}
