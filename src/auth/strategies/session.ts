/**
 * Session tokens: `kgs_` + 43 base62 characters (~256 random bits) + a 6-character CRC32
 * checksum, issued by signIn and stored only as a SHA-256 digest with an expiry. The `kgs_`
 * shape is what tells a session token from an API key, without asking the database.
 */
import { serviceUnavailable, unauthenticated } from '../../errors.js';
import { digestSecret, generateKey, parseKey, parseKeyFormat, SESSION_TOKEN_PREFIX } from '../credentials.js';
import { allPermissions, MEMBER_DEFAULT_PERMISSIONS, toPermissions, type Permission } from '../permissions.js';
import type { SessionPrincipal, UserRole } from '../principal.js';
import type { SessionCache } from '../session-cache.js';
import { sessionLookup, type SessionLookup, type VerifiedSession } from '../session-lookup.js';
import type { AuthStrategy } from './strategy.js';

export { SESSION_TOKEN_PREFIX };
export const SESSION_TOKEN_FORMAT = parseKeyFormat(`${SESSION_TOKEN_PREFIX}{base62:43}{checksum}`);

export function generateSessionToken(): string {
  return generateKey(SESSION_TOKEN_FORMAT, '');
}

export type SessionStrategyDeps = {
  cache: SessionCache;
  /** Where a digest missing from the cache is looked up. @default sessionLookup (session-lookup.ts) */
  lookup?: SessionLookup;
};

export function sessionStrategy({ cache, lookup: store = sessionLookup }: SessionStrategyDeps): AuthStrategy {
  async function lookupUncached(digest: string): Promise<VerifiedSession | null> {
    const generation = cache.currentGeneration;
    const session = await store.findByDigest(digest).catch(() => {
      // Fail closed: without the database nothing uncached (or stale) is accepted.
      throw serviceUnavailable();
    });
    cache.set(digest, session, generation);
    return session;
  }

  return {
    name: 'session',
    recognizes: (credential) => credential.startsWith(SESSION_TOKEN_PREFIX),
    async authenticate(credential) {
      if (!parseKey(SESSION_TOKEN_FORMAT, credential)) throw unauthenticated('INVALID');
      const digest = digestSecret(credential);
      const cached = cache.get(digest);
      return accept(cached !== undefined ? cached : await lookupUncached(digest));
    },
    authenticateCached(credential) {
      // An API key's turn comes next: spare it a digest this cache cannot hold.
      if (!credential.startsWith(SESSION_TOKEN_PREFIX)) return undefined;
      // Only digests of checksum-valid tokens are ever cached (authenticate parses first).
      const cached = cache.get(digestSecret(credential));
      return cached === undefined ? undefined : accept(cached);
    },
  };
}

/** A verified session (or null: none has this digest) → the principal, or the refusal. */
function accept(session: VerifiedSession | null): SessionPrincipal {
  if (!session) throw unauthenticated('INVALID');
  if (session.expiresAt.getTime() <= Date.now()) throw unauthenticated('EXPIRED', 'The session has expired; sign in again.');
  // deactivateUser deletes the user's sessions in the same transaction; this refuses any
  // session that outlived it (one issued by a signIn racing the deactivation).
  if (session.userDeactivated) throw unauthenticated('INVALID');
  return toPrincipal(session);
}

/**
 * One principal per verified session, reused while the session cache holds it (as for keys:
 * strategies/api-key.ts), so the principal token's memo hits for sessions too. Frozen:
 * nothing downstream may edit a shared principal.
 */
const principals = new WeakMap<VerifiedSession, SessionPrincipal>();

function toPrincipal(session: VerifiedSession): SessionPrincipal {
  let principal = principals.get(session);
  if (!principal) principals.set(session, (principal = Object.freeze(newPrincipal(session))));
  return principal;
}

function newPrincipal(session: VerifiedSession): SessionPrincipal {
  return {
    kind: 'SESSION',
    sessionId: session.id,
    user: { id: session.userId, email: session.email, role: session.role },
    tenantId: session.tenantId,
    // A PLATFORM_ADMIN outside the system tenant should not exist; never trust it if it does.
    crossTenant: session.role === 'PLATFORM_ADMIN' && session.tenantIsSystem,
    permissions: userPermissions(session.role, session.group),
  };
}

/** Admins hold the whole catalogue; a member holds the read defaults plus their USER group's. */
export function userPermissions(role: UserRole, group: { type: string; permissions: unknown } | null): Set<Permission> {
  if (role !== 'MEMBER') return new Set(allPermissions());
  const fromGroup = group?.type === 'USER' ? toPermissions(group.permissions) : [];
  return new Set([...MEMBER_DEFAULT_PERMISSIONS, ...fromGroup]);
}
