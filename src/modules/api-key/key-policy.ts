/**
 * Tenant key policies (`Tenant.keyPolicy`): how long a key may live, whether it must expire,
 * whether it must carry an IP allowlist, and what a leak report does to it. Tenant
 * administrators set their tenant's (`updateTenantKeyPolicy`), platform administrators any.
 *
 * Enforced when a secret is issued (createApiKey, rotateApiKey), so keys made before a
 * stricter policy keep working until they are rotated; `apiKeys(policyViolation: true)`
 * lists them.
 *
 * `maxLifetimeDays` bounds how far in the future a key's expiry may lie, counted from the
 * moment its secret is issued (creation or rotation); a listed key violates it when it never
 * expires or expires more than that many days from now.
 */
import { GraphQLError } from 'graphql';
import { assertCan } from '../../auth/access.js';
import type { Principal } from '../../auth/principal.js';
import { db } from '../../db.js';
import { badInput } from '../../errors.js';
import { recordAudit } from '../audit/audit.service.js';
import { findReachableTenant } from '../tenant/tenant.service.js';

export type LeakResponse = 'REVOKE' | 'NOTIFY';

export type KeyPolicy = {
  maxLifetimeDays: number | null;
  requireExpiry: boolean;
  requireIpAllowlist: boolean;
  leakResponse: LeakResponse;
};

export const MAX_POLICY_LIFETIME_DAYS = 3650;
const DAY_MS = 24 * 3600_000;

type TenantPolicyColumns = {
  keyPolicyMaxLifetimeDays: number | null;
  keyPolicyRequireExpiry: boolean;
  keyPolicyRequireIpAllowlist: boolean;
  keyPolicyLeakResponse: LeakResponse;
};

export function keyPolicyOf(tenant: TenantPolicyColumns): KeyPolicy {
  return {
    maxLifetimeDays: tenant.keyPolicyMaxLifetimeDays,
    requireExpiry: tenant.keyPolicyRequireExpiry,
    requireIpAllowlist: tenant.keyPolicyRequireIpAllowlist,
    leakResponse: tenant.keyPolicyLeakResponse,
  };
}

/** BAD_USER_INPUT naming the input field and the policy setting that refuses it. */
function policyViolation(field: string, policy: keyof KeyPolicy, message: string): GraphQLError {
  return new GraphQLError(`${field}: ${message} (tenant key policy ${policy})`, {
    extensions: { code: 'BAD_USER_INPUT', field, policy },
  });
}

/**
 * Checks a secret about to be issued against the tenant's policy. `expiryField` is the input
 * field that set (or should set) the expiry: expiresIn when given, else expiresAt.
 */
export function assertKeyPolicy(
  policy: KeyPolicy,
  key: { expiresAt: Date | null; ipAllowlist: readonly unknown[] },
  fields: { expiry: 'expiresAt' | 'expiresIn'; ipAllowlist: string; ipAllowlistHint?: string },
  now = Date.now(),
): void {
  if (policy.requireExpiry && !key.expiresAt) {
    throw policyViolation(fields.expiry, 'requireExpiry', 'keys of this tenant must expire: give expiresAt or expiresIn');
  }
  if (policy.maxLifetimeDays !== null) {
    const latest = now + policy.maxLifetimeDays * DAY_MS;
    if (!key.expiresAt || key.expiresAt.getTime() > latest) {
      throw policyViolation(fields.expiry, 'maxLifetimeDays', `keys of this tenant must expire within ${policy.maxLifetimeDays} days`);
    }
  }
  if (policy.requireIpAllowlist && key.ipAllowlist.length === 0) {
    throw policyViolation(fields.ipAllowlist, 'requireIpAllowlist', `keys of this tenant need an IP allowlist${fields.ipAllowlistHint ?? ''}`);
  }
}

/**
 * An edit may not take a key out of its tenant's policy: emptying the allowlist of a tenant
 * that requires one is refused, as issuing such a key is. (Expiry cannot be edited.)
 */
