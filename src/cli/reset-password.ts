/**
 * `keygate admin reset-password <email> [--tenant <slug>]`: recovers a lost password from the
 * host, where no session is needed. The new password is KEYGATE_NEW_PASSWORD, or a generated
 * one printed once; every session of the user ends, and the audit trail records the reset
 * (actor SYSTEM) in the same transaction.
 */
import { randomBytes } from 'node:crypto';
import { SESSION_CHANGES_CHANNEL } from '../auth/invalidation-pg.js';
import { db, isSqliteUrl } from '../db.js';
import { StartupError } from '../lib/startup-error.js';
import { recordAudit } from '../modules/audit/audit.service.js';
import { hashPassword } from '../modules/user/password.js';
import { canonicalEmail, characterCount } from '../lib/validate.js';
import { endSessions, MIN_PASSWORD_LENGTH } from '../modules/user/user.service.js';
import { getConfig } from '../config.js';

export type ResetPasswordOptions = {
  email: string;
  tenant?: string;
  /** KEYGATE_NEW_PASSWORD; generated when absent. */
  newPassword?: string;
};

export async function resetPassword(options: ResetPasswordOptions, print: (line: string) => void = console.log): Promise<void> {
  const email = canonicalEmail(options.email);
  if (options.newPassword !== undefined && characterCount(options.newPassword) < MIN_PASSWORD_LENGTH) {
    throw new StartupError(`KEYGATE_NEW_PASSWORD must be at least ${MIN_PASSWORD_LENGTH} characters; nothing was changed`);
  }
  const user = await findUser(email, options.tenant);
  const generated = options.newPassword === undefined ? randomBytes(18).toString('base64url') : null;
  // Hashed before the transaction: argon2 takes a while, and SQLite has one writer.
  const passwordHash = await hashPassword(options.newPassword ?? generated!);
  const ended = await db.$transaction(async (tx) => {
    await tx.user.update({ where: { id: user.id }, data: { passwordHash } });
    const count = await endSessions(tx, { userId: user.id });
    await recordAudit(tx, 'SYSTEM', {
      tenantId: user.tenantId,
      action: 'user.password_reset',
      targetType: 'User',
      targetId: user.id,
      metadata: { email: user.email, sessionsEnded: count, via: 'cli' },
    });
    return count;
  });
  await tellServersSessionsEnded(user.id);
  print(`keygate: password of ${user.email} (tenant ${user.tenant.slug}) reset; ${ended} session(s) ended.`);
  if (user.deactivatedAt) print(`keygate: note: ${user.email} is deactivated, so it still cannot sign in.`);
  if (generated) print(`keygate: new password: ${generated}\n(shown only this once; set KEYGATE_NEW_PASSWORD to choose it)`);
}

/**
 * Emails are unique per tenant, not across tenants: with several matches the operator must
 * name the tenant rather than have one picked for them.
 */
async function findUser(email: string, tenant: string | undefined) {
  const users = await db.user.findMany({
    where: { email, ...(tenant ? { tenant: { slug: tenant } } : {}) },
    include: { tenant: { select: { slug: true } } },
    orderBy: { createdAt: 'asc' },
  });
  const [first, ...others] = users;
  if (!first) {
    throw new StartupError(`no user with email ${email}${tenant ? ` in tenant ${tenant}` : ''}; nothing was changed`);
  }
  if (others.length > 0) {
    const slugs = users.map((u) => u.tenant.slug).join(', ');
    throw new StartupError(`${email} is a user in several tenants (${slugs}): pass --tenant <slug> to choose one; nothing was changed`);
  }
  return first;
}

/**
 * The servers cache verified sessions: on PostgreSQL they hear this NOTIFY and drop the
 * user's at once; an SQLite server (one instance) drops them within its session-cache TTL.
 */
async function tellServersSessionsEnded(userId: string): Promise<void> {
  if (isSqliteUrl(getConfig().databaseUrl)) return;
  // pg_notify returns void, which Prisma cannot read: cast it.
  await db.$queryRawUnsafe('SELECT pg_notify($1, $2)::text AS sent', SESSION_CHANGES_CHANNEL, JSON.stringify({ userId }));
}
