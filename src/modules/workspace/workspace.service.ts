import { actingTenantId, assertCan, assertCreatesWithinSelection, assertWithinScope, reach, requireAuthenticated, tenantReach, type Action } from '../../auth/access.js';
import { publishKeyChange } from '../../auth/invalidation.js';
import type { Principal } from '../../auth/principal.js';
import { db } from '../../db.js';
import { forbidden, notFound } from '../../errors.js';
import { renameChanges, writeUnique, requireText, slugFor } from '../../lib/validate.js';
import { recordAudit } from '../audit/audit.service.js';
import { findReachableOrganization } from '../organization/organization.service.js';

export type WorkspaceInput = { name: string; slug?: string | null };
export type CreateWorkspaceInput = WorkspaceInput & { organizationId: string };
export type UpdateWorkspaceInput = { name?: string | null; slug?: string | null };

export function workspaceFilter(principal: Principal, args: { tenantId?: string | null; organizationId?: string | null }) {
  const actor = assertCan(principal, 'workspace:read');
  const tenantId = actingTenantId(actor, args.tenantId);
  if (args.organizationId != null) assertWithinScope(actor, { what: 'Organization', tenantId, organizationId: args.organizationId });
  return { ...reach(actor).workspace, tenantId, ...(args.organizationId != null ? { organizationId: args.organizationId } : {}) };
}

/**
 * A workspace the principal may `action`. Another tenant's is NOT_FOUND; one outside a key's
 * organization is FORBIDDEN. Writing to a workspace reaches every project in it (a delete
 * cascades into their workflows and runs), so a key with SELECTED projects needs all of them.
 * `contextWorkspaceId` is the request's X-Workspace-Id: when sent, the workspace must be that
 * one (FORBIDDEN otherwise, as for every operation that acts inside a workspace).
 */
export async function findWorkspaceFor(principal: Principal, action: Action, id: string, contextWorkspaceId: string | null = null) {
  const actor = assertCan(principal, action);
  const workspace = await db.workspace.findFirst({ where: { id, ...tenantReach(actor) } });
  if (!workspace) throw notFound('Workspace');
  const selecting = actor.kind === 'API_KEY' && actor.apiKey.projectAccess === 'SELECTED';
  const projectIds = action === 'workspace:manage' && selecting ? (await db.project.findMany({ where: { workspaceId: id }, select: { id: true } })).map((p) => p.id) : undefined;
  // Writing needs every project in it, and a workspace without any of a SELECTED key's projects is none of its business.
  if (projectIds?.length === 0) throw forbidden('This workspace holds none of the key’s selected projects.');
  assertCan(actor, action, { what: 'Workspace', tenantId: workspace.tenantId, organizationId: workspace.organizationId, projectIds });
  const context = await workspaceContext(actor, contextWorkspaceId);
  if (context && context.id !== workspace.id) throw forbidden('The workspace is not the one named by X-Workspace-Id.');
  return { actor, workspace };
}

/** A workspace the principal can see (for the operations that act inside one). */
export async function findReachableWorkspace(principal: Principal, id: string) {
  const actor = requireAuthenticated(principal);
  const workspace = await db.workspace.findFirst({ where: { id, ...tenantReach(actor) } });
  if (!workspace) throw notFound('Workspace');
  assertWithinScope(actor, { what: 'Workspace', tenantId: workspace.tenantId, organizationId: workspace.organizationId });
  return workspace;
}

/**
 * The X-Workspace-Id context of a request, for the operations that act inside a workspace.
 * A workspace the principal cannot reach is FORBIDDEN (whether or not it exists, so the
 * header cannot be used to probe for ids).
 */
export async function workspaceContext(principal: Principal, workspaceId: string | null) {
  if (!workspaceId) return null;
  const actor = requireAuthenticated(principal);
  const workspace = await db.workspace.findFirst({ where: { AND: [{ id: workspaceId }, reach(actor).workspace] } });
  if (!workspace) throw forbidden('No access to the workspace named by X-Workspace-Id.');
  return workspace;
}

export async function createWorkspace(principal: Principal, input: CreateWorkspaceInput) {
  const actor = assertCan(principal, 'workspace:manage');
  assertCreatesWithinSelection(actor, 'workspace');
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
        organizationId: organization.id,
        action: 'workspace.created',
        targetType: 'Workspace',
        targetId: workspace.id,
        metadata: { name, slug, organizationId: organization.id },
      });
      return workspace;
    }),
  );
}

export async function updateWorkspace(principal: Principal, id: string, input: UpdateWorkspaceInput, contextWorkspaceId: string | null = null) {
  const { actor, workspace } = await findWorkspaceFor(principal, 'workspace:manage', id, contextWorkspaceId);
  const data = renameChanges(input);
  // Nothing to change: nothing written, nothing audited.
  if (Object.keys(data).length === 0) return workspace;
  return writeUnique('slug', duplicateSlug(data.slug ?? workspace.slug), () =>
    db.$transaction(async (tx) => {
      const updated = await tx.workspace.update({ where: { id }, data });
      await recordAudit(tx, actor, {
        tenantId: workspace.tenantId,
        organizationId: workspace.organizationId,
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
export async function deleteWorkspace(principal: Principal, id: string, contextWorkspaceId: string | null = null) {
  const { actor, workspace } = await findWorkspaceFor(principal, 'workspace:manage', id, contextWorkspaceId);
  await db.$transaction(async (tx) => {
    await tx.workspace.delete({ where: { id } });
    await recordAudit(tx, actor, {
      tenantId: workspace.tenantId,
      organizationId: workspace.organizationId,
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
