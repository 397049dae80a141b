import { actingTenantId, assertOrganizationAccess, withinReach, requireAuthenticated, requireTenantAdmin, type Principal } from '../../auth/principal.js';
import { db } from '../../db.js';
import { writeUnique, requireText, slugFor } from '../../lib/validate.js';
import { recordAudit } from '../audit/audit.service.js';
import { findReachableTenant } from '../tenant/tenant.service.js';

export type CreateOrganizationInput = { tenantId?: string | null; name: string; slug?: string | null };

/** The organizations visible to the principal: an organization-bound key sees only its own. */
export function organizationFilter(principal: Principal, tenantId: string | null | undefined) {
  const actor = requireAuthenticated(principal);
  const boundTo = actor.kind === 'API_KEY' ? actor.apiKey.organizationId : null;
  return { tenantId: actingTenantId(actor, tenantId), ...(boundTo ? { id: boundTo } : {}) };
}

/** An organization the principal may act on; another tenant's is NOT_FOUND. */
export async function findReachableOrganization(principal: Principal, id: string) {
  const organization = withinReach(principal, await db.organization.findUnique({ where: { id } }), 'Organization');
  assertOrganizationAccess(principal, organization.id);
  return organization;
}

export async function createOrganization(principal: Principal, input: CreateOrganizationInput) {
  const actor = requireTenantAdmin(principal);
  const tenantId = actingTenantId(actor, input.tenantId);
  await findReachableTenant(actor, tenantId);
  const name = requireText('name', input.name, { min: 2, max: 200 });
  const slug = slugFor('slug', input.slug, name);
  return writeUnique('slug', `an organization with slug "${slug}" already exists in this tenant`, () =>
    db.$transaction(async (tx) => {
      const organization = await tx.organization.create({ data: { tenantId, name, slug } });
      await recordAudit(tx, actor, {
        tenantId,
        action: 'organization.created',
        targetType: 'Organization',
        targetId: organization.id,
        metadata: { name, slug },
      });
      return organization;
    }),
  );
}
