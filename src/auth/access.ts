/**
 * The access policy: every authorization decision keygate makes is made here, and nowhere
 * else. Services ask three questions, always the same way:
 *
 * - `reach(principal).<model>`: a Prisma `where` fragment of the rows the principal may see
 *   (its tenant unless it acts across tenants, its organization if a key is bound to one, its
 *   projects if a key selects some). Spread into every list. Id lookups spread
 *   `tenantReach(principal)` instead, so another tenant's row is NOT_FOUND (existence never
 *   leaks across tenants) while a row of the own tenant outside the key's organization or
 *   selection is FORBIDDEN by `assertCan` (product.md §2, Scope).
 * - `assertCan(principal, action, target?)`: may this principal do this, to this? Default
 *   deny: an action is allowed only by the rule written for it in `RULES`.
 * - `assertMayGrant(principal, permissions)`: whoever creates or edits a user, a group or a
 *   key must hold every permission it grants. Otherwise a member holding only `users:manage`
 *   could create a user in an all-permission group and sign in as it.
 *
 * The schema edge adds a coarse, default-deny layer (see schema/builder.ts), but it is this
 * module that is authoritative.
 */
import { badInput, forbidden, notFound, unauthenticated } from '../errors.js';
import { allPermissions, isPermission, type Permission } from './permissions.js';
import type { AuthenticatedPrincipal, Principal, SessionPrincipal, UserRole } from './principal.js';
import { permissionsGranting, upstreamFieldPermissions } from '../gateway/upstream-permissions.js';

export type Action =
  | 'tenant:administer'
  | 'tenant:key_policy'
  | 'organization:manage'
  | 'workspace:read'
  | 'workspace:manage'
  | 'project:read'
  | 'project:manage'
  | 'workflow:read'
  | 'workflow:trigger'
  | 'data:read'
  | 'data:deliver'
  | 'api_key:read'
  | 'api_key:manage'
  | 'authorization_group:read'
  | 'authorization_group:manage'
  | 'user:read'
  | 'user:manage'
  | 'audit:read'
  | 'trusted_document:manage'
  | 'webhook:manage'
  | 'workflow:redeliver';

type Rule = {
  /** Any one of these permissions allows the action. */
  anyOf?: readonly Permission[];
  /**
   * Needs a signed-in session, never an API key: these actions change who may do what, and
   * a leaked key must not be able to mint keys, users or permissions.
   */
  session?: true;
  /** Only tenant administrators (and platform administrators) of the target's tenant. */
  tenantAdmin?: true;
  /** Only a platform administrator's session: creating tenants and changing their limits. */
  platformAdmin?: true;
};

const RULES: Record<Action, Rule> = {
  'tenant:administer': { session: true, platformAdmin: true },
  // Key policies decide how every key of the tenant may be issued: its administrators'.
  'tenant:key_policy': { session: true, tenantAdmin: true },
  'organization:manage': { session: true, tenantAdmin: true },
  'workspace:read': { anyOf: ['workspaces:read'] },
  'workspace:manage': { anyOf: ['workspaces:manage'] },
  'project:read': { anyOf: ['projects:read'] },
  'project:manage': { anyOf: ['projects:manage'] },
  // Runs and workflows are read by those who may read the project or trigger there.
  'workflow:read': { anyOf: ['projects:read', 'workflows:trigger'] },
  'workflow:trigger': { anyOf: ['workflows:trigger'] },
  'data:read': { anyOf: ['projects:read', 'data:deliver'] },
  'data:deliver': { anyOf: ['data:deliver'] },
  'api_key:read': { anyOf: ['api_keys:read'] },
  'api_key:manage': { session: true, anyOf: ['api_keys:manage'] },
  // Groups are read where keys or users are read: the key list shows each key's group.
  'authorization_group:read': { anyOf: ['api_keys:read', 'authorization_groups:manage', 'users:manage'] },
  'authorization_group:manage': { session: true, anyOf: ['authorization_groups:manage'] },
  'user:read': { session: true, anyOf: ['users:manage'] },
  'user:manage': { session: true, anyOf: ['users:manage'] },
  'audit:read': { anyOf: ['audit:read'] },
  // A group's trusted documents decide what its keys may run: managed like the group itself,
  // and read the same way (the documents are the group's configuration).
  'trusted_document:manage': { session: true, anyOf: ['authorization_groups:manage'] },
  // Endpoints hold signing secrets and decide where tenant data is sent: sessions only.
  'webhook:manage': { session: true, anyOf: ['webhooks:manage'] },
  // Sending a failed run again: whoever may trigger it, or manages the endpoints.
  'workflow:redeliver': { anyOf: ['workflows:trigger', 'webhooks:manage'] },
};

