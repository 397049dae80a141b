/**
 * Authorization groups: named sets of permissions. TENANT_API_KEY groups are given to keys,
 * USER groups refine what a MEMBER may do. Editing a group changes what every key in it may
 * do on the next request (the key cache is invalidated for the group).
 */
import { actingTenantId, assertCan, assertMayGrant, isPlatformAdminSession, reach, tenantReach } from '../../auth/access.js';
import { isPermission, toPermissions, type Permission } from '../../auth/permissions.js';
import type { AuthenticatedPrincipal, Principal } from '../../auth/principal.js';
import { publishKeyChange, publishSessionChange } from '../../auth/invalidation.js';
import { db } from '../../db.js';
import { lockForDeletion } from '../../db/row-locks.js';
import { badInput, forbidden, notFound } from '../../errors.js';
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
  operationPolicy?: OperationPolicy | null;
  costBudget?: CostBudgetInput | null;
};
export type UpdateGroupInput = {
  name?: string | null;
  description?: string | null;
  permissions?: readonly string[] | null;
  operationPolicy?: OperationPolicy | null;
  /** Undefined: unchanged; null: removed. */
  costBudget?: CostBudgetInput | null;
};
export type OperationPolicy = 'ANY' | 'AUDIT' | 'TRUSTED_ONLY';
export type CostBudgetInput = { points: number; windowSeconds: number };

const MAX_BUDGET_POINTS = 1_000_000_000;
const MAX_BUDGET_WINDOW_SECONDS = 31 * 24 * 3600;

/**
 * The GraphQL controls' columns (modules/key-controls) of a create or update. They control
 * keys, so only TENANT_API_KEY groups have them.
 */
function controlsData(type: GroupType, input: { operationPolicy?: OperationPolicy | null; costBudget?: CostBudgetInput | null }) {
  const data: { operationPolicy?: OperationPolicy; costBudgetPoints?: number | null; costBudgetWindowSeconds?: number | null } = {};
  if (input.operationPolicy != null) {
    if (type !== 'TENANT_API_KEY' && input.operationPolicy !== 'ANY') throw badInput('operationPolicy', 'only TENANT_API_KEY groups control which operations run');
    data.operationPolicy = input.operationPolicy;
  }
  if (input.costBudget === null) Object.assign(data, { costBudgetPoints: null, costBudgetWindowSeconds: null });
  else if (input.costBudget !== undefined) {
    if (type !== 'TENANT_API_KEY') throw badInput('costBudget', 'only TENANT_API_KEY groups have cost budgets');
    const { points, windowSeconds } = input.costBudget;
    if (!Number.isInteger(points) || points < 1 || points > MAX_BUDGET_POINTS) throw badInput('points', `must be an integer from 1 to ${MAX_BUDGET_POINTS}`);
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1 || windowSeconds > MAX_BUDGET_WINDOW_SECONDS) {
      throw badInput('windowSeconds', `must be an integer from 1 to ${MAX_BUDGET_WINDOW_SECONDS}`);
    }
    Object.assign(data, { costBudgetPoints: points, costBudgetWindowSeconds: windowSeconds });
  }
  return data;
}

/** The edit's fields that differ from the group's (permissions compared as sets). */
function withoutUnchanged<T extends Record<string, unknown>>(group: Record<string, unknown>, edit: T): Partial<T> {
  const same = (field: string, value: unknown) =>
    field === 'permissions'
      ? sameSet(value as readonly string[], toPermissions(group.permissions))
      : value === group[field];
  return Object.fromEntries(Object.entries(edit).filter(([field, value]) => !same(field, value))) as Partial<T>;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  return left.size === new Set(b).size && b.every((item) => left.has(item));
}

export function groupFilter(principal: Principal, args: { tenantId?: string | null; type?: GroupType | null }) {
  const actor = assertCan(principal, 'authorization_group:read');
  return {
    ...reach(actor).authorizationGroup,
    tenantId: actingTenantId(actor, args.tenantId),
    deletedAt: null,
    ...(args.type ? { type: args.type } : {}),
  };
}

/**
 * A group within the actor's reach (of `tenantId` when given), for the operation the caller
 * already authorized; NOT_FOUND otherwise, and for a deleted group too: it can be neither
 * edited nor assigned any more.
 */
export async function findGroupInTenant(actor: AuthenticatedPrincipal, id: string, tenantId?: string) {
  const group = await db.authorizationGroup.findFirst({
    where: { id, ...tenantReach(actor), ...(tenantId != null ? { tenantId } : {}), deletedAt: null },
  });
  if (!group) throw notFound('Authorization group');
  return group;
}

