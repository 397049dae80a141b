/** Organizations: the first level inside a tenant. Tenant administrators manage them. */
import { actingTenantId, assertCan, assertWithinScope, reach, requireAuthenticated, tenantReach } from '../../auth/access.js';
import { publishKeyChange } from '../../auth/invalidation.js';
import type { Principal } from '../../auth/principal.js';
import { db } from '../../db.js';
import { lockForDeletion } from '../../db/row-locks.js';
import { badInput, notFound } from '../../errors.js';
import { renameChanges, writeUnique, requireText, slugFor } from '../../lib/validate.js';
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

export type UpdateOrganizationInput = { name?: string | null; slug?: string | null };

/** An organization a tenant administrator of its tenant may manage; another tenant's is NOT_FOUND. */
async function findManagedOrganization(principal: Principal, id: string) {
  const actor = assertCan(principal, 'organization:manage');
  const organization = await db.organization.findFirst({ where: { id, ...tenantReach(actor) } });
  if (!organization) throw notFound('Organization');
  assertCan(actor, 'organization:manage', { what: 'Organization', tenantId: organization.tenantId, organizationId: organization.id });
  return { actor, organization };
}

export async function updateOrganization(principal: Principal, id: string, input: UpdateOrganizationInput) {
  const { actor, organization } = await findManagedOrganization(principal, id);
  const data = renameChanges(input);
  // Nothing to change: nothing written, nothing audited.
  if (Object.keys(data).length === 0) return organization;
  return writeUnique('slug', `an organization with slug "${data.slug ?? organization.slug}" already exists in this tenant`, () =>
    db.$transaction(async (tx) => {
      const updated = await tx.organization.update({ where: { id }, data });
      await recordAudit(tx, actor, {
        tenantId: organization.tenantId,
        organizationId: id,
        action: 'organization.updated',
        targetType: 'Organization',
        targetId: id,
        metadata: data,
      });
      return updated;
    }),
  );
}

/**
 * Deletes the organization with its workspaces, projects, workflows, runs and deliveries.
 *
 * Keys bound to it: refused while any ACTIVE key is bound (BAD_USER_INPUT naming how many),
 * rather than revoking them along the way. A key bound to an organization is an integration
 * that somebody runs; deleting an organization should not silently cut it off, and it must
 * never leave the key bound to nothing, which would read as tenant-wide (the foreign key is
 * RESTRICT, so the database refuses that too). The administrator revokes the keys first, a
 * deliberate and audited act. REVOKED keys can never work again (revocation is permanent, a
 * revoked key cannot be edited or rotated), so they are unbound and stay listed, and their
 * former organization is recorded in this event's metadata.
 *
 * Keys with SELECTED projects in it lose those projects; a key whose selection becomes empty
 * stays SELECTED and reaches no project (it never falls back to ALL).
 */
export async function deleteOrganization(principal: Principal, id: string) {
  const { actor, organization } = await findManagedOrganization(principal, id);
  await db.$transaction(async (tx) => {
    // Locked, then counted: a key bound meanwhile is counted, or finds the organization gone (db/row-locks.ts).
    await lockForDeletion(tx, 'Organization', id);
    const active = await tx.apiKey.count({ where: { organizationId: id, status: 'ACTIVE' } });
    if (active > 0) {
      throw badInput('id', `${active} active API key(s) are bound to this organization; revoke them first`);
    }
    const unbound = await tx.apiKey.findMany({ where: { organizationId: id }, select: { id: true } });
    await tx.apiKey.updateMany({ where: { organizationId: id, status: 'REVOKED' }, data: { organizationId: null } });
    await tx.organization.delete({ where: { id } });
    await recordAudit(tx, actor, {
      tenantId: organization.tenantId,
      organizationId: id,
      action: 'organization.deleted',
      targetType: 'Organization',
      targetId: id,
      metadata: { name: organization.name, unboundRevokedKeyIds: unbound.map((key) => key.id) },
    });
  });
  publishKeyChange({ tenantId: organization.tenantId });
  return organization;
}