/**
 * What an action is done to. `organizationId: null` is a tenant-wide object (a key bound to
 * no organization): an organization-bound key may not touch it. Leave it out for objects
 * that are not organization-scoped at all (a tenant). `projectIds` are the projects the
 * action reaches: a key with SELECTED projects needs every one of them.
 */
export type Target = {
  what: string;
  tenantId: string;
  organizationId?: string | null;
  projectIds?: readonly string[];
};

/**
 * A key of SELECTED projects creates no workspace and no project: it would not reach what it
 * made (SELECTED covers exactly the listed projects), and an administrator chooses its projects.
 */
export function assertCreatesWithinSelection(actor: AuthenticatedPrincipal, what: 'workspace' | 'project'): void {
  if (actor.kind === 'API_KEY' && actor.apiKey.projectAccess === 'SELECTED') {
    throw forbidden(`A key of selected projects cannot create a ${what}: it would not reach it.`);
  }
}

export function requireAuthenticated(principal: Principal): AuthenticatedPrincipal {
  if (principal.kind === 'ANONYMOUS') throw unauthenticated('MISSING');
  return principal;
}

/** Refuses (UNAUTHENTICATED, FORBIDDEN or NOT_FOUND) unless the principal may do `action` to `target`. */
export function assertCan(principal: Principal, action: Action, target?: Target): AuthenticatedPrincipal {
  const actor = requireAuthenticated(principal);
  const rule = RULES[action];
  if (rule.session && actor.kind !== 'SESSION') {
    throw forbidden('This operation needs a signed-in session; an API key cannot do it.');
  }
  if (rule.platformAdmin && !isPlatformAdminSession(actor)) throw forbidden('Only platform administrators may do this.');
  if (rule.tenantAdmin && !isTenantAdminSession(actor)) throw forbidden('Only tenant administrators may do this.');
  if (rule.anyOf && !rule.anyOf.some((permission) => actor.permissions.has(permission))) {
    throw forbidden(`Missing permission ${rule.anyOf.join(' or ')}.`);
  }
  if (target) assertWithinScope(actor, target);
  return actor;
}

/**
 * Whether the principal's kind, role and permissions allow `action` at all (the target-free
 * part of `assertCan`). The schema edge's `can` scope and the per-key schema view
 * (modules/key-controls/schema-view.ts) ask this, so the two cannot disagree with the services.
 */
export function mayDo(principal: Principal, action: Action): boolean {
  if (principal.kind === 'ANONYMOUS') return false;
  const rule = RULES[action];
  if (rule.session && principal.kind !== 'SESSION') return false;
  if (rule.platformAdmin && !isPlatformAdminSession(principal)) return false;
  if (rule.tenantAdmin && !isTenantAdminSession(principal)) return false;
  return !rule.anyOf || rule.anyOf.some((permission) => principal.permissions.has(permission));
}

/**
 * The tenant, organization and project checks of `assertCan` alone, for a target already
 * found: another tenant's is NOT_FOUND, outside a key's organization or selection FORBIDDEN.
 */
export function assertWithinScope(actor: AuthenticatedPrincipal, target: Target) {
  if (!canReachTenant(actor, target.tenantId)) throw notFound(target.what);
  if (actor.kind !== 'API_KEY') return;
  const { organizationId, projectAccess, projectIds } = actor.apiKey;
  if (organizationId && target.organizationId !== undefined && target.organizationId !== organizationId) {
    throw forbidden('This API key is bound to another organization.');
  }
  if (projectAccess === 'SELECTED' && target.projectIds?.some((id) => !projectIds.has(id))) {
    throw forbidden(
      target.what === 'Project' ? 'This API key has no access to this project.' : `This API key has no access to every project of this ${target.what.toLowerCase()}.`,
    );
  }
}

export function isPlatformAdminSession(principal: Principal): principal is SessionPrincipal {
  return principal.kind === 'SESSION' && principal.crossTenant && principal.user.role === 'PLATFORM_ADMIN';
}