export function assertEditKeepsPolicy(policy: KeyPolicy, edit: { ipAllowlist?: readonly unknown[] }): void {
  if (policy.requireIpAllowlist && edit.ipAllowlist?.length === 0) {
    throw policyViolation('ipAllowlist', 'requireIpAllowlist', 'keys of this tenant need an IP allowlist; it cannot be emptied');
  }
}

/**
 * A Prisma `where` for the keys of a tenant that break its policy (`violating`) or keep it.
 * Empty allowlists are found by id (JSON equality is not portable between SQLite and
 * PostgreSQL): a tenant's keys are bounded by its apiKeyLimit.
 */
export async function policyViolationWhere(tenantId: string, violating: boolean, now = Date.now()) {
  const tenant = await db.tenant.findUniqueOrThrow({ where: { id: tenantId } });
  const policy = keyPolicyOf(tenant);
  const breaches: object[] = [];
  if (policy.requireExpiry || policy.maxLifetimeDays !== null) breaches.push({ expiresAt: null });
  if (policy.maxLifetimeDays !== null) breaches.push({ expiresAt: { gt: new Date(now + policy.maxLifetimeDays * DAY_MS) } });
  if (policy.requireIpAllowlist) {
    const keys = await db.apiKey.findMany({ where: { tenantId, status: 'ACTIVE' }, select: { id: true, ipAllowlist: true } });
    const open = keys.filter((k) => !Array.isArray(k.ipAllowlist) || k.ipAllowlist.length === 0).map((k) => k.id);
    breaches.push({ id: { in: open } });
  }
  const breaking = breaches.length > 0 ? { OR: breaches } : { id: { in: [] as string[] } };
  return violating ? breaking : { NOT: breaking };
}

export type UpdateTenantKeyPolicyInput = {
  maxLifetimeDays?: number | null;
  requireExpiry?: boolean | null;
  requireIpAllowlist?: boolean | null;
  leakResponse?: LeakResponse | null;
};

/**
 * Omitted fields stay; `maxLifetimeDays: null` given explicitly removes the maximum.
 * Tenant administrators for their tenant, platform administrators for any (access.ts).
 */
export async function updateTenantKeyPolicy(principal: Principal, tenantId: string, input: UpdateTenantKeyPolicyInput) {
  const actor = assertCan(principal, 'tenant:key_policy');
  // Another tenant's id is NOT_FOUND (existence never leaks), like every id lookup.
  const tenant = await findReachableTenant(actor, tenantId);
  assertCan(actor, 'tenant:key_policy', { what: 'Tenant', tenantId: tenant.id });
  const maxLifetimeDays = input.maxLifetimeDays;
  if (maxLifetimeDays != null && (!Number.isInteger(maxLifetimeDays) || maxLifetimeDays < 1 || maxLifetimeDays > MAX_POLICY_LIFETIME_DAYS)) {
    throw badInput('maxLifetimeDays', `must be a whole number of days from 1 to ${MAX_POLICY_LIFETIME_DAYS}, or null for no maximum`);
  }
  const data = {
    ...(maxLifetimeDays !== undefined ? { keyPolicyMaxLifetimeDays: maxLifetimeDays } : {}),
    ...(input.requireExpiry != null ? { keyPolicyRequireExpiry: input.requireExpiry } : {}),
    ...(input.requireIpAllowlist != null ? { keyPolicyRequireIpAllowlist: input.requireIpAllowlist } : {}),
    ...(input.leakResponse != null ? { keyPolicyLeakResponse: input.leakResponse } : {}),
  };
  return db.$transaction(async (tx) => {
    const updated = await tx.tenant.update({ where: { id: tenant.id }, data });
    await recordAudit(tx, actor, {
      tenantId: tenant.id,
      action: 'tenant.key_policy_updated',
      targetType: 'Tenant',
      targetId: tenant.id,
      metadata: { before: keyPolicyOf(tenant), after: keyPolicyOf(updated) },
    });
    return updated;
  });
}
