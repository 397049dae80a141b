/**
 * Authorization groups: named sets of permissions. TENANT_API_KEY groups are given to keys,
 * USER groups refine what a MEMBER may do. Editing a group changes what every key in it may
 * do on the next request (the key cache is invalidated for the group).
 */
import { isPermission, type Permission } from '../../auth/permissions.js';
import { actingTenantId, withinReach, requireAuthenticated, requireSessionPermission, type Principal } from '../../auth/principal.js';
import { publishKeyChange, publishSessionChange } from '../../auth/invalidation.js';
import { db } from '../../db.js';
import { badInput } from '../../errors.js';
import { writeUnique, optionalText, requireText } from '../../lib/validate.js';
import { recordAudit } from '../audit/audit.service.js';
import { findReachableTenant } from '../tenant/tenant.service.js';

export type GroupType = 'USER' | 'TENANT_API_KEY';
export type CreateGroupInput = {
  tenantId?: string | null;
  name: string;
  description?: string | null;
  type: GroupType;
  permissions: readonly string[];
};
export type UpdateGroupInput = { name?: string | null; description?: string | null; permissions?: readonly string[] | null };

export function groupFilter(principal: Principal, args: { tenantId?: string | null; type?: GroupType | null }) {
  const actor = requireAuthenticated(principal);
  return { tenantId: actingTenantId(actor, args.tenantId), ...(args.type ? { type: args.type } : {}) };
}

export async function findReachableGroup(principal: Principal, id: string) {
  return withinReach(principal, await db.authorizationGroup.findUnique({ where: { id } }), 'Authorization group');
}

export async function createAuthorizationGroup(principal: Principal, input: CreateGroupInput) {
  const actor = requireSessionPermission(principal, 'authorization_groups:manage');
  const tenantId = actingTenantId(actor, input.tenantId);
  await findReachableTenant(actor, tenantId);
  const data = {
    tenantId,
    type: input.type,
    name: requireText('name', input.name, { min: 2, max: 200 }),
    description: optionalText('description', input.description, 1000) ?? '',
    permissions: validPermissions(input.permissions),
  };
  return writeUnique('name', duplicateName(data.name), () =>
    db.$transaction(async (tx) => {
      const group = await tx.authorizationGroup.create({ data });
      await recordAudit(tx, actor, {
        tenantId,
        action: 'authorization_group.created',
        targetType: 'AuthorizationGroup',
        targetId: group.id,
        metadata: { name: data.name, type: data.type, permissions: data.permissions },
      });
      return group;
    }),
  );
}

export async function updateAuthorizationGroup(principal: Principal, id: string, input: UpdateGroupInput) {
  const actor = requireSessionPermission(principal, 'authorization_groups:manage');
  const group = await findReachableGroup(actor, id);
  const data = {
    ...(input.name != null ? { name: requireText('name', input.name, { min: 2, max: 200 }) } : {}),
    ...(input.description != null ? { description: optionalText('description', input.description, 1000) } : {}),
    ...(input.permissions != null ? { permissions: validPermissions(input.permissions) } : {}),
  };
  const updated = await writeUnique('name', duplicateName(data.name ?? group.name), () =>
    db.$transaction(async (tx) => {
      const result = await tx.authorizationGroup.update({ where: { id }, data });
      await recordAudit(tx, actor, {
        tenantId: group.tenantId,
        action: 'authorization_group.updated',
        targetType: 'AuthorizationGroup',
        targetId: id,
        metadata: data,
      });
      return result;
    }),
  );
  publishKeyChange({ authorizationGroupId: id });
  // A USER group's permissions are what its members' sessions may do.
  publishSessionChange({ authorizationGroupId: id });
  return updated;
}

/** Refused while keys or users still reference the group: their permissions would vanish. */
export async function deleteAuthorizationGroup(principal: Principal, id: string) {
  const actor = requireSessionPermission(principal, 'authorization_groups:manage');
  const group = await findReachableGroup(actor, id);
  const [keys, users] = await Promise.all([
    db.apiKey.count({ where: { authorizationGroupId: id } }),
    db.user.count({ where: { authorizationGroupId: id } }),
  ]);
  if (keys > 0 || users > 0) {
    throw badInput(
      'id',
      `the group is still used by ${keys} API key(s) (revoked keys included, they keep their history) and ${users} user(s); move them to another group first`,
    );
  }
  await db.$transaction(async (tx) => {
    await tx.authorizationGroup.delete({ where: { id } });
    await recordAudit(tx, actor, {
      tenantId: group.tenantId,
      action: 'authorization_group.deleted',
      targetType: 'AuthorizationGroup',
      targetId: id,
      metadata: { name: group.name },
    });
  });
  return group;
}

function validPermissions(permissions: readonly string[]): Permission[] {
  const unknown = permissions.filter((p) => !isPermission(p));
  if (unknown.length > 0) throw badInput('permissions', `unknown permission ${unknown.map((p) => JSON.stringify(p)).join(', ')}`);
  return [...new Set(permissions as Permission[])];
}

function duplicateName(name: string): string {
  return `a group named "${name}" already exists in this tenant`;
}