export function isTenantAdminSession(principal: AuthenticatedPrincipal): boolean {
  return principal.kind === 'SESSION' && (principal.user.role === 'TENANT_ADMIN' || isPlatformAdminSession(principal));
}

function canReachTenant(principal: Principal, tenantId: string): boolean {
  return principal.kind !== 'ANONYMOUS' && (principal.crossTenant || principal.tenantId === tenantId);
}

/**
 * The tenant an operation acts in: the caller's own, or for cross-tenant principals the one
 * they pick (the tenant selector). Naming another tenant without that right is NOT_FOUND,
 * never FORBIDDEN, so a tenant id cannot be probed for existence.
 */
export function actingTenantId(principal: AuthenticatedPrincipal, requested?: string | null): string {
  if (requested == null || requested === principal.tenantId) return principal.tenantId;
  // An empty id names no tenant: never read as "my own" (the system tenant, for a platform admin).
  if (principal.crossTenant && requested !== '') return requested;
  throw notFound('Tenant');
}

/** What audit events about a project are about (they carry its projectId; audit.service.ts). */
const PROJECT_EVENT_TARGETS = ['Project', 'Workflow', 'WorkflowRun'] as const;

/** The tenant part of reach, for id lookups: `findFirst({ where: { id, ...tenantReach(p) } })`. */
export function tenantReach(principal: AuthenticatedPrincipal): { tenantId?: string } {
  return principal.crossTenant ? {} : { tenantId: principal.tenantId };
}

/**
 * The rows a principal may see, per model, as Prisma `where` fragments. Lists spread them
 * (together with the acting tenant); relations that lead out of the caller's reach resolve
 * to null through `visibleUser` and friends.
 */
export function reach(principal: AuthenticatedPrincipal) {
  const tenant = tenantReach(principal);
  const key = principal.kind === 'API_KEY' ? principal.apiKey : null;
  const boundTo = key?.organizationId ?? null;
  const selected = key?.projectAccess === 'SELECTED' ? [...key.projectIds] : null;
  const inOrganization = boundTo ? { organizationId: boundTo } : {};
  const project = { ...tenant, ...inOrganization, ...(selected ? { id: { in: selected } } : {}) };
  // Workflows, runs and deliveries belong to a project: the project's reach is theirs.
  const ofProject = {
    ...tenant,
    ...(selected ? { projectId: { in: selected } } : {}),
    ...(boundTo ? { project: { organizationId: boundTo } } : {}),
  };
  return {
    tenant: principal.crossTenant ? {} : { id: principal.tenantId },
    organization: { ...tenant, ...(boundTo ? { id: boundTo } : {}) },
    workspace: { ...tenant, ...inOrganization },
    project,
    apiKey: { ...tenant, ...inOrganization },
    // A bound key sees the groups of its organization's keys, not the tenant's others.
    authorizationGroup: { ...tenant, ...(boundTo ? { apiKeys: { some: { organizationId: boundTo } } } : {}) },
    // Users are read with a session only (assertCan 'user:read'); keys see none.
    user: key ? { id: { in: [] as string[] } } : tenant,
    // An event about an organization's resources carries its organization; a bound key sees
    // only those, never tenant-wide events (groups, users, keys of no organization). An event
    // about a project (the project, its workflows and runs) carries it too: a SELECTED key
    // sees its projects' only, and none about a project it cannot name (a run deleted before
    // events carried their project).
    // Users are a session's business: a key reads no event about one (its email is in the metadata).
    auditEvent: {
      ...tenant,
      ...inOrganization,
      ...(key ? { targetType: { not: 'User' } } : {}),
      ...(selected ? { OR: [{ projectId: { in: selected } }, { projectId: null, targetType: { notIn: [...PROJECT_EVENT_TARGETS] } }] } : {}),
    },
    workflow: ofProject,
    workflowRun: ofProject,
    dataDelivery: ofProject,
  };
}

/** Everything this principal holds: tenant and platform admins hold their whole catalogue. */
function heldPermissions(principal: AuthenticatedPrincipal): ReadonlySet<string> {
  return isTenantAdminSession(principal) ? new Set(allPermissions()) : principal.permissions;
}

/**
 * Nobody grants more than they hold: every permission of the user's, group's or key's new
 * access must be one the actor holds itself. Refused with FORBIDDEN naming what is missing.
 */
