/** The access policy's decisions, as pure functions of a principal (src/auth/access.ts). */
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import {
  actingTenantId,
  assertCan,
  assertMayGrant,
  assertMayGrantRole,
  assertMayIssueKeyRole,
  reach,
  visibleUser,
} from '../../src/auth/access.js';
import { PERMISSIONS, type Permission } from '../../src/auth/permissions.js';
import { ANONYMOUS, type ApiKeyPrincipal, type SessionPrincipal, type UserRole } from '../../src/auth/principal.js';

const session = (role: UserRole, permissions: readonly Permission[] = PERMISSIONS, tenantId = 't1'): SessionPrincipal => ({
  kind: 'SESSION',
  sessionId: 's',
  tenantId,
  crossTenant: role === 'PLATFORM_ADMIN',
  permissions: new Set(permissions),
  user: { id: 'u', email: 'u@example.test', role },
});

const key = (overrides: Partial<ApiKeyPrincipal['apiKey']> = {}, permissions: readonly Permission[] = PERMISSIONS, crossTenant = false): ApiKeyPrincipal => ({
  kind: 'API_KEY',
  tenantId: 't1',
  crossTenant,
  permissions: new Set(permissions),
  apiKey: { id: 'k', name: 'k', prefix: 'kg_', role: crossTenant ? 'ADMIN' : 'API_USER', organizationId: null, projectAccess: 'ALL', projectIds: new Set(), ...overrides },
});

function codeOf(run: () => unknown): unknown {
  try {
    run();
    return 'OK';
  } catch (error) {
    return error instanceof GraphQLError ? error.extensions.code : error;
  }
}

describe('assertCan', () => {
  it('refuses anonymous callers with UNAUTHENTICATED, whatever the action', () => {
    expect(codeOf(() => assertCan(ANONYMOUS, 'project:read'))).toBe('UNAUTHENTICATED');
  });

  it('needs the permission of the action', () => {
    expect(codeOf(() => assertCan(session('MEMBER', ['projects:read']), 'project:read'))).toBe('OK');
    expect(codeOf(() => assertCan(session('MEMBER', ['projects:read']), 'project:manage'))).toBe('FORBIDDEN');
  });

  it('keeps key, user and group administration for sessions, even for a key holding every permission', () => {
    for (const action of ['api_key:manage', 'user:manage', 'authorization_group:manage', 'organization:manage', 'tenant:administer'] as const) {
      expect(codeOf(() => assertCan(key({}, PERMISSIONS, true), action)), action).toBe('FORBIDDEN');
    }
  });

  it('keeps tenant administration for platform administrators, organizations for tenant administrators', () => {
    expect(codeOf(() => assertCan(session('TENANT_ADMIN'), 'tenant:administer'))).toBe('FORBIDDEN');
    expect(codeOf(() => assertCan(session('PLATFORM_ADMIN'), 'tenant:administer'))).toBe('OK');
    expect(codeOf(() => assertCan(session('MEMBER'), 'organization:manage'))).toBe('FORBIDDEN');
    expect(codeOf(() => assertCan(session('TENANT_ADMIN'), 'organization:manage'))).toBe('OK');
  });

  it('keeps tenant key policies for tenant administrators of the tenant (platform administrators any), never keys', () => {
    const target = { what: 'Tenant', tenantId: 't1' };
    expect(codeOf(() => assertCan(session('TENANT_ADMIN'), 'tenant:key_policy', target))).toBe('OK');
    expect(codeOf(() => assertCan(session('TENANT_ADMIN'), 'tenant:key_policy', { what: 'Tenant', tenantId: 't2' }))).toBe('NOT_FOUND');
    expect(codeOf(() => assertCan(session('MEMBER'), 'tenant:key_policy', target))).toBe('FORBIDDEN');
    expect(codeOf(() => assertCan(session('PLATFORM_ADMIN', PERMISSIONS, 'system'), 'tenant:key_policy', target))).toBe('OK');
    expect(codeOf(() => assertCan(key({}, PERMISSIONS, true), 'tenant:key_policy', target))).toBe('FORBIDDEN');
  });

  it("says NOT_FOUND for another tenant's target, FORBIDDEN outside a key's organization or selection", () => {
    expect(codeOf(() => assertCan(session('TENANT_ADMIN'), 'project:read', { what: 'Project', tenantId: 't2' }))).toBe('NOT_FOUND');
    expect(codeOf(() => assertCan(session('PLATFORM_ADMIN', PERMISSIONS, 'system'), 'project:read', { what: 'Project', tenantId: 't2' }))).toBe('OK');
    const bound = key({ organizationId: 'o1' });
    expect(codeOf(() => assertCan(bound, 'project:read', { what: 'Project', tenantId: 't1', organizationId: 'o2' }))).toBe('FORBIDDEN');
    expect(codeOf(() => assertCan(bound, 'api_key:read', { what: 'API key', tenantId: 't1', organizationId: null }))).toBe('FORBIDDEN');
    expect(codeOf(() => assertCan(bound, 'project:read', { what: 'Project', tenantId: 't1', organizationId: 'o1' }))).toBe('OK');
    const selected = key({ projectAccess: 'SELECTED', projectIds: new Set(['p1']) });
    expect(codeOf(() => assertCan(selected, 'workspace:manage', { what: 'Workspace', tenantId: 't1', projectIds: ['p1', 'p2'] }))).toBe('FORBIDDEN');
    expect(codeOf(() => assertCan(selected, 'workspace:manage', { what: 'Workspace', tenantId: 't1', projectIds: ['p1'] }))).toBe('OK');
  });
});

