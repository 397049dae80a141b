/**
 * What every page needs to know: which tenant it works in (the platform admin's selection, or
 * the viewer's own tenant) and what the viewer may do. Pages offer an action only when
 * `can(permission)` holds; the API refuses it anyway when it does not.
 */
import { createContext, useContext } from 'react';

export type Scope = {
  /** Passed as `tenantId` to every query: the selected tenant (platform admins) or undefined. */
  tenantId: string | undefined;
  tenant: { id: string; name: string; slug: string; isSystem: boolean } | null;
  crossTenant: boolean;
  role: string | null;
  /** The signed-in user: their own row offers no Deactivate (the API refuses it). */
  userId: string | null;
  can: (permission: string) => boolean;
  /** Whether the viewer holds every one of `permissions`: the API's rule for giving them to anyone. */
  canGrant: (permissions: readonly string[]) => boolean;
  /** A tenant or platform administrator: the only ones who change administrators. */
  isAdmin: boolean;
};

export const ScopeContext = createContext<Scope | null>(null);

export function useScope(): Scope {
  const scope = useContext(ScopeContext);
  if (!scope) throw new Error('useScope outside the signed-in console');
  return scope;
}
