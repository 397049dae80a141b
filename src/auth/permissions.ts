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
  'webhooks:manage',
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

/** What each permission allows, for the `permissions` query (consoles show it next to each box). */
export const PERMISSION_DESCRIPTIONS: Record<Permission, string> = {
  'workflows:trigger': 'Trigger workflow runs in the projects within reach, and read runs and workflows there.',
  'data:deliver': 'Deliver data to the projects within reach, and read deliveries there.',
  'workspaces:read': 'List and read workspaces.',
  'workspaces:manage': 'Create, rename and delete workspaces (with their projects).',
  'projects:read': 'List and read projects, their workflows, runs and data deliveries.',
  'projects:manage': 'Create, rename and delete projects and create workflows in them.',
  'api_keys:read': 'List and read API keys (never their secrets) and the key usage against the limit.',
  'api_keys:manage': 'Create, edit, rotate and revoke API keys (with a signed-in session only).',
  'authorization_groups:manage': 'Create, edit and delete authorization groups (with a signed-in session only).',
  'users:manage': 'List, create, change and deactivate users (with a signed-in session only).',
  'audit:read': 'Read the audit trail.',
  'webhooks:manage': 'Register, edit, re-key and delete webhook endpoints, and redeliver failed runs (with a signed-in session only for endpoints).',
};
