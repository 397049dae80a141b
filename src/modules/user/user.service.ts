/** Users, their sessions and how they sign in. Emails are unique within a tenant only. */
import { actingTenantId, assertCan, assertMayGrant, assertMayGrantRole } from '../../auth/access.js';
import type { Principal, UserRole } from '../../auth/principal.js';
import { generateSessionToken, userPermissions } from '../../auth/strategies/session.js';
import { getConfig } from '../../config.js';
import { db } from '../../db.js';
import { badInput, forbidden, unauthenticated } from '../../errors.js';
import { writeUnique, requireEmail } from '../../lib/validate.js';
import { UNLIMITED_SIGN_IN_ATTEMPTS, type SignInAttempts } from '../../security/credential-throttle.js';
import { digestSecret } from '../api-key/api-key.token.js';
import { recordAudit } from '../audit/audit.service.js';
import { findGroupInTenant } from '../authorization-group/authorization-group.service.js';
import { findReachableTenant } from '../tenant/tenant.service.js';
import { hashPassword, verifyPassword } from './password.js';

export const MIN_PASSWORD_LENGTH = 12;
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
 * Issues a session. The email may exist in several tenants: the slug picks one, else the
 * password decides among them. Every failure (unknown email, unknown slug, wrong password)
 * gives the same answer after the same work, so signIn never tells an anonymous caller
 * whether an email exists in some tenant.
 */
export async function signIn(email: string, password: string, { tenant, attempts = UNLIMITED_SIGN_IN_ATTEMPTS }: SignInOptions = {}) {
  await attempts.begin();
  const candidates = await db.user.findMany({
    where: { email: email.trim().toLowerCase(), ...(tenant ? { tenant: { slug: tenant.trim() } } : {}) },
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
  await db.session.create({ data: { userId: user.id, tokenDigest: digestSecret(token), expiresAt } });
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
  if (input.password.length < MIN_PASSWORD_LENGTH) {
    throw badInput('password', `must be at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  const group = input.authorizationGroupId ? await validUserGroup(actor, input.authorizationGroupId, tenant.id) : null;
  assertMayGrant(actor, userPermissions(role, group));
  const passwordHash = await hashPassword(input.password);
  return writeUnique('email', 'a user with this email already exists in this tenant', () =>
    db.$transaction(async (tx) => {
      const user = await tx.user.create({
        data: { tenantId: tenant.id, email, passwordHash, role, authorizationGroupId: group?.id ?? null },
      });
      await recordAudit(tx, actor, { tenantId: tenant.id, action: 'user.created', targetType: 'User', targetId: user.id, metadata: { email, role } });
      return user;
    }),
  );
}

async function validUserGroup(actor: Parameters<typeof findGroupInTenant>[0], id: string, tenantId: string) {
  const group = await findGroupInTenant(actor, id, tenantId).catch(() => null);
  if (!group) throw badInput('authorizationGroupId', 'no such group in this tenant');
  if (group.type !== 'USER') throw badInput('authorizationGroupId', 'must be a group of type USER');
  return group;
}
