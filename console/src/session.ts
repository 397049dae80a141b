/**
 * The session token lives in this tab's sessionStorage only: never in a cookie (a browser would
 * attach one to cross-site requests), gone when the tab closes, and dropped once the server's
 * expiry (`signIn.expiresAt`, i.e. KEYGATE_SESSION_TTL_MINUTES) has passed.
 */
export type Session = { token: string; expiresAt: string };

const STORAGE_KEY = 'keygate.console.session';

export function loadSession(): Session | null {
  try {
    const stored = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null') as Session | null;
    if (!stored?.token || !stored.expiresAt) return null;
    if (Date.parse(stored.expiresAt) <= Date.now()) {
      clearSession();
      return null;
    }
    return stored;
  } catch {
    return null;
  }
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(STORAGE_KEY);
  sessionStorage.removeItem(TENANT_KEY);
}

const TENANT_KEY = 'keygate.console.tenant';

/** The platform admin's tenant selection, kept across reloads of the tab. */
export function loadSelectedTenant(): string | null {
  return sessionStorage.getItem(TENANT_KEY);
}

export function saveSelectedTenant(id: string): void {
  sessionStorage.setItem(TENANT_KEY, id);
}
