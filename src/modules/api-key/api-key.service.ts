/**
 * API keys: create (secret shown once), edit, rotate, revoke, list. The rules of product.md §2.
 *
 * The tenant limit holds under concurrency because the check and the count are one
 * statement: `UPDATE Tenant SET activeApiKeyCount = activeApiKeyCount + 1 WHERE id = ? AND
 * activeApiKeyCount < apiKeyLimit`, in the same transaction as the insert. PostgreSQL's row
 * lock and SQLite's single writer make that atomic; a count-then-insert would not be.
 */
import {
  actingTenantId,
  assertCan,
  assertMayGrant,
  assertMayIssueKeyRole,
  assertWithinScope,
  reach,
  tenantReach,
} from '../../auth/access.js';
import { publishKeyChange } from '../../auth/invalidation.js';
import { toPermissions } from '../../auth/permissions.js';
import type { AuthenticatedPrincipal, Principal } from '../../auth/principal.js';
import { getConfig } from '../../config.js';
import { db, type Tx } from '../../db.js';
import { stillAssignable } from '../../db/row-locks.js';
import { badInput, keyLimitReached, notFound } from '../../errors.js';
import { parseAddressRange } from '../../lib/ip.js';
import { optionalGracePeriod, optionalText, requireText } from '../../lib/validate.js';
import { recordAudit } from '../audit/audit.service.js';
import { announceKeyEvent } from '../webhook/events.js';
import { findReachableTenant } from '../tenant/tenant.service.js';
import { digestSecret, generateKey } from '../../auth/credentials.js';
import { assertEditKeepsPolicy, assertKeyPolicy, keyPolicyOf, policyViolationWhere } from './key-policy.js';

export const EXPIRES_IN_DAYS = { NEVER: null, DAYS_7: 7, DAYS_30: 30, DAYS_60: 60, DAYS_90: 90 } as const;
export type ExpiresIn = keyof typeof EXPIRES_IN_DAYS;
export type ExpirationState = 'VALID' | 'EXPIRING_SOON' | 'EXPIRED';
export const MAX_ALLOWLIST_ENTRIES = 100;

export type CreateApiKeyInput = {
  tenantId?: string | null;
  name: string;
  description?: string | null;
  authorizationGroupId: string;
  role?: 'API_USER' | 'ADMIN' | null;
  expiresAt?: Date | null;
  expiresIn?: ExpiresIn | null;
  ipAllowlist?: readonly string[] | null;
  organizationId?: string | null;
  projectAccess?: 'ALL' | 'SELECTED' | null;
  projectIds?: readonly string[] | null;
};

export type UpdateApiKeyInput = {
  name?: string | null;
  description?: string | null;
  authorizationGroupId?: string | null;
  ipAllowlist?: readonly string[] | null;
};

/**
 * A new key. Key management needs a signed-in session (a leaked key must not mint keys);
 * the actor must hold every permission of the key's group, and only a platform
 * administrator issues an ADMIN key (it acts in every tenant).
 */
export async function createApiKey(principal: Principal, input: CreateApiKeyInput) {
  const actor = assertCan(principal, 'api_key:manage');
  const tenantId = actingTenantId(actor, input.tenantId);
  const tenant = await findReachableTenant(actor, tenantId);
  const data = await validateNewKey(input, tenant);
  assertKeyPolicy(keyPolicyOf(tenant), data.fields, { expiry: input.expiresIn ? 'expiresIn' : 'expiresAt', ipAllowlist: 'ipAllowlist' });
  assertMayIssueKeyRole(actor, data.fields.role);
  assertMayGrant(actor, data.groupPermissions);
  const config = getConfig();
  const secret = generateKey(config.keyFormat, tenantId);
  const prefix = secret.slice(0, config.keyPrefixLength);

  const apiKey = await db.$transaction(async (tx) => {
    await assertStillAssignable(tx, data.fields, data.projectIds);
    await reserveKeySlot(tx, tenant.id, tenant.apiKeyLimit);
    const created = await tx.apiKey.create({
      data: {
        ...data.fields,
        tenantId,
        prefix,
        secretDigest: digestSecret(secret),
        createdById: actor.kind === 'SESSION' ? actor.user.id : null,
        projects: { create: data.projectIds.map((projectId) => ({ projectId })) },
      },
    });
    await audit(tx, actor, created, 'api_key.created', { name: created.name, role: created.role });
    await announceKeyEvent(tx, created, 'api_key.created'); // webhook event, same transaction
    return created;
  });
  return { apiKey, secret };
}

