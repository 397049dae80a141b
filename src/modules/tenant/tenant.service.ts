/** Tenants: the isolation boundary. Only platform administrators create them or change limits. */
import { assertCan, reach, requireAuthenticated } from '../../auth/access.js';
import { publishKeyChange } from '../../auth/invalidation.js';
import type { Principal } from '../../auth/principal.js';
import { db } from '../../db.js';
import { badInput, notFound } from '../../errors.js';
import { writeUnique, requireText, slugFor } from '../../lib/validate.js';
import { recordAudit } from '../audit/audit.service.js';

export const MAX_API_KEY_LIMIT = 1_000_000;

export type CreateTenantInput = { name: string; slug?: string | null; apiKeyLimit?: number | null };
export type UpdateTenantInput = { name?: string | null; apiKeyLimit?: number | null };

/** A tenant the principal may see, or NOT_FOUND: another tenant's existence never leaks. */
export async function findReachableTenant(principal: Principal, id: string) {
  const tenant = await db.tenant.findFirst({ where: { AND: [{ id }, reach(requireAuthenticated(principal)).tenant] } });
  if (!tenant) throw notFound('Tenant');
  return tenant;
}

/** The tenants listed to the principal: every one for cross-tenant principals, else its own. */
export function tenantFilter(principal: Principal) {
  return reach(requireAuthenticated(principal)).tenant;
}

/**
 * Creating tenants and changing their limits changes who may do what, like user and key
 * administration: a platform administrator's session only, never an ADMIN key.
 */
export async function createTenant(principal: Principal, input: CreateTenantInput) {
  const actor = assertCan(principal, 'tenant:administer');
  const name = requireText('name', input.name, { min: 2, max: 200 });
  const slug = slugFor('slug', input.slug, name);
  const apiKeyLimit = validLimit(input.apiKeyLimit ?? 10);
  return writeUnique('slug', `a tenant with slug "${slug}" already exists`, () =>
    db.$transaction(async (tx) => {
      const tenant = await tx.tenant.create({ data: { name, slug, apiKeyLimit } });
      await recordAudit(tx, actor, {
        tenantId: tenant.id,
        action: 'tenant.created',
        targetType: 'Tenant',
        targetId: tenant.id,
        metadata: { name, slug, apiKeyLimit },
      });
      return tenant;
    }),
  );
}

export async function updateTenant(principal: Principal, id: string, input: UpdateTenantInput) {
  const actor = assertCan(principal, 'tenant:administer');
  const current = await findReachableTenant(actor, id);
  const name = input.name != null ? requireText('name', input.name, { min: 2, max: 200 }) : current.name;
  const apiKeyLimit = input.apiKeyLimit != null ? validLimit(input.apiKeyLimit) : current.apiKeyLimit;
  const data = { ...(name !== current.name ? { name } : {}), ...(apiKeyLimit !== current.apiKeyLimit ? { apiKeyLimit } : {}) };
  // Nothing to change: nothing written, nothing audited.
  if (Object.keys(data).length === 0) return current;
  const tenant = await db.$transaction(async (tx) => {
    const updated = await tx.tenant.update({ where: { id }, data });
    await recordAudit(tx, actor, { tenantId: id, action: 'tenant.updated', targetType: 'Tenant', targetId: id, metadata: data });
    return updated;
  });
  publishKeyChange({ tenantId: id });
  return tenant;
}

function validLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_API_KEY_LIMIT) {
    throw badInput('apiKeyLimit', `must be a whole number from 0 to ${MAX_API_KEY_LIMIT}`);
  }
  return limit;
}
