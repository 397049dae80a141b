/**
 * The verified-session cache: token digest → the session as verified against the database,
 * with the key cache's guarantees (key-cache.ts): bounded, a TTL, eviction at once on this
 * instance by publishSessionChange (invalidation.ts) and within milliseconds on the others
 * (PostgreSQL LISTEN/NOTIFY, invalidation-pg.ts), a generation counter so a read that started
 * before a sign-out cannot re-cache the session, and fail-closed suspension while another
 * instance's changes could go unheard. Expiry is checked against the cached `expiresAt` on
 * every request.
 *
 * Its TTL is short (KEYGATE_SESSION_CACHE_TTL_MS, 5 s by default) because not every change
 * can reach this process's memory: a command-line run in another process (an admin's
 * password reset on an SQLite deployment) has no channel to a running server, so the TTL is
 * how long such a change can take to apply here.
 */
import { VerifiedCache } from './key-cache.js';
import type { VerifiedSession } from './session-lookup.js';
import { parseIdChange } from './change-payload.js';

/** What changed: one session, everything of a user, of a tenant, or of a USER group's members. */
export type SessionChange = { sessionId: string } | { userId: string } | { tenantId: string } | { authorizationGroupId: string };

export class SessionCache extends VerifiedCache<VerifiedSession, SessionChange> {
  constructor(options: { ttlMs: number; maxEntries: number }) {
    super(options, sessionAffectedBy);
  }
}

function sessionAffectedBy(session: VerifiedSession, change: SessionChange): boolean {
  return (
    ('sessionId' in change && session.id === change.sessionId) ||
    ('userId' in change && session.userId === change.userId) ||
    ('tenantId' in change && session.tenantId === change.tenantId) ||
    ('authorizationGroupId' in change && session.authorizationGroupId === change.authorizationGroupId)
  );
}

/** A SessionChange, or null for anything else: the payload crossed a process boundary. */
export function parseSessionChange(payload: string | undefined): SessionChange | null {
  return parseIdChange(payload, ['sessionId', 'userId', 'tenantId', 'authorizationGroupId']);
}