/**
 * What the key is given, read again inside its transaction (db/row-locks.ts): a group,
 * organization or project deleted since it was validated is refused as one that never was,
 * rather than leaving an active key in a deleted group or failing on a foreign key.
 */
async function assertStillAssignable(tx: Tx, fields: { authorizationGroupId?: string; organizationId?: string | null }, projectIds: readonly string[] = []) {
  if (fields.authorizationGroupId && !(await stillAssignable(tx, 'AuthorizationGroup', fields.authorizationGroupId))) {
    throw badInput('authorizationGroupId', 'no such authorization group in this tenant');
  }
  if (fields.organizationId && !(await stillAssignable(tx, 'Organization', fields.organizationId))) {
    throw badInput('organizationId', 'no such organization in this tenant');
  }
  for (const projectId of projectIds) {
    if (!(await stillAssignable(tx, 'Project', projectId))) throw badInput('projectIds', `no such project in this tenant: ${projectId}`);
  }
}

/** Takes one of the tenant's active-key slots, atomically, or fails with KEY_LIMIT_REACHED. */
async function reserveKeySlot(tx: Tx, tenantId: string, limit: number) {
  const { count } = await tx.tenant.updateMany({
    where: { id: tenantId, activeApiKeyCount: { lt: tx.tenant.fields.apiKeyLimit } },
    data: { activeApiKeyCount: { increment: 1 } },
  });
  if (count === 0) {
    const current = await tx.tenant.findUnique({ where: { id: tenantId }, select: { apiKeyLimit: true, activeApiKeyCount: true } });
    throw keyLimitReached(current?.apiKeyLimit ?? limit, current?.activeApiKeyCount ?? limit);
  }
}

async function validateNewKey(input: CreateApiKeyInput, tenant: { id: string; isSystem: boolean }) {
  const role = input.role ?? 'API_USER';
  if (role === 'ADMIN' && !tenant.isSystem) throw badInput('role', 'ADMIN keys exist only in the system tenant');
  const name = requireText('name', input.name, { min: 2, max: 200 });
  const description = optionalText('description', input.description, 1000) ?? '';
  const group = await validGroup(input.authorizationGroupId, tenant.id);
  const expiresAt = validExpiry(input.expiresAt, input.expiresIn);
  const ipAllowlist = validAllowlist(input.ipAllowlist ?? []);
  const organizationId = input.organizationId != null ? await validOrganization(input.organizationId, tenant.id) : null;
  const projectAccess = input.projectAccess ?? 'ALL';
  const projectIds = await validProjects(projectAccess, input.projectIds ?? [], tenant.id, organizationId);
  return {
    fields: { name, description, role, authorizationGroupId: group.id, expiresAt, ipAllowlist, organizationId, projectAccess },
    projectIds,
    groupPermissions: toPermissions(group.permissions),
  };
}

async function validGroup(id: string, tenantId: string) {
  // A deleted group (kept for its revoked keys) can no longer be given to a key.
  const group = await db.authorizationGroup.findFirst({ where: { id, tenantId, deletedAt: null } });
  if (!group) throw badInput('authorizationGroupId', 'no such authorization group in this tenant');
  if (group.type !== 'TENANT_API_KEY') throw badInput('authorizationGroupId', 'must be a group of type TENANT_API_KEY');
  return group;
}

function validExpiry(expiresAt: Date | null | undefined, expiresIn: ExpiresIn | null | undefined): Date | null {
  if (expiresAt && expiresIn) throw badInput('expiresIn', 'give either expiresAt or expiresIn, not both');
  if (expiresAt) {
    if (expiresAt.getTime() <= Date.now()) throw badInput('expiresAt', 'must be in the future');
    return expiresAt;
  }
  const days = expiresIn ? EXPIRES_IN_DAYS[expiresIn] : null;
  return days === null ? null : new Date(Date.now() + days * 24 * 3600_000);
}

