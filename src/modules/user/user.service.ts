import { actingTenantId, requireAuthenticated, requireSessionPermission, type Principal, type UserRole } from '../../auth/principal.js';
import { generateSessionToken } from '../../auth/strategies/session.js';
import { getConfig } from '../../config.js';
import { db } from '../../db.js';
import { badInput, forbidden, unauthenticated } from '../../errors.js';
import { writeUnique, requireEmail } from '../../lib/validate.js';
import { digestSecret } from '../api-key/api-key.token.js';
import { recordAudit } from '../audit/audit.service.js';
import { findReachableGroup } from '../authorization-group/authorization-group.service.js';
import { findReachableTenant } from '../tenant/tenant.service.js';
import { hashPassword, verifyPassword } from './password.js';
import { publishSessionChange } from '../../auth/invalidation.js';

export const MIN_PASSWORD_LENGTH = 12;

export type CreateUserInput = {
  tenantId?: string | null;
  email: string;
  password: string;
  role?: UserRole | null;
  authorizationGroupId?: string | null;
};

/** Issues a session. A wrong password and an unknown email give the same answer, in the same time. */
export async function signIn(email: string, password: string) {
  const user = await db.user.findUnique({ where: { email: email.trim().toLowerCase() } });
  if (!(await verifyPassword(user?.passwordHash ?? null, password)) || !user) {
    throw unauthenticated('INVALID', 'Invalid email or password.');
  }
  const token = generateSessionToken();
  const expiresAt = new Date(Date.now() + getConfig().sessionTtlMs);
  await db.session.create({ data: { userId: user.id, tokenDigest: digestSecret(token), expiresAt } });
  return { token, expiresAt, user };
}

export async function signOut(principal: Principal): Promise<boolean> {
  const actor = requireAuthenticated(principal);
  if (actor.kind !== 'SESSION') throw forbidden('signOut ends a session; an API key has none.');
  await db.session.deleteMany({ where: { id: actor.sessionId } });
  publishSessionChange({ sessionId: actor.sessionId });
  return true;
}

export async function createUser(principal: Principal, input: CreateUserInput) {
  const actor = requireSessionPermission(principal, 'users:manage');
  const tenantId = actingTenantId(actor, input.tenantId);
  const tenant = await findReachableTenant(actor, tenantId);
  const role = input.role ?? 'MEMBER';
  assertMayGrantRole(actor, role, tenant.isSystem);
  const email = requireEmail('email', input.email);
  if (input.password.length < MIN_PASSWORD_LENGTH) {
    throw badInput('password', `must be at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  if (input.authorizationGroupId) {
    const group = await findReachableGroup(actor, input.authorizationGroupId).catch(() => null);
    if (!group || group.tenantId !== tenantId) throw badInput('authorizationGroupId', 'no such group in this tenant');
    if (group.type !== 'USER') throw badInput('authorizationGroupId', 'must be a group of type USER');
  }
  const passwordHash = await hashPassword(input.password);
  return writeUnique('email', 'a user with this email already exists', () =>
    db.$transaction(async (tx) => {
      const user = await tx.user.create({
        data: { tenantId, email, passwordHash, role, authorizationGroupId: input.authorizationGroupId ?? null },
      });
      await recordAudit(tx, actor, { tenantId, action: 'user.created', targetType: 'User', targetId: user.id, metadata: { email, role } });
      return user;
    }),
  );
}

/** Nobody grants more than they hold: platform admins exist only in the system tenant. */
function assertMayGrantRole(actor: ReturnType<typeof requireAuthenticated>, role: UserRole, systemTenant: boolean) {
  if (role === 'PLATFORM_ADMIN' && (!actor.crossTenant || !systemTenant)) {
    throw badInput('role', 'PLATFORM_ADMIN users exist only in the system tenant and are created by platform administrators');
  }
  const isAdmin = actor.crossTenant || (actor.kind === 'SESSION' && actor.user.role === 'TENANT_ADMIN');
  if (role === 'TENANT_ADMIN' && !isAdmin) throw forbidden('Only tenant administrators may create tenant administrators.');
}
