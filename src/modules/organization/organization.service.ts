/** Organizations: the first level inside a tenant. Tenant administrators manage them. */
import { actingTenantId, assertCan, assertWithinScope, reach, requireAuthenticated, tenantReach } from '../../auth/access.js';
import type { Principal } from '../../auth/principal.js';
import { db } from '../../db.js';
import { notFound } from '../../errors.js';
import { writeUnique, requireText, slugFor } from '../../lib/validate.js';
import { recordAudit } from '../audit/audit.service.js';
import { findReachableTenant } from '../tenant/tenant.service.js';

export type CreateOrganizationInput = { tenantId?: string | null; name: string; slug?: string | null };

/** The organizations visible to the principal: an organization-bound key sees only its own. */
export function organizationFilter(principal: Principal, tenantId: string | null | undefined) {
  const actor = requireAuthenticated(principal);
  return { ...reach(actor).organization, tenantId: actingTenantId(actor, tenantId) };
}

/**
 * An organization in the principal's tenant (another tenant's is NOT_FOUND); one outside an
 * organization-bound key's own is FORBIDDEN.
 */
export async function findReachableOrganization(principal: Principal, id: string) {
  const actor = requireAuthenticated(principal);
  const organization = await db.organization.findFirst({ where: { id, ...tenantReach(actor) } });
  if (!organization) throw notFound('Organization');
  assertWithinScope(actor, { what: 'Organization', tenantId: organization.tenantId, organizationId: organization.id });
  return organization;
}

export async function createOrganization(principal: Principal, input: CreateOrganizationInput) {
  const actor = assertCan(principal, 'organization:manage');
  const tenant = await findReachableTenant(actor, actingTenantId(actor, input.tenantId));
  const name = requireText('name', input.name, { min: 2, max: 200 });
  const slug = slugFor('slug', input.slug, name);
  return writeUnique('slug', `an organization with slug "${slug}" already exists in this tenant`, () =>
    db.$transaction(async (tx) => {
      const organization = await tx.organization.create({ data: { tenantId: tenant.id, name, slug } });
      await recordAudit(tx, actor, {
        tenantId: tenant.id,
        organizationId: organization.id,
        action: 'organization.created',
        targetType: 'Organization',
        targetId: organization.id,
        metadata: { name, slug },
      });
      return organization;
    }),
  );
}