/**
 * Each entry parsed by ipaddr.js; the first bad one is named in the error. A blank entry is
 * refused too, not dropped: dropping it from `[""]` would leave an empty list, which opens
 * the key to every address.
 */
function validAllowlist(entries: readonly string[]): string[] {
  if (entries.length > MAX_ALLOWLIST_ENTRIES) throw badInput('ipAllowlist', `at most ${MAX_ALLOWLIST_ENTRIES} entries`);
  const cleaned = entries.map((e) => e.trim());
  const blank = cleaned.indexOf('');
  if (blank >= 0) throw badInput('ipAllowlist', `entry ${blank + 1} is empty (an empty list, not an empty entry, allows every address)`);
  for (const entry of cleaned) {
    try {
      parseAddressRange(entry);
    } catch (error) {
      throw badInput('ipAllowlist', (error as Error).message);
    }
  }
  return [...new Set(cleaned)];
}

async function validOrganization(id: string, tenantId: string): Promise<string> {
  const organization = await db.organization.findFirst({ where: { id, tenantId } });
  if (!organization) throw badInput('organizationId', 'no such organization in this tenant');
  return organization.id;
}

async function validProjects(access: 'ALL' | 'SELECTED', ids: readonly string[], tenantId: string, organizationId: string | null) {
  if (access === 'ALL') {
    if (ids.length > 0) throw badInput('projectIds', 'only allowed with projectAccess SELECTED');
    return [];
  }
  const unique = [...new Set(ids)];
  if (unique.length === 0) throw badInput('projectIds', 'select at least one project, or use projectAccess ALL');
  const found = await db.project.findMany({
    where: { id: { in: unique }, tenantId, ...(organizationId ? { organizationId } : {}) },
    select: { id: true },
  });
  const missing = unique.filter((id) => !found.some((p) => p.id === id));
  if (missing.length > 0) {
    const scope = organizationId ? "the key's organization" : 'this tenant';
    throw badInput('projectIds', `no such project in ${scope}: ${missing.join(', ')}`);
  }
  return unique;
}

/**
 * A key the principal may manage; another tenant's is NOT_FOUND. Editing or rotating a key
 * hands its power to the actor (a rotation returns its secret), so the actor must hold every
 * permission of the key's group, and only a platform administrator edits or rotates an ADMIN
 * key (its power reaches every tenant). Revoking, or ending a rotation grace, only takes power
 * away: anyone who manages the tenant's keys may, ADMIN keys included (a leaked key must die fast).
 */
async function findManagedKey(principal: Principal, id: string, purpose: 'edit' | 'rotate' | 'revoke') {
  const actor = assertCan(principal, 'api_key:manage');
  const key = await db.apiKey.findFirst({
    where: { id, ...tenantReach(actor) },
    include: { authorizationGroup: { select: { permissions: true } } },
  });
  if (!key) throw notFound('API key');
  if (purpose !== 'revoke') {
    assertMayIssueKeyRole(actor, key.role, purpose);
    assertMayGrant(actor, toPermissions(key.authorizationGroup.permissions));
  }
  return { actor, key };
}

export async function updateApiKey(principal: Principal, id: string, input: UpdateApiKeyInput) {
  const { actor, key } = await findManagedKey(principal, id, 'edit');
  if (key.status === 'REVOKED') throw badInput('id', 'the key is revoked; revoked keys cannot be edited');
  const data = {
    ...(input.name != null ? { name: requireText('name', input.name, { min: 2, max: 200 }) } : {}),
    ...(input.description != null ? { description: optionalText('description', input.description, 1000) } : {}),
    ...(input.authorizationGroupId != null ? { authorizationGroupId: await grantableGroup(actor, input.authorizationGroupId, key.tenantId) } : {}),
    ...(input.ipAllowlist != null ? { ipAllowlist: validAllowlist(input.ipAllowlist) } : {}),
  };
  if (Object.keys(data).length === 0) return key; // nothing to change: nothing written, nothing audited
  if (data.ipAllowlist) assertEditKeepsPolicy(keyPolicyOf(await db.tenant.findUniqueOrThrow({ where: { id: key.tenantId } })), data);
  const updated = await db.$transaction(async (tx) => {
    await assertStillAssignable(tx, data);
    // Only while ACTIVE: a revoke that committed since the check above wins (revoked keys are never edited).
    const { count } = await tx.apiKey.updateMany({ where: { id, status: 'ACTIVE' }, data });
    if (count === 0) throw badInput('id', 'the key is revoked; revoked keys cannot be edited');
    const result = await tx.apiKey.findUniqueOrThrow({ where: { id } });
    await audit(tx, actor, result, 'api_key.updated', { changed: Object.keys(data) });
    return result;
  });
  publishKeyChange({ keyId: id });
  return updated;
}

