import {
  actingTenantId,
  assertOrganizationAccess,
  canReachTenant,
  withinReach,
  requirePermission,
  type Principal,
} from '../../auth/principal.js';
import { publishKeyChange } from '../../auth/invalidation.js';
import { db } from '../../db.js';
import { forbidden } from '../../errors.js';
import { writeUnique, requireText, slugFor } from '../../lib/validate.js';
import { recordAudit } from '../audit/audit.service.js';
import { findReachableOrganization } from '../organization/organization.service.js';

export type WorkspaceInput = { name: string; slug?: string | null };
export type CreateWorkspaceInput = WorkspaceInput & { organizationId: string };
export type UpdateWorkspaceInput = { name?: string | null; slug?: string | null };

export function workspaceFilter(principal: Principal, args: { tenantId?: string | null; organizationId?: string | null }) {
  const actor = requirePermission(principal, 'workspaces:read');
  const boundTo = actor.kind === 'API_KEY' ? actor.apiKey.organizationId : null;
  if (boundTo && args.organizationId && args.organizationId !== boundTo) {
    throw forbidden('This API key is bound to another organization.');
  }
  const organizationId = args.organizationId ?? boundTo;
  return { tenantId: actingTenantId(actor, args.tenantId), ...(organizationId ? { organizationId } : {}) };
}

export async function findReachableWorkspace(principal: Principal, id: string) {
  const workspace = withinReach(principal, await db.workspace.findUnique({ where: { id } }), 'Workspace');
  assertOrganizationAccess(principal, workspace.organizationId);
  return workspace;
}

/**
 * The X-Workspace-Id context of a request, for the operations that act inside a workspace.
 * A workspace the principal cannot reach is FORBIDDEN (whether or not it exists, so the
 * header cannot be used to probe for ids).
 */
export async function workspaceContext(principal: Principal, workspaceId: string | null) {
  if (!workspaceId) return null;
  const workspace = await db.workspace.findUnique({ where: { id: workspaceId } });
  if (!workspace || !canReachTenant(principal, workspace.tenantId)) {
    throw forbidden('No access to the workspace named by X-Workspace-Id.');
  }
  assertOrganizationAccess(principal, workspace.organizationId);
  return workspace;
}

export async function createWorkspace(principal: Principal, input: CreateWorkspaceInput) {
  const actor = requirePermission(principal, 'workspaces:manage');
  const organization = await findReachableOrganization(actor, input.organizationId);
  const name = requireText('name', input.name, { min: 2, max: 200 });
  const slug = slugFor('slug', input.slug, name);
  return writeUnique('slug', duplicateSlug(slug), () =>
    db.$transaction(async (tx) => {
      const workspace = await tx.workspace.create({
        data: { tenantId: organization.tenantId, organizationId: organization.id, name, slug },
      });
      await recordAudit(tx, actor, {
        tenantId: organization.tenantId,
        action: 'workspace.created',
        targetType: 'Workspace',
        targetId: workspace.id,
        metadata: { name, slug, organizationId: organization.id },
      });
      return workspace;
    }),
  );
}

export async function updateWorkspace(principal: Principal, id: string, input: UpdateWorkspaceInput) {
  const actor = requirePermission(principal, 'workspaces:manage');
  const workspace = await findReachableWorkspace(actor, id);
  const data = {
    ...(input.name != null ? { name: requireText('name', input.name, { min: 2, max: 200 }) } : {}),
    ...(input.slug != null ? { slug: slugFor('slug', input.slug, '') } : {}),
  };
  return writeUnique('slug', duplicateSlug(data.slug ?? workspace.slug), () =>
    db.$transaction(async (tx) => {
      const updated = await tx.workspace.update({ where: { id }, data });
      await recordAudit(tx, actor, {
        tenantId: workspace.tenantId,
        action: 'workspace.updated',
        targetType: 'Workspace',
        targetId: id,
        metadata: data,
      });
      return updated;
    }),
  );
}

/** Deletes the workspace with its projects; keys that selected those projects lose them. */
export async function deleteWorkspace(principal: Principal, id: string) {
  const actor = requirePermission(principal, 'workspaces:manage');
  const workspace = await findReachableWorkspace(actor, id);
  await db.$transaction(async (tx) => {
    await tx.workspace.delete({ where: { id } });
    await recordAudit(tx, actor, {
      tenantId: workspace.tenantId,
      action: 'workspace.deleted',
      targetType: 'Workspace',
      targetId: id,
      metadata: { name: workspace.name },
    });
  });
  publishKeyChange({ tenantId: workspace.tenantId });
  return workspace;
}

function duplicateSlug(slug: string): string {
  return `a workspace with slug "${slug}" already exists in this organization`;
}
