/** Users, their sessions and how they sign in. Emails are unique within a tenant only. */
import {
  actingTenantId,
  assertCan,
  assertMayGrant,
  assertMayGrantRole,
  isPlatformAdminSession,
  isTenantAdminSession,
  reach,
  requireAuthenticated,
  tenantReach,
} from '../../auth/access.js';
import type { GraphQLError } from 'graphql';
import type { Principal, UserRole } from '../../auth/principal.js';
import { generateSessionToken, userPermissions } from '../../auth/strategies/session.js';
import { getConfig } from '../../config.js';
import { db, type Tx } from '../../db.js';
import { stillAssignable, stillSignsInWith } from '../../db/row-locks.js';
import { badInput, forbidden, notFound, unauthenticated } from '../../errors.js';
import { canonicalEmail, characterCount, writeUnique, requireEmail } from '../../lib/validate.js';
import { UNLIMITED_SIGN_IN_ATTEMPTS, type SignInAttempts } from '../../security/credential-throttle.js';
import { digestSecret } from '../../auth/credentials.js';
import { recordAudit } from '../audit/audit.service.js';
import { findGroupInTenant } from '../authorization-group/authorization-group.service.js';
import { findReachableTenant } from '../tenant/tenant.service.js';
import { hashPassword, verifyPassword } from './password.js';
import { publishSessionChange } from '../../auth/invalidation.js';

export const MIN_PASSWORD_LENGTH = 12;

/** A new password long enough, in characters (an emoji is one). */
function assertPasswordLength(field: string, password: string): void {
  if (characterCount(password) < MIN_PASSWORD_LENGTH) throw badInput(field, `must be at least ${MIN_PASSWORD_LENGTH} characters`);
}
/**
 * Without a tenant slug, the password is tried against at most this many users with the
 * email (each try is an argon2 verification): beyond that, sign in with the slug.
 */
export const MAX_SIGN_IN_CANDIDATES = 10;

export type CreateUserInput = {
  tenantId?: string | null;
  email: string;
  password: string;
  role?: UserRole | null;
  authorizationGroupId?: string | null;
};

export type SignInOptions = {
  /** The tenant's slug; without it the password decides among the users with this email. */
  tenant?: string | null;
  attempts?: SignInAttempts;
};

/**
 * A refused signIn answers no sooner than this after it began. The work behind a refusal
 * depends on how many tenants hold the email (one password verification each, up to
 * MAX_SIGN_IN_CANDIDATES, and a decoy one for an unknown email), so without a floor its
 * duration would count them for an anonymous caller. Comfortably above ten verifications.
 */
export const SIGN_IN_REFUSAL_FLOOR_MS = 300;

/**
 * Issues a session. The email may exist in several tenants: the slug picks one, else the
 * password decides among them. Every failure (unknown email, unknown slug, wrong password)
 * gives the same answer at the same time (SIGN_IN_REFUSAL_FLOOR_MS), so signIn never tells an
 * anonymous caller whether an email exists in some tenant, nor in how many.
 */
export async function signIn(email: string, password: string, options: SignInOptions = {}) {
  const began = performance.now();
  try {
    return await issueSession(email, password, options);
  } catch (error) {
    if ((error as GraphQLError).extensions?.code === 'UNAUTHENTICATED') {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, began + SIGN_IN_REFUSAL_FLOOR_MS - performance.now())));
    }
    throw error;
  }
}

async function issueSession(email: string, password: string, { tenant, attempts = UNLIMITED_SIGN_IN_ATTEMPTS }: SignInOptions) {
  await attempts.begin();
  const candidates = await db.user.findMany({
    // A deactivated user is simply not a candidate: the answer is the same as for a wrong
    // password, so signIn does not tell whether an account exists but is deactivated.
    where: { email: canonicalEmail(email), deactivatedAt: null, ...(tenant ? { tenant: { slug: tenant.trim() } } : {}) },
    orderBy: { createdAt: 'asc' },
    take: MAX_SIGN_IN_CANDIDATES,
  });
  const matches = await usersWithPassword(candidates, password);
  if (matches.length === 0) throw unauthenticated('INVALID', 'Invalid email or password.');
  if (matches.length > 1) {
    throw badInput('tenant', 'this email and password belong to users of several tenants: give the tenant slug');
  }
  await attempts.succeeded();
  const user = matches[0]!;
  const token = generateSessionToken();
  const expiresAt = new Date(Date.now() + getConfig().sessionTtlMs);
  await db.$transaction(async (tx) => {
    // The password was verified outside the transaction (it takes a while, by design): a
    // change or deactivation committed since then wins, as a wrong password would.
    if (!(await stillSignsInWith(tx, user.id, user.passwordHash))) throw unauthenticated('INVALID', 'Invalid email or password.');
    await tx.session.create({ data: { userId: user.id, tokenDigest: digestSecret(token), expiresAt } });
  });
  return { token, expiresAt, user };
}