/** A group the actor may give to a key: of the key's tenant, and holding nothing the actor lacks. */
async function grantableGroup(actor: AuthenticatedPrincipal, id: string, tenantId: string): Promise<string> {
  const group = await validGroup(id, tenantId);
  assertMayGrant(actor, toPermissions(group.permissions));
  return group.id;
}

export type RotateApiKeyInput = { expiresAt?: Date | null; expiresIn?: ExpiresIn | null; gracePeriodMinutes?: number | null };

/**
 * A new secret for the same key. Without `gracePeriodMinutes` the old one stops working the
 * moment this returns; with it (1–1440) the old one keeps working until
 * `previousSecretExpiresAt`, so clients can move over without an outage. Only the last
 * replaced secret has a grace: rotating again ends the earlier one at once. Rotation is also
 * how a key's expiry changes (an edit cannot): `expiresAt` or `expiresIn` set a new one with
 * the rules of creation, counted from now; without either the expiry stays. The tenant's key
 * policy applies to the key as rotated.
 */
export async function rotateApiKey(principal: Principal, id: string, input: RotateApiKeyInput = {}) {
  const { actor, key } = await findManagedKey(principal, id, 'rotate');
  if (key.status === 'REVOKED') throw badInput('id', 'the key is revoked; revoked keys cannot be rotated');
  if (key.expiresAt && key.expiresAt.getTime() <= Date.now()) throw badInput('id', 'the key has expired; create a new key instead');
  const grace = optionalGracePeriod(input.gracePeriodMinutes);
  const newExpiry = input.expiresAt || input.expiresIn ? { expiresAt: validExpiry(input.expiresAt, input.expiresIn) } : {};
  const tenant = await db.tenant.findUniqueOrThrow({ where: { id: key.tenantId } });
  assertKeyPolicy(
    keyPolicyOf(tenant),
    { expiresAt: 'expiresAt' in newExpiry ? (newExpiry.expiresAt ?? null) : key.expiresAt, ipAllowlist: Array.isArray(key.ipAllowlist) ? key.ipAllowlist : [] },
    { expiry: input.expiresIn ? 'expiresIn' : 'expiresAt', ipAllowlist: 'ipAllowlist', ipAllowlistHint: ': set one with updateApiKey, then rotate' },
  );
  const now = new Date();
  const previousSecret = grace
    ? { previousSecretDigest: key.secretDigest, previousSecretExpiresAt: new Date(now.getTime() + grace * 60_000), previousSecretLastUsedAt: null }
    : { previousSecretDigest: null, previousSecretExpiresAt: null, previousSecretLastUsedAt: null };
  const config = getConfig();
  const secret = generateKey(config.keyFormat, key.tenantId);
  const apiKey = await db.$transaction(async (tx) => {
    // Only the secret read above is replaced: of two rotations at once, one wins and the other
    // is refused, instead of both returning a secret of which only the last written works.
    const { count } = await tx.apiKey.updateMany({
      where: { id, status: 'ACTIVE', secretDigest: key.secretDigest },
      data: { secretDigest: digestSecret(secret), prefix: secret.slice(0, config.keyPrefixLength), rotatedAt: now, ...newExpiry, ...previousSecret },
    });
    if (count === 0) throw await rotationLost(tx, id);
    const rotated = await tx.apiKey.findUniqueOrThrow({ where: { id } });
    await audit(tx, actor, rotated, 'api_key.rotated', {
      previousPrefix: key.prefix,
      ...(grace ? { gracePeriodMinutes: grace, previousSecretExpiresAt: previousSecret.previousSecretExpiresAt?.toISOString() } : {}),
      ...('expiresAt' in newExpiry ? { expiresAt: rotated.expiresAt?.toISOString() ?? null, previousExpiresAt: key.expiresAt?.toISOString() ?? null } : {}),
    });
    await announceKeyEvent(tx, rotated, 'api_key.rotated'); // webhook event, same transaction
    return rotated;
  });
  publishKeyChange({ keyId: id });
  return { apiKey, secret };
}

