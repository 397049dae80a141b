/**
 * Per-test seeding: every test makes its own tenant (with users, a key group, an
 * organization, a workspace and a project), so tests never share rows and run in parallel.
 * Seeding goes through the services with a platform-admin principal: the same rules as the
 * API, without the HTTP round trips.
 */
import { randomUUID } from 'node:crypto';
import { PERMISSIONS, type Permission } from '../../src/auth/permissions.js';
import type { SessionPrincipal } from '../../src/auth/principal.js';
import { db } from '../../src/db.js';
import { createApiKey, type CreateApiKeyInput } from '../../src/modules/api-key/api-key.service.js';
import { createAuthorizationGroup } from '../../src/modules/authorization-group/authorization-group.service.js';
import { createOrganization } from '../../src/modules/organization/organization.service.js';
import { createProject } from '../../src/modules/project/project.service.js';
import { createTenant } from '../../src/modules/tenant/tenant.service.js';
import { bootstrap, SYSTEM_TENANT_SLUG } from '../../src/modules/user/bootstrap.js';
import { hashPassword } from '../../src/modules/user/password.js';
import { signIn } from '../../src/modules/user/user.service.js';
import { createWorkspace } from '../../src/modules/workspace/workspace.service.js';
import { app } from './app.js';

export const PASSWORD = 'seeded-password-123';
let passwordHash: Promise<string> | undefined;

export const unique = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;

/** The system tenant's platform administrator (one per database), signed in. */
export async function platformAdmin() {
  await bootstrap(app.config, app.logger, () => {});
  // Tests in parallel create ADMIN keys in this one shared tenant: give them room.
  const system = await db.tenant.update({ where: { slug: SYSTEM_TENANT_SLUG }, data: { apiKeyLimit: 10_000 } });
  const user = await createUserRow(system.id, 'PLATFORM_ADMIN');
  const principal: SessionPrincipal = {
    kind: 'SESSION',
    sessionId: 'seed',
    tenantId: system.id,
    crossTenant: true,
    permissions: new Set(PERMISSIONS),
    user: { id: user.id, email: user.email, role: 'PLATFORM_ADMIN' },
  };
  return { tenant: system, user, principal, token: (await signIn(user.email, PASSWORD)).token };
}

export async function createUserRow(
  tenantId: string,
  role: 'PLATFORM_ADMIN' | 'TENANT_ADMIN' | 'MEMBER',
  authorizationGroupId: string | null = null,
) {
  passwordHash ??= hashPassword(PASSWORD);
  return db.user.create({
    data: { tenantId, role, email: `${unique(role.toLowerCase())}@example.test`, passwordHash: await passwordHash, authorizationGroupId },
  });
}

export async function signedIn(tenantId: string, role: 'TENANT_ADMIN' | 'MEMBER', authorizationGroupId: string | null = null) {
  const user = await createUserRow(tenantId, role, authorizationGroupId);
  return { user, token: (await signIn(user.email, PASSWORD)).token };
}

export const INTEGRATION_PERMISSIONS: Permission[] = [
  'workflows:trigger',
  'data:deliver',
  'projects:read',
  'workspaces:read',
  'api_keys:read',
];

/** A tenant with an admin, a member, a key group, an organization, a workspace and a project. */
export async function seedTenant(options: { apiKeyLimit?: number } = {}) {
  const platform = await platformAdmin();
  const root = platform.principal;
  const tenant = await createTenant(root, { name: unique('Tenant'), apiKeyLimit: options.apiKeyLimit ?? 10 });
  const keyGroup = await createAuthorizationGroup(root, {
    tenantId: tenant.id,
    name: 'Integrations',
    type: 'TENANT_API_KEY',
    permissions: INTEGRATION_PERMISSIONS,
  });
  const organization = await createOrganization(root, { tenantId: tenant.id, name: 'Main organization' });
  const workspace = await createWorkspace(root, { organizationId: organization.id, name: 'Main workspace' });
  const project = await createProject(root, { workspaceId: workspace.id, name: 'Main project' }, null);
  const workflow = await db.workflow.create({ data: { tenantId: tenant.id, projectId: project.id, name: 'Sync orders' } });
  const [admin, member] = await Promise.all([signedIn(tenant.id, 'TENANT_ADMIN'), signedIn(tenant.id, 'MEMBER')]);

  /** Creates a key through the service as the platform admin; returns its id and secret. */
  async function createKey(input: Partial<CreateApiKeyInput> = {}) {
    const { apiKey, secret } = await createApiKey(root, {
      tenantId: tenant.id,
      name: unique('key'),
      authorizationGroupId: keyGroup.id,
      ...input,
    });
    return { id: apiKey.id, secret, prefix: apiKey.prefix };
  }

  return { platform, tenant, keyGroup, organization, workspace, project, workflow, admin, member, createKey };
}

export type Seed = Awaited<ReturnType<typeof seedTenant>>;
