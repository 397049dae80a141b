/** The permission catalogue (`resource:verb`) and what each user role gets without a group. */

export const PERMISSIONS = [
  'workflows:trigger',
  'data:deliver',
  'workspaces:read',
  'workspaces:manage',
  'projects:read',
  'projects:manage',
  'api_keys:read',
  'api_keys:manage',
  'authorization_groups:manage',
  'users:manage',
  'audit:read',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

const catalogue = new Set<string>(PERMISSIONS);

export function isPermission(value: string): value is Permission {
  return catalogue.has(value);
}

/** What a MEMBER may do before their authorization group adds more: read the tenant. */
export const MEMBER_DEFAULT_PERMISSIONS: readonly Permission[] = ['workspaces:read', 'projects:read', 'api_keys:read'];

/** Reads a stored permission list, dropping anything no longer in the catalogue. */
export function toPermissions(stored: unknown): Permission[] {
  return Array.isArray(stored) ? stored.filter((p): p is Permission => typeof p === 'string' && isPermission(p)) : [];
}
