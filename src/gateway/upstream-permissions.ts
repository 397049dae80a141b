/**
 * Names of the gateway permissions, and which upstream serves which root field of the
 * composed schema. The access policy (auth/access.ts) decides with these; a per-key schema
 * view asks `upstreamFieldPermission` which permissions open a root field.
 */
import type { UpstreamPermission } from '../auth/permissions.js';

export type UpstreamRootType = 'Query' | 'Mutation';

/** Every root field of the upstream. */
export function upstreamPermission(upstream: string): UpstreamPermission {
  return `upstream:${upstream}`;
}

/** The permissions that open one upstream root field: the upstream's, or the field's own. */
export function upstreamFieldPermissions(upstream: string, typeName: string, fieldName: string): UpstreamPermission[] {
  return [upstreamPermission(upstream), `upstream:${upstream}:${typeName}.${fieldName}`];
}

/**
 * The permissions any one of which grants `permission`: an upstream root field's own is also
 * granted by its upstream's (`upstream:shop` grants `upstream:shop:Query.orders`), as it is
 * for the field itself; any other permission only by itself.
 */
export function permissionsGranting(permission: string): string[] {
  const field = /^upstream:([^:]+):(Query|Mutation)\.(.+)$/.exec(permission);
  return field ? upstreamFieldPermissions(field[1]!, field[2]!, field[3]!) : [permission];
}

/** Root field (`Query.orders`) → the upstream that serves it, for the composed schema in use. */
const servedBy = new Map<string, string>();

export function registerUpstreamRootFields(fields: Iterable<{ upstream: string; typeName: UpstreamRootType; fieldName: string }>): void {
  servedBy.clear();
  for (const { upstream, typeName, fieldName } of fields) servedBy.set(`${typeName}.${fieldName}`, upstream);
}

/**
 * For a root field of the composed schema: the permissions any one of which opens it
 * (`upstream:<name>` or `upstream:<name>:<Type>.<field>`), or null for keygate's own fields,
 * whose rules are their `authScopes` and access.ts.
 */
export function upstreamFieldPermission(typeName: string, fieldName: string): { upstream: string; anyOf: UpstreamPermission[] } | null {
  const upstream = servedBy.get(`${typeName}.${fieldName}`);
  return upstream ? { upstream, anyOf: upstreamFieldPermissions(upstream, typeName, fieldName) } : null;
}