export function assertMayGrant(principal: AuthenticatedPrincipal, granted: Iterable<string>): void {
  const held = heldPermissions(principal);
  const missing = [...new Set(granted)].filter((permission) => !held.has(permission)).sort();
  if (missing.length > 0) {
    throw forbidden(`You cannot grant ${missing.join(', ')}: you do not hold ${missing.length === 1 ? 'it' : 'them'} yourself.`);
  }
}

/**
 * Roles are grants too: a TENANT_ADMIN holds the whole catalogue of its tenant, so only
 * tenant and platform administrators make one; PLATFORM_ADMIN exists only in the system
 * tenant and only platform administrators make one.
 */
export function assertMayGrantRole(principal: AuthenticatedPrincipal, role: UserRole, target: { isSystem: boolean }): void {
  if (role === 'PLATFORM_ADMIN') {
    if (!isPlatformAdminSession(principal) || !target.isSystem) {
      throw badInput('role', 'PLATFORM_ADMIN users exist only in the system tenant and are created by platform administrators');
    }
    return;
  }
  if (role === 'TENANT_ADMIN' && !isTenantAdminSession(principal)) {
    throw forbidden('Only tenant administrators may make tenant administrators.');
  }
}

/**
 * ADMIN keys act across every tenant: only a platform administrator's session creates,
 * rotates or edits one, whatever permissions another user of the system tenant holds
 * (revoking one is anyone's who manages the system tenant's keys).
 */
export function assertMayIssueKeyRole(principal: AuthenticatedPrincipal, role: 'API_USER' | 'ADMIN', purpose: 'create' | 'rotate' | 'edit' = 'create'): void {
  if (role === 'ADMIN' && !isPlatformAdminSession(principal)) {
    throw forbidden(purpose === 'edit' ? 'Only platform administrators may edit ADMIN keys.' : 'Only platform administrators may create or rotate ADMIN keys.');
  }
}

/**
 * A user shown through a relation (a key's creator, who revoked it): null when the user is
 * outside the caller's reach, e.g. the platform administrator who made a key in this
 * tenant. Their email, role and tenant are not the tenant's business. Users are read with a
 * session only (see `reach`): an API key sees none, through relations either.
 */
export function visibleUser<T extends { tenantId: string }>(principal: Principal, user: T | null): T | null {
  if (!user || principal.kind !== 'SESSION') return null;
  return canReachTenant(principal, user.tenantId) ? user : null;
}

/** Who did it, for audit events and workflow runs. */
export function actorOf(principal: AuthenticatedPrincipal) {
  return principal.kind === 'SESSION'
    ? { actorKind: 'USER' as const, actorId: principal.user.id, actorTenantId: principal.tenantId }
    : { actorKind: 'API_KEY' as const, actorId: principal.apiKey.id, actorTenantId: principal.tenantId };
}

/**
 * Gateway mode: may this principal call `<typeName>.<fieldName>` of upstream `upstream`? It
 * needs `upstream:<name>` (every root field of the upstream) or that field's own
 * `upstream:<name>:<Query|Mutation>.<field>`. Checked before anything reaches the upstream.
 */
export function assertCanCallUpstream(principal: Principal, upstream: string, typeName: string, fieldName: string): AuthenticatedPrincipal {
  const actor = requireAuthenticated(principal);
  if (!mayCallUpstream(actor, upstream, typeName, fieldName)) {
    throw forbidden(`Missing permission ${upstreamFieldPermissions(upstream, typeName, fieldName).join(' or ')}.`);
  }
  return actor;
}

/** The same rule as a yes or no, for the schema view and the gateway's passthrough, which refuse nothing themselves. */
export function mayCallUpstream(principal: Principal, upstream: string, typeName: string, fieldName: string): boolean {
  if (principal.kind === 'ANONYMOUS') return false;
  return upstreamFieldPermissions(upstream, typeName, fieldName).some((permission) => principal.permissions.has(permission));
}

/**
 * Forward authentication (/auth/verify?permission=…): does the principal hold this catalogue
 * permission? An unknown name is the caller's mistake (BAD_USER_INPUT), not a refusal.
 */
export function assertHolds(principal: Principal, permission: string): AuthenticatedPrincipal {
  const actor = requireAuthenticated(principal);
  if (!isPermission(permission)) throw badInput('permission', `unknown permission ${JSON.stringify(permission)}`);
  const held = heldPermissions(actor);
  if (!permissionsGranting(permission).some((granting) => held.has(granting))) throw forbidden(`Missing permission ${permission}.`);
  return actor;
}