/**
 * A group the actor may change (its permissions, controls or trusted documents). Whoever
 * edits a group holds every permission it grants once edited (product.md §2): loosening the
 * controls or trusting documents of a group whose power one lacks would hand that power on,
 * while removing a permission one lacks, leaving only held ones, takes power away. ADMIN keys
 * act in every tenant, so what their group lets them do is a platform administrator's to
 * change, as only a platform administrator issues them (`assertMayIssueKeyRole`): another
 * administrator of the system tenant gets FORBIDDEN.
 */
export async function findEditableGroup(actor: AuthenticatedPrincipal, id: string, permissionsAfterEdit?: readonly Permission[]) {
  const group = await findGroupInTenant(actor, id);
  assertMayGrant(actor, permissionsAfterEdit ?? toPermissions(group.permissions));
  if (!isPlatformAdminSession(actor) && (await db.apiKey.count({ where: { authorizationGroupId: id, role: 'ADMIN', status: 'ACTIVE' } })) > 0) {
    throw forbidden('Only platform administrators may change a group that ADMIN keys use.');
  }
  return group;
}

export async function createAuthorizationGroup(principal: Principal, input: CreateGroupInput) {
  const actor = assertCan(principal, 'authorization_group:manage');
  const tenantId = actingTenantId(actor, input.tenantId);
  await findReachableTenant(actor, tenantId);
  const data = {
    tenantId,
    type: input.type,
    name: requireText('name', input.name, { min: 2, max: 200 }),
    description: optionalText('description', input.description, 1000) ?? '',
    permissions: validPermissions(input.permissions),
    ...controlsData(input.type, input),
  };
  assertMayGrant(actor, data.permissions);
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
  const actor = assertCan(principal, 'authorization_group:manage');
  const permissions = input.permissions != null ? validPermissions(input.permissions) : undefined;
  const group = await findEditableGroup(actor, id, permissions);
  const data = withoutUnchanged(group, {
    ...(input.name != null ? { name: requireText('name', input.name, { min: 2, max: 200 }) } : {}),
    ...(input.description != null ? { description: optionalText('description', input.description, 1000) } : {}),
    ...(permissions ? { permissions } : {}),
    ...controlsData(group.type, input),
  });
  // Nothing to change: nothing written or audited, and the keys' budget windows go on.
  if (Object.keys(data).length === 0) return group;
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

/**
 * Refused while ACTIVE keys or active (not deactivated) users use the group: their
 * permissions would vanish under them. Revoked keys and deactivated users keep showing the
 * group they had, so when any still point at it the group is soft-deleted (`deletedAt`):
 * the row stays for them, hidden from lists and no longer assignable, and its name stays
 * taken in the tenant. A group nothing points at is deleted outright.
 */
export async function deleteAuthorizationGroup(principal: Principal, id: string) {
  const actor = assertCan(principal, 'authorization_group:manage');
  const group = await findGroupInTenant(actor, id);
  await db.$transaction(async (tx) => {
    // Locked, then counted: a key or user given the group meanwhile is counted, or finds it gone (db/row-locks.ts).
    await lockForDeletion(tx, 'AuthorizationGroup', id);
    const activeKeys = await tx.apiKey.count({ where: { authorizationGroupId: id, status: 'ACTIVE' } });
    const activeUsers = await tx.user.count({ where: { authorizationGroupId: id, deactivatedAt: null } });
    if (activeKeys > 0 || activeUsers > 0) {
      throw badInput(
        'id',
        `the group is still used by ${activeKeys} active API key(s) and ${activeUsers} active user(s); move them to another group (or revoke, deactivate them) first`,
      );
    }
    const history = (await tx.apiKey.count({ where: { authorizationGroupId: id } })) + (await tx.user.count({ where: { authorizationGroupId: id } }));
    if (history > 0) await tx.authorizationGroup.update({ where: { id }, data: { deletedAt: new Date() } });
    else await tx.authorizationGroup.delete({ where: { id } });
    await recordAudit(tx, actor, {
      tenantId: group.tenantId,
      action: 'authorization_group.deleted',
      targetType: 'AuthorizationGroup',
      targetId: id,
      metadata: { name: group.name, keptForHistory: history > 0 },
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
  return `a group named "${name}" already exists in this tenant (a deleted group still used by revoked keys keeps its name)`;
}