async function usersWithPassword<T extends { passwordHash: string }>(candidates: T[], password: string): Promise<T[]> {
  // An unknown email still costs one verification, like a wrong password.
  if (candidates.length === 0) await verifyPassword(null, password);
  const verified = await Promise.all(candidates.map((user) => verifyPassword(user.passwordHash, password)));
  return candidates.filter((_, i) => verified[i]);
}

export async function signOut(principal: Principal): Promise<boolean> {
  if (principal.kind === 'ANONYMOUS') throw unauthenticated('MISSING');
  if (principal.kind !== 'SESSION') throw forbidden('signOut ends a session; an API key has none.');
  await db.session.deleteMany({ where: { id: principal.sessionId } });
  publishSessionChange({ sessionId: principal.sessionId });
  return true;
}

/**
 * A user of a tenant the actor reaches. The actor must hold every permission the new user
 * gets (its role's, or its group's): otherwise holding `users:manage` alone would be enough
 * to make a user with `api_keys:manage` and sign in as it.
 */
export async function createUser(principal: Principal, input: CreateUserInput) {
  const actor = assertCan(principal, 'user:manage');
  const tenant = await findReachableTenant(actor, actingTenantId(actor, input.tenantId));
  const role = input.role ?? 'MEMBER';
  assertMayGrantRole(actor, role, tenant);
  const email = requireEmail('email', input.email);
  assertPasswordLength('password', input.password);
  const group = input.authorizationGroupId != null ? await validUserGroup(actor, input.authorizationGroupId, tenant.id) : null;
  assertMayGrant(actor, userPermissions(role, group));
  const passwordHash = await hashPassword(input.password);
  return writeUnique('email', 'a user with this email already exists in this tenant', () =>
    db.$transaction(async (tx) => {
      if (group) await assertGroupStillAssignable(tx, group.id);
      const user = await tx.user.create({
        data: { tenantId: tenant.id, email, passwordHash, role, authorizationGroupId: group?.id ?? null },
      });
      await recordAudit(tx, actor, { tenantId: tenant.id, action: 'user.created', targetType: 'User', targetId: user.id, metadata: { email, role } });
      return user;
    }),
  );
}

/** The group read again inside the transaction that assigns it: one deleted meanwhile is refused (db/row-locks.ts). */
async function assertGroupStillAssignable(tx: Tx, groupId: string) {
  if (!(await stillAssignable(tx, 'AuthorizationGroup', groupId))) throw badInput('authorizationGroupId', 'no such group in this tenant');
}

async function validUserGroup(actor: Parameters<typeof findGroupInTenant>[0], id: string, tenantId: string) {
  const group = await findGroupInTenant(actor, id, tenantId).catch(() => null);
  if (!group) throw badInput('authorizationGroupId', 'no such group in this tenant');
  if (group.type !== 'USER') throw badInput('authorizationGroupId', 'must be a group of type USER');
  return group;
}

export type UserListArgs = {
  tenantId?: string | null;
  role?: UserRole | null;
  authorizationGroupId?: string | null;
};

/** The `where` of a user listing: one tenant (sessions with users:manage only), the filters. */
export function userFilter(principal: Principal, args: UserListArgs) {
  const actor = assertCan(principal, 'user:read');
  return {
    ...reach(actor).user,
    tenantId: actingTenantId(actor, args.tenantId),
    ...(args.role ? { role: args.role } : {}),
    ...(args.authorizationGroupId != null ? { authorizationGroupId: args.authorizationGroupId } : {}),
  };
}

/** A user the principal may `action` (read or manage); another tenant's is NOT_FOUND. */
async function findUserFor(principal: Principal, action: 'user:read' | 'user:manage', id: string) {
  const actor = assertCan(principal, action);
  const user = await db.user.findFirst({
    where: { id, ...tenantReach(actor) },
    include: { tenant: true, authorizationGroup: true },
  });
  if (!user) throw notFound('User');
  assertCan(actor, action, { what: 'User', tenantId: user.tenantId });
  return { actor, user };
}

export async function findReadableUser(principal: Principal, id: string) {
  return (await findUserFor(principal, 'user:read', id)).user;
}

/**
 * A user the actor may change. Changing a user's access, or ending it, is only for whoever
 * holds at least that user's access: otherwise a member with users:manage could demote its
 * tenant administrator, or deactivate it, and run the tenant alone. A platform administrator
 * is only managed by platform administrators.
 */
async function findManagedUser(principal: Principal, id: string) {
  const { actor, user } = await findUserFor(principal, 'user:manage', id);
  if (user.role === 'PLATFORM_ADMIN' && !isPlatformAdminSession(actor)) {
    throw forbidden('Only platform administrators may change a platform administrator.');
  }
  if (user.role === 'TENANT_ADMIN' && !isTenantAdminSession(actor)) {
    throw forbidden('Only tenant administrators may change or deactivate a tenant administrator.');
  }
  assertMayGrant(actor, userPermissions(user.role, user.authorizationGroup));
  if (user.deactivatedAt) throw badInput('id', 'the user is deactivated');
  return { actor, user };
}

