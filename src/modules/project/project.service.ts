import { actingTenantId, assertCan, assertCreatesWithinSelection, assertWithinScope, reach, requireAuthenticated, tenantReach } from '../../auth/access.js';
import { publishKeyChange } from '../../auth/invalidation.js';
import type { AuthenticatedPrincipal, Principal } from '../../auth/principal.js';
import { db } from '../../db.js';
import { badInput, forbidden, notFound } from '../../errors.js';
import { renameChanges, writeUnique, requireText, slugFor } from '../../lib/validate.js';
import { recordAudit } from '../audit/audit.service.js';
import { findReachableWorkspace, workspaceContext } from '../workspace/workspace.service.js';

export type CreateProjectInput = { workspaceId?: string | null; name: string; slug?: string | null };

/** Projects the principal may see: the key's organization and SELECTED projects narrow it. */
export async function projectFilter(
  principal: Principal,
  args: { tenantId?: string | null; workspaceId?: string | null },
  contextWorkspaceId: string | null,
) {
  return reachableProjectsWhere(assertCan(principal, 'project:read'), args, contextWorkspaceId);
}

/** The `where` for the projects a principal can reach, whatever it means to do with them. */
export async function reachableProjectsWhere(
  actor: AuthenticatedPrincipal,
  args: { tenantId?: string | null; workspaceId?: string | null },
  contextWorkspaceId: string | null,
) {
  const context = await workspaceContext(actor, contextWorkspaceId);
  const tenantId = actingTenantId(actor, args.tenantId);
  // X-Workspace-Id names the only workspace the request acts in: another one asked for is refused, as everywhere.
  if (args.workspaceId != null && context && args.workspaceId !== context.id) throw forbidden('The workspace is not the one named by X-Workspace-Id.');
  if (args.workspaceId != null) await assertWorkspaceWithinBinding(actor, tenantId, args.workspaceId);
  const workspaceId = args.workspaceId ?? context?.id;
  return { ...reach(actor).project, tenantId, ...(workspaceId ? { workspaceId } : {}) };
}

/**
 * A workspace named as a filter, for a key bound to an organization: another organization's
 * is FORBIDDEN, as that organization is (workspaces(organizationId:) says the same), rather
 * than an empty list. An unknown id is just a filter that matches nothing.
 */
async function assertWorkspaceWithinBinding(actor: AuthenticatedPrincipal, tenantId: string, workspaceId: string) {
  if (actor.kind !== 'API_KEY' || !actor.apiKey.organizationId) return;
  const workspace = await db.workspace.findFirst({ where: { id: workspaceId, tenantId }, select: { organizationId: true } });
  if (workspace) assertWithinScope(actor, { what: 'Workspace', tenantId, organizationId: workspace.organizationId });
}

/**
 * A project the principal may act on. Another tenant's project is NOT_FOUND; a project of
 * the tenant outside the key's organization or selection is FORBIDDEN; with X-Workspace-Id,
 * a project outside that workspace is FORBIDDEN too.
 */
export async function findAccessibleProject(principal: Principal, id: string, contextWorkspaceId: string | null = null) {
  const actor = requireAuthenticated(principal);
  const project = await db.project.findFirst({ where: { id, ...tenantReach(actor) } });
  if (!project) throw notFound('Project');
  assertWithinScope(actor, { what: 'Project', tenantId: project.tenantId, organizationId: project.organizationId, projectIds: [project.id] });
  const context = await workspaceContext(principal, contextWorkspaceId);
  if (context && context.id !== project.workspaceId) throw forbidden('The project is not in the workspace named by X-Workspace-Id.');
  return project;
}

export async function createProject(principal: Principal, input: CreateProjectInput, contextWorkspaceId: string | null) {
  const actor = assertCan(principal, 'project:manage');
  assertCreatesWithinSelection(actor, 'project');
  // The header is checked whenever it is sent (FORBIDDEN for a workspace out of reach, as for
  // every workspace-scoped operation), so it can neither probe ids nor be silently overridden.
  const context = await workspaceContext(actor, contextWorkspaceId);
  if (context && input.workspaceId != null && input.workspaceId !== context.id) {
    throw forbidden('The workspace is not the one named by X-Workspace-Id.');
  }
  const workspaceId = input.workspaceId ?? context?.id;
  if (!workspaceId) throw badInput('workspaceId', 'is required (or send X-Workspace-Id)');
  const workspace = context ?? (await findReachableWorkspace(actor, workspaceId));
  const name = requireText('name', input.name, { min: 2, max: 200 });
  const slug = slugFor('slug', input.slug, name);
  return writeUnique('slug', `a project with slug "${slug}" already exists in this workspace`, () =>
    db.$transaction(async (tx) => {
      const project = await tx.project.create({
        data: { tenantId: workspace.tenantId, organizationId: workspace.organizationId, workspaceId, name, slug },
      });
      await recordAudit(tx, actor, {
        tenantId: workspace.tenantId,
        organizationId: workspace.organizationId,
        projectId: project.id,
        action: 'project.created',
        targetType: 'Project',
        targetId: project.id,
        metadata: { name, slug, workspaceId },
      });
      return project;
    }),
  );
}

export type UpdateProjectInput = { name?: string | null; slug?: string | null };

/** A project the principal may manage: project access as for any project action, then 'project:manage'. */
async function findManagedProject(principal: Principal, id: string, contextWorkspaceId: string | null) {
  const actor = assertCan(principal, 'project:manage');
  const project = await findAccessibleProject(actor, id, contextWorkspaceId);
  return { actor, project };
}

export async function updateProject(principal: Principal, id: string, input: UpdateProjectInput, contextWorkspaceId: string | null) {
  const { actor, project } = await findManagedProject(principal, id, contextWorkspaceId);
  const data = renameChanges(input);
  // Nothing to change: nothing written, nothing audited.
  if (Object.keys(data).length === 0) return project;
  return writeUnique('slug', `a project with slug "${data.slug ?? project.slug}" already exists in this workspace`, () =>
    db.$transaction(async (tx) => {
      const updated = await tx.project.update({ where: { id }, data });
      await recordAudit(tx, actor, {
        tenantId: project.tenantId,
        organizationId: project.organizationId,
        projectId: project.id,
        action: 'project.updated',
        targetType: 'Project',
        targetId: id,
        metadata: data,
      });
      return updated;
    }),
  );
}

/**
 * Deletes the project with its workflows, runs and deliveries. Keys that selected it lose it
 * from their selection; a key whose selection becomes empty stays SELECTED and so reaches no
 * project at all: it never falls back to ALL. The key cache forgets the tenant's keys, so the
 * narrower selection applies on the next request.
 */
export async function deleteProject(principal: Principal, id: string, contextWorkspaceId: string | null) {
  const { actor, project } = await findManagedProject(principal, id, contextWorkspaceId);
  await db.$transaction(async (tx) => {
    const selecting = await tx.apiKeyProject.count({ where: { projectId: id } });
    await tx.project.delete({ where: { id } });
    await recordAudit(tx, actor, {
      tenantId: project.tenantId,
      organizationId: project.organizationId,
      projectId: project.id,
      action: 'project.deleted',
      targetType: 'Project',
      targetId: id,
      metadata: { name: project.name, workspaceId: project.workspaceId, keysThatSelectedIt: selecting },
    });
  });
  publishKeyChange({ tenantId: project.tenantId });
  return project;
}