/** Why a rotation's write matched no row: the key was revoked, or rotated by another request meanwhile. */
async function rotationLost(tx: Tx, id: string) {
  const current = await tx.apiKey.findUnique({ where: { id }, select: { status: true } });
  if (current?.status !== 'ACTIVE') return badInput('id', 'the key is revoked; revoked keys cannot be rotated');
  return badInput('id', 'the key was rotated by another request at the same time; the secret that request returned is the key’s now (rotate again for another)');
}

/**
 * Ends a rotation grace at once: the previous secret stops working, on every instance within
 * the same bound as a revoke (the cache invalidation, see invalidation-pg.ts). Like a
 * revoke it only takes power away, so anyone who manages keys may do it.
 */
export async function endRotationGrace(principal: Principal, id: string) {
  const { actor, key } = await findManagedKey(principal, id, 'revoke');
  const now = new Date();
  if (!key.previousSecretDigest || !key.previousSecretExpiresAt || key.previousSecretExpiresAt <= now) {
    throw badInput('id', 'the key has no rotation grace in progress');
  }
  const ended = await db.$transaction(async (tx) => {
    const result = await tx.apiKey.update({ where: { id }, data: { previousSecretDigest: null, previousSecretExpiresAt: now } });
    await audit(tx, actor, result, 'api_key.rotation_grace_ended', { plannedEnd: key.previousSecretExpiresAt?.toISOString() });
    return result;
  });
  publishKeyChange({ keyId: id });
  return ended;
}

/** Immediate, permanent and soft: the row stays, listed as REVOKED. Ends a rotation grace too. */
export async function revokeApiKey(principal: Principal, id: string) {
  const { actor, key } = await findManagedKey(principal, id, 'revoke');
  if (key.status === 'REVOKED') throw badInput('id', 'the key is already revoked');
  const revoked = await db.$transaction(async (tx) => {
    // Conditional on ACTIVE so two concurrent revokes free the tenant's slot only once.
    const { count } = await tx.apiKey.updateMany({
      where: { id, status: 'ACTIVE' },
      data: {
        status: 'REVOKED',
        revokedAt: new Date(),
        revokedById: actor.kind === 'SESSION' ? actor.user.id : null,
        ...endedGrace(key),
      },
    });
    if (count === 0) throw badInput('id', 'the key is already revoked');
    await tx.tenant.update({ where: { id: key.tenantId }, data: { activeApiKeyCount: { decrement: 1 } } });
    const result = await tx.apiKey.findUniqueOrThrow({ where: { id } });
    await audit(tx, actor, result, 'api_key.revoked', { name: result.name });
    await announceKeyEvent(tx, result, 'api_key.revoked'); // webhook event, same transaction
    return result;
  });
  publishKeyChange({ keyId: id });
  return revoked;
}

/** The columns that end a rotation grace in progress (none when there is none). */
export function endedGrace(key: { previousSecretDigest: string | null; previousSecretExpiresAt: Date | null }, now = new Date()) {
  if (!key.previousSecretDigest) return {};
  const plannedEnd = key.previousSecretExpiresAt;
  return { previousSecretDigest: null, previousSecretExpiresAt: plannedEnd && plannedEnd < now ? plannedEnd : now };
}

