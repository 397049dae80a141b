/**
 * The principal: who is calling, in which tenant, with which permissions, over which
 * organizations and projects. The auth plugin builds one for every request (anonymous
 * when there is no credential) and every resolver and service decides from it.
 */
import { forbidden, notFound, unauthenticated } from '../errors.js';
import type { Permission } from './permissions.js';

export type UserRole = 'PLATFORM_ADMIN' | 'TENANT_ADMIN' | 'MEMBER';

type Authenticated = {
  tenantId: string;
  /** Platform admins and ADMIN keys of the system tenant act in any tenant. */
  crossTenant: boolean;
  permissions: ReadonlySet<Permission>;
};

export type SessionPrincipal = Authenticated & {
  kind: 'SESSION';
  sessionId: string;
  user: { id: string; email: string; role: UserRole };
};

export type ApiKeyPrincipal = Authenticated & {
  kind: 'API_KEY';
  apiKey: {
    id: string;
    name: string;
    prefix: string;
    role: 'API_USER' | 'ADMIN';
    organizationId: string | null;
    projectAccess: 'ALL' | 'SELECTED';
    projectIds: ReadonlySet<string>;
  };
};

export type AnonymousPrincipal = { kind: 'ANONYMOUS' };

export type Principal = AnonymousPrincipal | SessionPrincipal | ApiKeyPrincipal;
export type AuthenticatedPrincipal = SessionPrincipal | ApiKeyPrincipal;

export const ANONYMOUS: AnonymousPrincipal = Object.freeze({ kind: 'ANONYMOUS' });

export function requireAuthenticated(principal: Principal): AuthenticatedPrincipal {
  if (principal.kind === 'ANONYMOUS') throw unauthenticated('MISSING');
  return principal;
}

export function hasPermission(principal: Principal, permission: Permission): boolean {
  return principal.kind !== 'ANONYMOUS' && principal.permissions.has(permission);
}

/** The authoritative permission check every service makes (scopes at the edge are coarse). */
export function requirePermission(principal: Principal, permission: Permission): AuthenticatedPrincipal {
  const authenticated = requireAuthenticated(principal);
  if (!authenticated.permissions.has(permission)) throw forbidden(`Missing permission ${permission}.`);
  return authenticated;
}

/**
 * Administration that could hand out more access (users, authorization groups) needs a
 * signed-in session, like key management: otherwise a leaked key holding users:manage could
 * create a user whose group grants api_keys:manage, and through it mint keys.
 */
export function requireSessionPermission(principal: Principal, permission: Permission): SessionPrincipal {
  const actor = requirePermission(principal, permission);
  if (actor.kind !== 'SESSION') throw forbidden('This operation needs a signed-in session; an API key cannot do it.');
  return actor;
}

export function isPlatformAdmin(principal: Principal): boolean {
  return principal.kind !== 'ANONYMOUS' && principal.crossTenant;
}

/**
 * The tenant an operation acts in: the caller's own, or for cross-tenant principals the one
 * they pick (the tenant selector). Naming another tenant without that right is NOT_FOUND,
 * never FORBIDDEN, so a tenant id cannot be probed for existence.
 */
export function actingTenantId(principal: AuthenticatedPrincipal, requested?: string | null): string {
  if (!requested || requested === principal.tenantId) return principal.tenantId;
  if (principal.crossTenant) return requested;
  throw notFound('Tenant');
}

export function canReachTenant(principal: Principal, tenantId: string): boolean {
  return principal.kind !== 'ANONYMOUS' && (principal.crossTenant || principal.tenantId === tenantId);
}

/**
 * The row if the principal may reach its tenant. A missing row and another tenant's row get
 * the same NOT_FOUND, so ids cannot be probed across tenants: every tenant-scoped lookup by
 * id goes through here.
 */
export function withinReach<T extends { tenantId: string }>(principal: Principal, row: T | null, what: string): T {
  if (!row || !canReachTenant(principal, row.tenantId)) throw notFound(what);
  return row;
}

/** An organization-bound key may not touch any other organization's resources. */
export function assertOrganizationAccess(principal: Principal, organizationId: string): void {
  if (principal.kind === 'API_KEY' && principal.apiKey.organizationId && principal.apiKey.organizationId !== organizationId) {
    throw forbidden('This API key is bound to another organization.');
  }
}

export function assertProjectAccess(principal: Principal, project: { id: string; organizationId: string }): void {
  assertOrganizationAccess(principal, project.organizationId);
  if (principal.kind === 'API_KEY' && principal.apiKey.projectAccess === 'SELECTED' && !principal.apiKey.projectIds.has(project.id)) {
    throw forbidden('This API key has no access to this project.');
  }
}

/** Who did it, for audit events and workflow runs. */
export function actorOf(principal: AuthenticatedPrincipal) {
  return principal.kind === 'SESSION'
    ? { actorKind: 'USER' as const, actorId: principal.user.id }
    : { actorKind: 'API_KEY' as const, actorId: principal.apiKey.id };
}

/** Tenant administration (organizations, users): tenant admins, platform admins, ADMIN keys. */
export function requireTenantAdmin(principal: Principal): AuthenticatedPrincipal {
  const actor = requireAuthenticated(principal);
  const isTenantAdmin = actor.kind === 'SESSION' && actor.user.role === 'TENANT_ADMIN';
  if (!actor.crossTenant && !isTenantAdmin) throw forbidden('Only tenant administrators may do this.');
  return actor;
}