describe('reach', () => {
  it('is the own tenant for tenant principals and every tenant for cross-tenant ones', () => {
    expect(reach(session('MEMBER')).apiKey).toEqual({ tenantId: 't1' });
    expect(reach(session('PLATFORM_ADMIN')).apiKey).toEqual({});
    expect(reach(session('PLATFORM_ADMIN')).tenant).toEqual({});
    expect(reach(session('MEMBER')).tenant).toEqual({ id: 't1' });
  });

  it("narrows an organization-bound key to its organization, everywhere it reads", () => {
    const r = reach(key({ organizationId: 'o1' }));
    expect(r.organization).toEqual({ tenantId: 't1', id: 'o1' });
    expect(r.apiKey).toEqual({ tenantId: 't1', organizationId: 'o1' });
    expect(r.auditEvent).toEqual({ tenantId: 't1', organizationId: 'o1', targetType: { not: 'User' } });
    expect(r.authorizationGroup).toEqual({ tenantId: 't1', apiKeys: { some: { organizationId: 'o1' } } });
    expect(r.workflowRun).toEqual({ tenantId: 't1', project: { organizationId: 'o1' } });
  });

  it('narrows a SELECTED key to its projects, and keys see no users', () => {
    const r = reach(key({ projectAccess: 'SELECTED', projectIds: new Set(['p1']) }));
    expect(r.project).toEqual({ tenantId: 't1', id: { in: ['p1'] } });
    expect(r.dataDelivery).toEqual({ tenantId: 't1', projectId: { in: ['p1'] } });
    expect(r.user).toEqual({ id: { in: [] } });
  });
});

describe('actingTenantId', () => {
  it("is the own tenant, or the chosen one for cross-tenant principals; another tenant is NOT_FOUND for others", () => {
    expect(actingTenantId(session('MEMBER'), null)).toBe('t1');
    expect(actingTenantId(session('PLATFORM_ADMIN'), 't9')).toBe('t9');
    expect(codeOf(() => actingTenantId(session('TENANT_ADMIN'), 't9'))).toBe('NOT_FOUND');
  });
});

describe('grants', () => {
  it('assertMayGrant: members grant only what they hold; admins hold the catalogue', () => {
    expect(codeOf(() => assertMayGrant(session('MEMBER', ['users:manage']), ['api_keys:manage']))).toBe('FORBIDDEN');
    expect(codeOf(() => assertMayGrant(session('MEMBER', ['users:manage', 'audit:read']), ['audit:read']))).toBe('OK');
    expect(codeOf(() => assertMayGrant(session('TENANT_ADMIN', []), PERMISSIONS))).toBe('OK');
    expect(codeOf(() => assertMayGrant(session('MEMBER', []), []))).toBe('OK');
  });

  it('assertMayGrantRole: TENANT_ADMIN by admins only; PLATFORM_ADMIN by platform admins in the system tenant only', () => {
    expect(codeOf(() => assertMayGrantRole(session('MEMBER'), 'TENANT_ADMIN', { isSystem: false }))).toBe('FORBIDDEN');
    expect(codeOf(() => assertMayGrantRole(session('TENANT_ADMIN'), 'TENANT_ADMIN', { isSystem: false }))).toBe('OK');
    expect(codeOf(() => assertMayGrantRole(session('TENANT_ADMIN'), 'PLATFORM_ADMIN', { isSystem: true }))).toBe('BAD_USER_INPUT');
    expect(codeOf(() => assertMayGrantRole(session('PLATFORM_ADMIN'), 'PLATFORM_ADMIN', { isSystem: false }))).toBe('BAD_USER_INPUT');
    expect(codeOf(() => assertMayGrantRole(session('PLATFORM_ADMIN'), 'PLATFORM_ADMIN', { isSystem: true }))).toBe('OK');
  });

  it('assertMayIssueKeyRole: ADMIN keys come from platform administrators alone', () => {
    expect(codeOf(() => assertMayIssueKeyRole(session('TENANT_ADMIN', PERMISSIONS, 'system'), 'ADMIN'))).toBe('FORBIDDEN');
    expect(codeOf(() => assertMayIssueKeyRole(session('PLATFORM_ADMIN'), 'ADMIN'))).toBe('OK');
    expect(codeOf(() => assertMayIssueKeyRole(session('MEMBER'), 'API_USER'))).toBe('OK');
  });
});

describe('visibleUser', () => {
  it('hides users of other tenants from tenant principals', () => {
    const platformUser = { id: 'admin', tenantId: 'system' };
    expect(visibleUser(session('TENANT_ADMIN'), platformUser)).toBeNull();
    expect(visibleUser(session('TENANT_ADMIN'), { id: 'u2', tenantId: 't1' })).toEqual({ id: 'u2', tenantId: 't1' });
    expect(visibleUser(session('PLATFORM_ADMIN', PERMISSIONS, 'system'), { id: 'u2', tenantId: 't1' })).not.toBeNull();
    expect(visibleUser(ANONYMOUS, platformUser)).toBeNull();
  });
});

describe('default deny at the schema edge', () => {
  it('a root field without authScopes stops the schema from being built', async () => {
    const { GraphQLObjectType, GraphQLSchema, GraphQLString } = await import('graphql');
    const { assertEveryRootFieldHasARule, schema } = await import('../../src/schema/index.js');
    const open = new GraphQLSchema({
      query: new GraphQLObjectType({ name: 'Query', fields: { forgotten: { type: GraphQLString, resolve: () => 'secret' } } }),
    });
    expect(() => assertEveryRootFieldHasARule(open)).toThrow(/Query\.forgotten has no authScopes/);
    expect(assertEveryRootFieldHasARule(schema)).toBe(schema);
  });
});