/** The `where` of a key listing: one tenant, the caller's organization if bound, the filters. */
export function apiKeyFilter(
  principal: Principal,
  args: { tenantId?: string | null; status?: readonly ('ACTIVE' | 'REVOKED')[] | null; expirationState?: readonly ExpirationState[] | null },
  now = new Date(),
) {
  const actor = assertCan(principal, 'api_key:read');
  const status = args.status?.length ? [...args.status] : ['ACTIVE' as const];
  return {
    ...reach(actor).apiKey,
    tenantId: actingTenantId(actor, args.tenantId),
    status: { in: status },
    ...(args.expirationState?.length ? { OR: args.expirationState.map((s) => expirationWhere(s, now)) } : {}),
  };
}

type KeyListArgs = Parameters<typeof apiKeyFilter>[1] & { policyViolation?: boolean | null };

/** apiKeyFilter plus `policyViolation`: keys that break (true) or keep (false) their tenant's key policy. */
export async function apiKeyListFilter(principal: Principal, args: KeyListArgs) {
  const where = apiKeyFilter(principal, args);
  if (args.policyViolation == null) return where;
  return { ...where, AND: [await policyViolationWhere(where.tenantId, args.policyViolation)] };
}

/**
 * `totalCount` of a key listing. The default listing (a whole tenant's ACTIVE keys) is the
 * tenant's maintained `activeApiKeyCount`, one row read however many keys it has; narrower
 * listings (other statuses, expiration states, an organization-bound caller) count rows.
 */
export async function apiKeyCount(principal: Principal, args: KeyListArgs): Promise<number> {
  const where = await apiKeyListFilter(principal, args);
  const wholeTenantActive =
    args.policyViolation == null &&
    (!args.status?.length || (args.status.length === 1 && args.status[0] === 'ACTIVE')) &&
    !args.expirationState?.length &&
    !('organizationId' in where);
  if (!wholeTenantActive) return db.apiKey.count({ where });
  const tenant = await db.tenant.findUnique({ where: { id: where.tenantId }, select: { activeApiKeyCount: true } });
  return tenant?.activeApiKeyCount ?? 0;
}

function expirationWhere(state: ExpirationState, now: Date) {
  const soon = new Date(now.getTime() + getConfig().expiringSoonMs);
  switch (state) {
    case 'EXPIRED':
      return { expiresAt: { lte: now } };
    case 'EXPIRING_SOON':
      return { expiresAt: { gt: now, lte: soon } };
    case 'VALID':
      return { OR: [{ expiresAt: null }, { expiresAt: { gt: soon } }] };
  }
}

export function expirationState(expiresAt: Date | null, now = Date.now()): ExpirationState {
  if (!expiresAt) return 'VALID';
  if (expiresAt.getTime() <= now) return 'EXPIRED';
  return expiresAt.getTime() <= now + getConfig().expiringSoonMs ? 'EXPIRING_SOON' : 'VALID';
}

export async function findReadableKey(principal: Principal, id: string) {
  const actor = assertCan(principal, 'api_key:read');
  const key = await db.apiKey.findFirst({ where: { id, ...tenantReach(actor) } });
  if (!key) throw notFound('API key');
  // Inside its tenant a key outside the caller's organization is refused like any other
  // organization's resource (product.md §2, Scope); NOT_FOUND is for other tenants.
  assertWithinScope(actor, { what: 'API key', tenantId: key.tenantId, organizationId: key.organizationId });
  return key;
}

export async function apiKeyUsage(principal: Principal, tenantId?: string | null) {
  const actor = assertCan(principal, 'api_key:read');
  const tenant = await findReachableTenant(actor, actingTenantId(actor, tenantId));
  return { active: tenant.activeApiKeyCount, limit: tenant.apiKeyLimit };
}

/** Audit metadata carries the key's id and prefix, never its secret or digest. */
function audit(
  tx: Tx,
  actor: AuthenticatedPrincipal,
  key: { id: string; tenantId: string; organizationId: string | null; prefix: string },
  action: string,
  extra: Record<string, unknown>,
) {
  return recordAudit(tx, actor, { tenantId: key.tenantId, organizationId: key.organizationId, action, targetType: 'ApiKey', targetId: key.id, metadata: { prefix: key.prefix, ...extra } });
}