export type UpdateUserInput = { role?: UserRole | null; authorizationGroupId?: string | null };

/**
 * Changes a user's role or USER group (explicit null removes the group). Both are grants:
 * the actor must hold everything the user gets. Nobody changes their own role. Sessions read
 * role and group on every request (strategies/session.ts), so the change applies to the
 * user's next request.
 */
export async function updateUser(principal: Principal, id: string, input: UpdateUserInput) {
  const { actor, user } = await findManagedUser(principal, id);
  const role = input.role ?? (user.role as UserRole);
  if (actor.kind === 'SESSION' && actor.user.id === id && role !== user.role) {
    throw forbidden('You cannot change your own role.');
  }
  if (role !== user.role) assertMayGrantRole(actor, role, user.tenant);
  const group =
    input.authorizationGroupId === undefined
      ? user.authorizationGroup
      : input.authorizationGroupId === null
        ? null
        : await validUserGroup(actor, input.authorizationGroupId, user.tenantId);
  assertMayGrant(actor, userPermissions(role, group));
  // Nothing to change: nothing written, nothing audited, no session made to re-read.
  if (role === user.role && (group?.id ?? null) === user.authorizationGroupId) return user;
  const result = await db.$transaction(async (tx) => {
    if (input.authorizationGroupId && group) await assertGroupStillAssignable(tx, group.id);
    const updated = await tx.user.update({ where: { id }, data: { role, authorizationGroupId: group?.id ?? null } });
    await recordAudit(tx, actor, {
      tenantId: user.tenantId,
      action: 'user.updated',
      targetType: 'User',
      targetId: id,
      metadata: { role, previousRole: user.role, authorizationGroupId: group?.id ?? null },
    });
    return updated;
  });
  // After the commit: a request re-reading the session before it would cache the old row.
  publishSessionChange({ userId: id });
  return result;
}

/**
 * Deactivates a user: it can no longer sign in and its sessions end at once. Keys it created
 * keep working (they belong to the tenant, not to the person) and keep naming it as creator.
 */
export async function deactivateUser(principal: Principal, id: string) {
  const { actor, user } = await findManagedUser(principal, id);
  if (actor.kind === 'SESSION' && actor.user.id === id) throw badInput('id', 'you cannot deactivate yourself');
  const result = await db.$transaction(async (tx) => {
    const deactivated = await tx.user.update({ where: { id }, data: { deactivatedAt: new Date() } });
    const ended = await endSessions(tx, { userId: id });
    await recordAudit(tx, actor, {
      tenantId: user.tenantId,
      action: 'user.deactivated',
      targetType: 'User',
      targetId: id,
      metadata: { email: user.email, endedSessions: ended },
    });
    return deactivated;
  });
  // After the commit: a request re-reading the session before it would cache the old row.
  publishSessionChange({ userId: id });
  return result;
}

/**
 * The caller's own password. Needs the current one (a session left open on a shared machine
 * must not be enough to take the account over), and each try counts against the address's
 * failed-credential throttle like a signIn, so a stolen session cannot guess it quickly.
 * Ends every other session of the user.
 */
export async function changePassword(
  principal: Principal,
  currentPassword: string,
  newPassword: string,
  attempts: SignInAttempts = UNLIMITED_SIGN_IN_ATTEMPTS,
) {
  const actor = requireAuthenticated(principal);
  if (actor.kind !== 'SESSION') throw forbidden('changePassword needs a signed-in session; an API key has no password.');
  const user = await db.user.findUniqueOrThrow({ where: { id: actor.user.id } });
  await attempts.begin();
  if (!(await verifyPassword(user.passwordHash, currentPassword))) throw badInput('currentPassword', 'is not your current password');
  await attempts.succeeded();
  assertPasswordLength('newPassword', newPassword);
  const passwordHash = await hashPassword(newPassword);
  const result = await db.$transaction(async (tx) => {
    const updated = await tx.user.update({ where: { id: user.id }, data: { passwordHash } });
    const ended = await endSessions(tx, { userId: user.id, id: { not: actor.sessionId } });
    await recordAudit(tx, actor, {
      tenantId: user.tenantId,
      action: 'user.password_changed',
      targetType: 'User',
      targetId: user.id,
      metadata: { endedSessions: ended },
    });
    return updated;
  });
  // After the commit: a request re-reading the session before it would cache the old row.
  publishSessionChange({ userId: user.id });
  return result;
}

/**
 * The one place sessions are ended for a user-management reason (deactivation, a password
 * change). The caller publishes the session change once its transaction has committed.
 */
export async function endSessions(tx: Tx, where: { userId: string; id?: { not: string } }): Promise<number> {
  const { count } = await tx.session.deleteMany({ where });
  return count;
}

