/**
 * Session tokens: `kgs_` + 43 base62 characters (~256 random bits) + a 6-character CRC32
 * checksum, issued by signIn and stored only as a SHA-256 digest with an expiry. The `kgs_`
 * shape is what tells a session token from an API key, without asking the database.
 */
import type { Db } from '../../db.js';
import { serviceUnavailable, unauthenticated } from '../../errors.js';
import { digestSecret, generateKey, parseKey, parseKeyFormat } from '../../modules/api-key/api-key.token.js';
import { PERMISSIONS, MEMBER_DEFAULT_PERMISSIONS, toPermissions, type Permission } from '../permissions.js';
import type { SessionPrincipal, UserRole } from '../principal.js';
import type { AuthStrategy } from './strategy.js';

export const SESSION_TOKEN_PREFIX = 'kgs_';
export const SESSION_TOKEN_FORMAT = parseKeyFormat(`${SESSION_TOKEN_PREFIX}{base62:43}{checksum}`);

export function generateSessionToken(): string {
  return generateKey(SESSION_TOKEN_FORMAT, '');
}

export function sessionStrategy(db: Db): AuthStrategy {
  return {
    name: 'session',
    async authenticate(credential) {
      if (!credential.startsWith(SESSION_TOKEN_PREFIX)) return null;
      if (!parseKey(SESSION_TOKEN_FORMAT, credential)) throw unauthenticated('INVALID');
      const session = await db.session
        .findUnique({
          where: { tokenDigest: digestSecret(credential) },
          include: { user: { include: { tenant: true, authorizationGroup: true } } },
        })
        .catch(() => {
          throw serviceUnavailable();
        });
      if (!session) throw unauthenticated('INVALID');
      if (session.expiresAt.getTime() <= Date.now()) throw unauthenticated('EXPIRED', 'The session has expired; sign in again.');
      const { user } = session;
      // deactivateUser deletes the user's sessions in the same transaction; this refuses any
      // session that outlived it (one issued by a signIn racing the deactivation).
      if (user.deactivatedAt) throw unauthenticated('INVALID');
      const role = user.role as UserRole;
      const principal: SessionPrincipal = {
        kind: 'SESSION',
        sessionId: session.id,
        user: { id: user.id, email: user.email, role },
        tenantId: user.tenantId,
        // A PLATFORM_ADMIN outside the system tenant should not exist; never trust it if it does.
        crossTenant: role === 'PLATFORM_ADMIN' && user.tenant.isSystem,
        permissions: userPermissions(role, user.authorizationGroup),
      };
      return principal;
    },
  };
}

/** Admins hold the whole catalogue; a member holds the read defaults plus their USER group's. */
export function userPermissions(role: UserRole, group: { type: string; permissions: unknown } | null): Set<Permission> {
  if (role !== 'MEMBER') return new Set(PERMISSIONS);
  const fromGroup = group?.type === 'USER' ? toPermissions(group.permissions) : [];
  return new Set([...MEMBER_DEFAULT_PERMISSIONS, ...fromGroup]);
}
