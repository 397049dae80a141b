/**
 * The security matrix (after Unkey's `runCommonRouteTests`): every query and mutation of the
 * schema, called by every kind of caller a leaked, stale, misplaced or under-privileged
 * credential makes, each with the exact outcome product.md §3/§4 promise.
 *
 * Two kinds of caller:
 * - credential failures (malformed, bad checksum, unknown, revoked, expired, rotated away,
 *   wrong IP) fail the WHOLE request before any resolver runs, the same way for every
 *   operation, public ones included: HTTP 401 UNAUTHENTICATED with a reason, or HTTP 403;
 * - everyone else reaches the resolvers, and `EXPECTED` says, operation by operation, what
 *   each of them gets.
 *
 * Each operation's variables come from a seeded tenant ("this tenant"); an operation that
 * would change or destroy what it targets (delete, revoke, rotate, update) gets a fresh
 * target for every call, and sessions are signed in afresh for every call (signOut ends
 * them), so the order of the cases never matters.
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { buildSchema, Kind, type OperationTypeNode } from 'graphql';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS } from '../../src/auth/permissions.js';
import { db } from '../../src/db.js';
import { generateSessionToken } from '../../src/auth/strategies/session.js';
import { createApiKey, revokeApiKey, rotateApiKey } from '../../src/modules/api-key/api-key.service.js';
import { digestSecret, generateKey } from '../../src/auth/credentials.js';
import { createAuthorizationGroup } from '../../src/modules/authorization-group/authorization-group.service.js';
import { createOrganization } from '../../src/modules/organization/organization.service.js';
import { createProject } from '../../src/modules/project/project.service.js';
import { signIn } from '../../src/modules/user/user.service.js';
import { createWorkspace } from '../../src/modules/workspace/workspace.service.js';
import { createWebhookEndpoint } from '../../src/modules/webhook/endpoint.service.js';
import { graphql } from '../gql/index.js';
import { app, errorOf, execute, type Credentials, type Result } from './app.js';
import { createUserRow, PASSWORD, seedTenant, unique } from './seed.js';

// ---------------------------------------------------------------------------------------
// Outcomes

type Outcome = {
  code: 'OK' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND';
  status: number;
  reason?: 'MISSING' | 'INVALID' | 'EXPIRED' | 'REVOKED';
  /** The request failed before execution: no `data` at all. */
  wholeRequest?: boolean;
};

const OK: Outcome = { code: 'OK', status: 200 };
/** Anonymous where a credential is needed: the field fails, HTTP stays GraphQL's default. */
const UNAUTHENTICATED: Outcome = { code: 'UNAUTHENTICATED', status: 200, reason: 'MISSING' };
const FORBIDDEN: Outcome = { code: 'FORBIDDEN', status: 200 };
const NOT_FOUND: Outcome = { code: 'NOT_FOUND', status: 200 };
const rejected = (reason: 'INVALID' | 'EXPIRED' | 'REVOKED'): Outcome => ({ code: 'UNAUTHENTICATED', status: 401, reason, wholeRequest: true });
const WRONG_ADDRESS: Outcome = { code: 'FORBIDDEN', status: 403, wholeRequest: true };

// ---------------------------------------------------------------------------------------
// The world every case runs in

export type MatrixWorld = Awaited<ReturnType<typeof createMatrixWorld>>;

/** This tenant (seeded), another tenant, and the keys and groups the callers need. */
export async function createMatrixWorld() {
  // Fresh keys for revoke/rotate/update are made per case: room for all of them.
  const seed = await seedTenant({ apiKeyLimit: 1000 });
  const other = await seedTenant();
  const root = seed.platform.principal;

  const [everything, nothing, otherEverything] = await Promise.all([
    createAuthorizationGroup(root, { tenantId: seed.tenant.id, name: 'Everything', type: 'TENANT_API_KEY', permissions: [...PERMISSIONS] }),
    createAuthorizationGroup(root, { tenantId: seed.tenant.id, name: 'Nothing', type: 'TENANT_API_KEY', permissions: [] }),
    createAuthorizationGroup(root, { tenantId: other.tenant.id, name: 'Everything', type: 'TENANT_API_KEY', permissions: [...PERMISSIONS] }),
  ]);

  // An ADMIN key of the system tenant: acts in every tenant, within its group's permissions.
  const systemEverything = await createAuthorizationGroup(root, {
    tenantId: seed.platform.tenant.id,
    name: unique('Everything'),
    type: 'TENANT_API_KEY',
    permissions: [...PERMISSIONS],
  });
  const adminKey = await createApiKey(root, {
    tenantId: seed.platform.tenant.id,
    name: unique('admin key'),
    role: 'ADMIN',
    authorizationGroupId: systemEverything.id,
  });

  // A second organization of this tenant, for the organization-bound key.
  const siblingOrganization = await createOrganization(root, { tenantId: seed.tenant.id, name: 'Sibling organization' });
  const siblingWorkspace = await createWorkspace(root, { organizationId: siblingOrganization.id, name: 'Sibling workspace' });
  await createProject(root, { workspaceId: siblingWorkspace.id, name: 'Sibling project' }, null);
  // A second project in the main workspace: the only one the SELECTED key lists.
  const selectedProject = await createProject(root, { workspaceId: seed.workspace.id, name: 'Selected project' }, null);

  const revoked = await seed.createKey();
  await revokeApiKey(root, revoked.id);
  const expired = await seed.createKey();
  await db.apiKey.update({ where: { id: expired.id }, data: { expiresAt: new Date(Date.now() - 60_000) } });
  const rotated = await seed.createKey();
  await rotateApiKey(root, rotated.id);
  const someKey = await seed.createKey();

  const keys = {
    malformed: 'kg_this-is-not-a-key',
    badChecksum: withOneCharacterChanged(someKey.secret),
    unknown: generateKey(app.config.keyFormat, seed.tenant.id),
    revoked: revoked.secret,
    expired: expired.secret,
    rotatedAway: rotated.secret,
    allowlisted: (await seed.createKey({ ipAllowlist: ['203.0.113.0/24'] })).secret,
    otherTenant: (await other.createKey({ authorizationGroupId: otherEverything.id })).secret,
    organizationBound: (await seed.createKey({ authorizationGroupId: everything.id, organizationId: siblingOrganization.id })).secret,
    withoutPermission: (await seed.createKey({ authorizationGroupId: nothing.id })).secret,
    selected: (await seed.createKey({ authorizationGroupId: everything.id, projectAccess: 'SELECTED', projectIds: [selectedProject.id] })).secret,
    admin: adminKey.secret,
  };
  // A user of its own: changePassword ends the caller's other sessions, and must not turn
  // this expired session into an unknown one.
  const sessionHolder = await createUserRow(seed.tenant.id, 'MEMBER');
  const sessions = {
    malformed: 'kgs_this-is-not-a-token',
    unknown: generateSessionToken(),
    expired: await expiredSession(sessionHolder.email),
    signedOut: await signedOutSession(sessionHolder.email),
  };
  // What `apiKey(id:)` reads: a key bound to the main organization.
  const readableKey = await seed.createKey({ organizationId: seed.organization.id });
  // What `workflowRun(id:)` reads: a run of the main project.
  const run = await db.workflowRun.create({
    data: { tenantId: seed.tenant.id, projectId: seed.project.id, workflowId: seed.workflow.id, input: {}, triggeredByKind: 'SYSTEM' },
  });

  return {
    seed,
    other,
    keys,
    sessions,
    readableKeyId: readableKey.id,
    runId: run.id,
    freshKey: async () => (await seed.createKey()).id,
    freshKeySecret: async () => (await seed.createKey()).secret,
    freshKeyInRotationGrace: async () => {
      const { id } = await seed.createKey();
      await rotateApiKey(root, id, { gracePeriodMinutes: 60 });
      return id;
    },
    freshGroup: async () =>
      (await createAuthorizationGroup(root, { tenantId: seed.tenant.id, name: unique('Group'), type: 'TENANT_API_KEY', permissions: [] })).id,
    freshWorkspace: async () => (await createWorkspace(root, { organizationId: seed.organization.id, name: unique('Workspace') })).id,
    freshProject: async () => (await createProject(root, { workspaceId: seed.workspace.id, name: unique('Project') }, null)).id,
    freshOrganization: async () => (await createOrganization(root, { tenantId: seed.tenant.id, name: unique('Organization') })).id,
    freshUser: async () => (await createUserRow(seed.tenant.id, 'MEMBER')).id,
    freshEndpoint: async () => (await freshEndpoint(seed)).id,
    freshFailedRun: async () => (await freshFailedRun(seed)).id,
  };
}

/** A webhook endpoint of this tenant (a public literal address: the SSRF guard stays on here). */
async function freshEndpoint(seed: Awaited<ReturnType<typeof seedTenant>>) {
  const { endpoint } = await createWebhookEndpoint(seed.platform.principal, {
    url: 'https://93.184.215.14/hooks',
    events: ['workflow.run.triggered'],
    organizationId: seed.organization.id,
  });
  return endpoint;
}

/** A run of the main project whose delivery failed: what redeliverWorkflowRun sends again. */
async function freshFailedRun(seed: Awaited<ReturnType<typeof seedTenant>>) {
  const endpoint = await freshEndpoint(seed);
  const run = await db.workflowRun.create({
    data: { tenantId: seed.tenant.id, projectId: seed.project.id, workflowId: seed.workflow.id, input: {}, triggeredByKind: 'SYSTEM', status: 'FAILED' },
  });
  const message = await db.webhookMessage.create({
    data: { id: `msg_${run.id}`, tenantId: seed.tenant.id, eventType: 'workflow.run.triggered', payload: {}, endpointId: endpoint.id, workflowRunId: run.id, fannedOutAt: new Date() },
  });
  await db.webhookDelivery.create({
    data: { id: `dlv_${run.id}`, tenantId: seed.tenant.id, messageId: message.id, endpointId: endpoint.id, workflowRunId: run.id, status: 'FAILED', attemptCount: 1, attemptLimit: 1, nextAttemptAt: new Date() },
  });
  return run;
}

async function expiredSession(email: string): Promise<string> {
  const { token } = await signIn(email, PASSWORD);
  await db.session.update({ where: { tokenDigest: digestSecret(token) }, data: { expiresAt: new Date(Date.now() - 60_000) } });
  return token;
}

async function signedOutSession(email: string): Promise<string> {
  const { token } = await signIn(email, PASSWORD);
  await db.session.delete({ where: { tokenDigest: digestSecret(token) } });
  return token;
}

/** The same key with its first random character changed: same shape, wrong checksum. */
export function withOneCharacterChanged(secret: string): string {
  const [first] = app.config.keyFormat.segments;
  const at = first?.kind === 'literal' ? first.text.length : 0;
  const replacement = secret[at] === '0' ? '1' : '0'; // in every random alphabet (base62, hex)
  return secret.slice(0, at) + replacement + secret.slice(at + 1);
}

/**
 * A client address of its own (in 10.0.0.0/8). Every 401 counts against the address it came
 * from (security/credential-throttle.ts); giving each refused request its own address keeps
 * the matrix about authentication, not about the throttle, which has tests of its own.
 */
export function freshClientAddress(): string {
  const byte = () => Math.floor(Math.random() * 256);
  return `10.${byte()}.${byte()}.${byte()}`;
}

const session = async (email: string): Promise<Credentials> => ({ token: (await signIn(email, PASSWORD)).token });

// ---------------------------------------------------------------------------------------
// Callers

type Caller = { label: string; credentials: (world: MatrixWorld) => Promise<Credentials> | Credentials };

/** A key refused before any resolver runs, sent from an address of its own. */
const refusedKey = (label: string, secret: (world: MatrixWorld) => string, outcome: Outcome) => ({
  caller: { label, credentials: (w: MatrixWorld) => ({ apiKey: secret(w), ip: freshClientAddress() }) },
  outcome,
});

/** A session token refused before any resolver runs, sent from an address of its own. */
const refusedSession = (label: string, token: (world: MatrixWorld) => string, outcome: Outcome) => ({
  caller: { label, credentials: (w: MatrixWorld) => ({ token: token(w), ip: freshClientAddress() }) },
  outcome,
});

/** Credentials that fail the whole request, whatever it asks. */
const FAILING_CALLERS: { caller: Caller; outcome: Outcome }[] = [
  refusedSession('malformed session token', (w) => w.sessions.malformed, rejected('INVALID')),
  refusedSession('unknown session token', (w) => w.sessions.unknown, rejected('INVALID')),
  refusedSession('expired session', (w) => w.sessions.expired, rejected('EXPIRED')),
  refusedSession('signed-out session', (w) => w.sessions.signedOut, rejected('INVALID')),
  refusedKey('malformed key', (w) => w.keys.malformed, rejected('INVALID')),
  refusedKey('key with a bad checksum', (w) => w.keys.badChecksum, rejected('INVALID')),
  refusedKey('unknown key', (w) => w.keys.unknown, rejected('INVALID')),
  refusedKey('revoked key', (w) => w.keys.revoked, rejected('REVOKED')),
  refusedKey('expired key', (w) => w.keys.expired, rejected('EXPIRED')),
  refusedKey('rotated-away secret', (w) => w.keys.rotatedAway, rejected('INVALID')),
  {
    caller: { label: 'key used from outside its IP allowlist', credentials: (w) => ({ apiKey: w.keys.allowlisted, ip: '198.51.100.77' }) },
    outcome: WRONG_ADDRESS,
  },
];

/** Callers that reach the resolvers; the columns of `EXPECTED`, in order. */
const CALLERS = {
  anonymous: { label: 'anonymous', credentials: () => ({}) },
  otherTenantKey: { label: "another tenant's key (every permission)", credentials: (w) => ({ apiKey: w.keys.otherTenant }) },
  otherTenantAdmin: { label: "another tenant's admin session", credentials: (w) => session(w.other.admin.user.email) },
  organizationBoundKey: {
    label: "key bound to another organization (every permission)",
    credentials: (w) => ({ apiKey: w.keys.organizationBound }),
  },
  keyWithoutPermission: { label: 'key without any permission', credentials: (w) => ({ apiKey: w.keys.withoutPermission }) },
  selectedKey: { label: 'SELECTED key on another project (every permission)', credentials: (w) => ({ apiKey: w.keys.selected }) },
  member: { label: 'member session', credentials: (w) => session(w.seed.member.user.email) },
  admin: { label: 'tenant admin session', credentials: (w) => session(w.seed.admin.user.email) },
  platformAdmin: { label: 'platform admin session', credentials: (w) => session(w.seed.platform.user.email) },
  adminKey: { label: 'ADMIN key of the system tenant (every permission)', credentials: (w) => ({ apiKey: w.keys.admin }) },
} satisfies Record<string, Caller>;

type Row = [
  anonymous: Outcome,
  otherTenantKey: Outcome,
  otherTenantAdmin: Outcome,
  organizationBoundKey: Outcome,
  keyWithoutPermission: Outcome,
  selectedKey: Outcome,
  member: Outcome,
  admin: Outcome,
  platformAdmin: Outcome,
  adminKey: Outcome,
];

// ---------------------------------------------------------------------------------------
// Operations: a minimal valid document and its variables, aimed at this tenant's objects

type Operation = {
  document: TypedDocumentNode<unknown, unknown>;
  variables: (world: MatrixWorld) => unknown;
};

function operation<TResult, TVariables>(
  document: TypedDocumentNode<TResult, TVariables>,
  variables: (world: MatrixWorld) => TVariables | Promise<TVariables>,
): Operation {
  return { document: document as TypedDocumentNode<unknown, unknown>, variables };
}

const OPERATIONS = {
  // Queries
  apiKey: operation(
    graphql(`query MatrixApiKey($id: ID!) { apiKey(id: $id) { id } }`),
    (w) => ({ id: w.readableKeyId }),
  ),
  apiKeyUsage: operation(
    graphql(`query MatrixApiKeyUsage($tenantId: ID) { apiKeyUsage(tenantId: $tenantId) { active limit } }`),
    (w) => ({ tenantId: w.seed.tenant.id }),
  ),
  apiKeys: operation(
    graphql(`query MatrixApiKeys($tenantId: ID) { apiKeys(tenantId: $tenantId) { totalCount } }`),
    (w) => ({ tenantId: w.seed.tenant.id }),
  ),
  dataDeliveries: operation(
    graphql(`query MatrixDataDeliveries($projectId: ID!) { dataDeliveries(projectId: $projectId) { totalCount } }`),
    (w) => ({ projectId: w.seed.project.id }),
  ),
  auditEvents: operation(
    graphql(`query MatrixAuditEvents($tenantId: ID) { auditEvents(tenantId: $tenantId) { edges { cursor } } }`),
    (w) => ({ tenantId: w.seed.tenant.id }),
  ),
  authorizationGroups: operation(
    graphql(`query MatrixAuthorizationGroups($tenantId: ID) { authorizationGroups(tenantId: $tenantId) { id } }`),
    (w) => ({ tenantId: w.seed.tenant.id }),
  ),
  organizations: operation(
    graphql(`query MatrixOrganizations($tenantId: ID) { organizations(tenantId: $tenantId) { totalCount edges { node { id } } } }`),
    (w) => ({ tenantId: w.seed.tenant.id }),
  ),
  permissionCatalogue: operation(graphql(`query MatrixPermissionCatalogue { permissionCatalogue }`), () => ({})),
  permissions: operation(graphql(`query MatrixPermissions { permissions { name description } }`), () => ({})),
  projects: operation(
    graphql(`query MatrixProjects($tenantId: ID) { projects(tenantId: $tenantId) { totalCount edges { node { id } } } }`),
    (w) => ({ tenantId: w.seed.tenant.id }),
  ),
  tenant: operation(graphql(`query MatrixTenant($id: ID!) { tenant(id: $id) { id } }`), (w) => ({ id: w.seed.tenant.id })),
  tenants: operation(graphql(`query MatrixTenants { tenants { id } }`), () => ({})),
  user: operation(graphql(`query MatrixUser($id: ID!) { user(id: $id) { id } }`), (w) => ({ id: w.seed.member.user.id })),
  users: operation(
    graphql(`query MatrixUsers($tenantId: ID) { users(tenantId: $tenantId) { totalCount } }`),
    (w) => ({ tenantId: w.seed.tenant.id }),
  ),
  viewer: operation(graphql(`query MatrixViewer { viewer { kind } }`), () => ({})),
  workflowRuns: operation(
    graphql(`query MatrixWorkflowRuns($projectId: ID) { workflowRuns(projectId: $projectId) { edges { cursor } } }`),
    (w) => ({ projectId: w.seed.project.id }),
  ),
  workflows: operation(
    graphql(`query MatrixWorkflows($projectId: ID) { workflows(projectId: $projectId) { id } }`),
    (w) => ({ projectId: w.seed.project.id }),
  ),
  webhookEndpoints: operation(
    graphql(`query MatrixWebhookEndpoints($tenantId: ID) { webhookEndpoints(tenantId: $tenantId) { id } }`),
    (w) => ({ tenantId: w.seed.tenant.id }),
  ),
  workflowRun: operation(
    graphql(`query MatrixWorkflowRun($id: ID!) { workflowRun(id: $id) { id status attempts { number } } }`),
    (w) => ({ id: w.runId }),
  ),
  workspaces: operation(
    graphql(`query MatrixWorkspaces($tenantId: ID, $organizationId: ID) { workspaces(tenantId: $tenantId, organizationId: $organizationId) { totalCount edges { node { id } } } }`),
    (w) => ({ tenantId: w.seed.tenant.id, organizationId: w.seed.organization.id }),
  ),

  // Mutations
  changePassword: operation(
    // The caller's own password, changed to itself: every later case still signs in with it.
    graphql(`mutation MatrixChangePassword($currentPassword: String!, $newPassword: String!) { changePassword(currentPassword: $currentPassword, newPassword: $newPassword) { id } }`),
    () => ({ currentPassword: PASSWORD, newPassword: PASSWORD }),
  ),
  createApiKey: operation(
    graphql(`mutation MatrixCreateApiKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } } }`),
    (w) => ({ input: { tenantId: w.seed.tenant.id, name: unique('key'), authorizationGroupId: w.seed.keyGroup.id } }),
  ),
  createAuthorizationGroup: operation(
    graphql(`mutation MatrixCreateAuthorizationGroup($input: CreateAuthorizationGroupInput!) { createAuthorizationGroup(input: $input) { id } }`),
    (w) => ({ input: { tenantId: w.seed.tenant.id, name: unique('Group'), type: 'TENANT_API_KEY' as const, permissions: ['projects:read'] } }),
  ),
  createOrganization: operation(
    graphql(`mutation MatrixCreateOrganization($input: CreateOrganizationInput!) { createOrganization(input: $input) { id } }`),
    (w) => ({ input: { tenantId: w.seed.tenant.id, name: unique('Organization') } }),
  ),
  createProject: operation(
    graphql(`mutation MatrixCreateProject($input: CreateProjectInput!) { createProject(input: $input) { id } }`),
    (w) => ({ input: { workspaceId: w.seed.workspace.id, name: unique('Project') } }),
  ),
  createTenant: operation(
    graphql(`mutation MatrixCreateTenant($input: CreateTenantInput!) { createTenant(input: $input) { id } }`),
    () => ({ input: { name: unique('Tenant') } }),
  ),
  createUser: operation(
    graphql(`mutation MatrixCreateUser($input: CreateUserInput!) { createUser(input: $input) { id } }`),
    (w) => ({ input: { tenantId: w.seed.tenant.id, email: `${unique('matrix')}@example.test`, password: 'matrix-password-123' } }),
  ),
  createWorkflow: operation(
    graphql(`mutation MatrixCreateWorkflow($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id } }`),
    (w) => ({ input: { projectId: w.seed.project.id, name: unique('Workflow') } }),
  ),
  createWorkspace: operation(
    graphql(`mutation MatrixCreateWorkspace($input: CreateWorkspaceInput!) { createWorkspace(input: $input) { id } }`),
    (w) => ({ input: { organizationId: w.seed.organization.id, name: unique('Workspace') } }),
  ),
  deleteAuthorizationGroup: operation(
    graphql(`mutation MatrixDeleteAuthorizationGroup($id: ID!) { deleteAuthorizationGroup(id: $id) }`),
    async (w) => ({ id: await w.freshGroup() }),
  ),
  deactivateUser: operation(
    graphql(`mutation MatrixDeactivateUser($id: ID!) { deactivateUser(id: $id) { id } }`),
    async (w) => ({ id: await w.freshUser() }),
  ),
  deleteOrganization: operation(
    graphql(`mutation MatrixDeleteOrganization($id: ID!) { deleteOrganization(id: $id) }`),
    async (w) => ({ id: await w.freshOrganization() }),
  ),
  deleteProject: operation(
    graphql(`mutation MatrixDeleteProject($id: ID!) { deleteProject(id: $id) }`),
    async (w) => ({ id: await w.freshProject() }),
  ),
  deleteWorkspace: operation(
    graphql(`mutation MatrixDeleteWorkspace($id: ID!) { deleteWorkspace(id: $id) }`),
    async (w) => ({ id: await w.freshWorkspace() }),
  ),
  createWebhookEndpoint: operation(
    graphql(`mutation MatrixCreateWebhookEndpoint($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }`),
    (w) => ({ input: { url: 'https://93.184.215.14/hooks', events: ['api_key.created'], organizationId: w.seed.organization.id } }),
  ),
  updateWebhookEndpoint: operation(
    graphql(`mutation MatrixUpdateWebhookEndpoint($id: ID!, $input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $input) { id } }`),
    async (w) => ({ id: await w.freshEndpoint(), input: { description: 'edited by the matrix' } }),
  ),
  rotateWebhookEndpointSecret: operation(
    graphql(`mutation MatrixRotateWebhookEndpointSecret($id: ID!) { rotateWebhookEndpointSecret(id: $id) { endpoint { id } } }`),
    async (w) => ({ id: await w.freshEndpoint() }),
  ),
  deleteWebhookEndpoint: operation(
    graphql(`mutation MatrixDeleteWebhookEndpoint($id: ID!) { deleteWebhookEndpoint(id: $id) }`),
    async (w) => ({ id: await w.freshEndpoint() }),
  ),
  redeliverWorkflowRun: operation(
    graphql(`mutation MatrixRedeliverWorkflowRun($id: ID!) { redeliverWorkflowRun(id: $id) { id } }`),
    async (w) => ({ id: await w.freshFailedRun() }),
  ),
  deliverData: operation(
    graphql(`mutation MatrixDeliverData($input: DeliverDataInput!) { deliverData(input: $input) { id } }`),
    (w) => ({ input: { projectId: w.seed.project.id, source: 'matrix', payload: { orders: 1 } } }),
  ),
  endRotationGrace: operation(
    graphql(`mutation MatrixEndRotationGrace($id: ID!) { endRotationGrace(id: $id) { id } }`),
    async (w) => ({ id: await w.freshKeyInRotationGrace() }),
  ),
  reportLeakedApiKey: operation(
    graphql(`mutation MatrixReportLeakedApiKey($secret: String!) { reportLeakedApiKey(secret: $secret) { action } }`),
    async (w) => ({ secret: await w.freshKeySecret() }),
  ),
  updateTenantKeyPolicy: operation(
    graphql(`mutation MatrixUpdateTenantKeyPolicy($tenantId: ID!, $input: UpdateTenantKeyPolicyInput!) { updateTenantKeyPolicy(tenantId: $tenantId, input: $input) { id } }`),
    (w) => ({ tenantId: w.seed.tenant.id, input: { requireExpiry: false } }),
  ),
  revokeApiKey: operation(
    graphql(`mutation MatrixRevokeApiKey($id: ID!) { revokeApiKey(id: $id) { id } }`),
    async (w) => ({ id: await w.freshKey() }),
  ),
  rotateApiKey: operation(
    graphql(`mutation MatrixRotateApiKey($id: ID!) { rotateApiKey(id: $id) { apiKey { id } } }`),
    async (w) => ({ id: await w.freshKey() }),
  ),
  signIn: operation(
    graphql(`mutation MatrixSignIn($email: String!, $password: String!) { signIn(email: $email, password: $password) { expiresAt } }`),
    (w) => ({ email: w.seed.admin.user.email, password: PASSWORD }),
  ),
  signOut: operation(graphql(`mutation MatrixSignOut { signOut }`), () => ({})),
  triggerWorkflow: operation(
    graphql(`mutation MatrixTriggerWorkflow($input: TriggerWorkflowInput!) { triggerWorkflow(input: $input) { id } }`),
    (w) => ({ input: { projectId: w.seed.project.id, workflowId: w.seed.workflow.id, input: { orders: 1 } } }),
  ),
  updateApiKey: operation(
    graphql(`mutation MatrixUpdateApiKey($id: ID!, $input: UpdateApiKeyInput!) { updateApiKey(id: $id, input: $input) { id } }`),
    async (w) => ({ id: await w.freshKey(), input: { name: unique('renamed') } }),
  ),
  trustedDocuments: operation(
    graphql(`query MatrixTrustedDocuments($authorizationGroupId: ID!) { trustedDocuments(authorizationGroupId: $authorizationGroupId) { id } }`),
    (w) => ({ authorizationGroupId: w.seed.keyGroup.id }),
  ),
  addTrustedDocuments: operation(
    graphql(`mutation MatrixAddTrustedDocuments($authorizationGroupId: ID!, $documents: [String!]) { addTrustedDocuments(authorizationGroupId: $authorizationGroupId, documents: $documents) { id } }`),
    async (w) => ({ authorizationGroupId: await w.freshGroup(), documents: ['query Matrix { viewer { kind } }'] }),
  ),
  removeTrustedDocuments: operation(
    graphql(`mutation MatrixRemoveTrustedDocuments($authorizationGroupId: ID!, $ids: [String!]!) { removeTrustedDocuments(authorizationGroupId: $authorizationGroupId, ids: $ids) }`),
    async (w) => ({ authorizationGroupId: await w.freshGroup(), ids: [`sha256:${'0'.repeat(64)}`] }),
  ),
  updateAuthorizationGroup: operation(
    graphql(`mutation MatrixUpdateAuthorizationGroup($id: ID!, $input: UpdateAuthorizationGroupInput!) { updateAuthorizationGroup(id: $id, input: $input) { id } }`),
    async (w) => ({ id: await w.freshGroup(), input: { description: 'edited by the matrix' } }),
  ),
  updateOrganization: operation(
    graphql(`mutation MatrixUpdateOrganization($id: ID!, $input: UpdateOrganizationInput!) { updateOrganization(id: $id, input: $input) { id } }`),
    async (w) => ({ id: await w.freshOrganization(), input: { name: unique('Renamed organization') } }),
  ),
  updateProject: operation(
    graphql(`mutation MatrixUpdateProject($id: ID!, $input: UpdateProjectInput!) { updateProject(id: $id, input: $input) { id } }`),
    async (w) => ({ id: await w.freshProject(), input: { name: unique('Renamed project') } }),
  ),
  updateUser: operation(
    graphql(`mutation MatrixUpdateUser($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id } }`),
    async (w) => ({ id: await w.freshUser(), input: { role: 'MEMBER' as const } }),
  ),
  updateTenant: operation(
    graphql(`mutation MatrixUpdateTenant($id: ID!, $input: UpdateTenantInput!) { updateTenant(id: $id, input: $input) { id } }`),
    (w) => ({ id: w.seed.tenant.id, input: { name: unique('Renamed tenant') } }),
  ),
  updateWorkspace: operation(
    graphql(`mutation MatrixUpdateWorkspace($id: ID!, $input: UpdateWorkspaceInput!) { updateWorkspace(id: $id, input: $input) { id } }`),
    async (w) => ({ id: await w.freshWorkspace(), input: { name: unique('Renamed workspace') } }),
  ),
} satisfies Record<string, Operation>;

type OperationName = keyof typeof OPERATIONS;

// ---------------------------------------------------------------------------------------
// What each caller gets. Rules behind the columns (src/auth/access.ts decides them all):
// - another tenant's objects are NOT_FOUND (existence never leaks), unless the operation is
//   refused before any object is looked at (session-only, platform-admin-only, admin-only);
// - an organization-bound key is FORBIDDEN on another organization's resources; a SELECTED
//   key on projects it does not list (and on workspaces holding others, or none of its own),
//   and it creates no workspace or project (it would not reach them); both only narrow;
// - key management, user and group administration, createWorkflow and signOut need a session;
//   createTenant and updateTenant a platform admin's session (not an ADMIN key, not a tenant
//   admin); createOrganization a tenant admin's session;
// - platform admins and ADMIN keys act in every tenant, ADMIN keys within their group;
// - users, user and user administration (updateUser, deactivateUser) need a session with
//   users:manage; changePassword a session (any: it is the caller's own password);
//   updateOrganization and deleteOrganization a tenant admin's session;
// - webhook endpoints need a session with webhooks:manage (tenant admins hold it);
//   redeliverWorkflowRun needs workflows:trigger or webhooks:manage, like triggering;
// - signIn, viewer, permissionCatalogue and permissions are public.

const U = UNAUTHENTICATED;
const F = FORBIDDEN;
const N = NOT_FOUND;

const EXPECTED: Record<OperationName, Row> = {
  //                        anon otherKey otherAdmin orgBound noPerm selected member admin platform adminKey
  apiKey:                   [U,  N,       N,         F,       F,     OK,      OK,    OK,   OK,      OK],
  apiKeyUsage:              [U,  N,       N,         OK,      F,     OK,      OK,    OK,   OK,      OK],
  apiKeys:                  [U,  N,       N,         OK,      F,     OK,      OK,    OK,   OK,      OK],
  auditEvents:              [U,  N,       N,         OK,      F,     OK,      F,     OK,   OK,      OK],
  dataDeliveries:           [U,  N,       N,         F,       F,     F,       OK,    OK,   OK,      OK],
  authorizationGroups:      [U,  N,       N,         OK,      F,     OK,      OK,    OK,   OK,      OK],
  organizations:            [U,  N,       N,         OK,      OK,    OK,      OK,    OK,   OK,      OK],
  permissionCatalogue:      [OK, OK,      OK,        OK,      OK,    OK,      OK,    OK,   OK,      OK],
  permissions:              [OK, OK,      OK,        OK,      OK,    OK,      OK,    OK,   OK,      OK],
  projects:                 [U,  N,       N,         OK,      F,     OK,      OK,    OK,   OK,      OK],
  tenant:                   [U,  N,       N,         OK,      OK,    OK,      OK,    OK,   OK,      OK],
  tenants:                  [U,  OK,      OK,        OK,      OK,    OK,      OK,    OK,   OK,      OK],
  user:                     [U,  F,       N,         F,       F,     F,       F,     OK,   OK,      F],
  users:                    [U,  F,       N,         F,       F,     F,       F,     OK,   OK,      F],
  viewer:                   [OK, OK,      OK,        OK,      OK,    OK,      OK,    OK,   OK,      OK],
  workflowRuns:             [U,  N,       N,         F,       F,     F,       OK,    OK,   OK,      OK],
  workflows:                [U,  N,       N,         F,       F,     F,       OK,    OK,   OK,      OK],
  workspaces:               [U,  N,       N,         F,       F,     OK,      OK,    OK,   OK,      OK],
  webhookEndpoints:         [U,  F,       N,         F,       F,     F,       F,     OK,   OK,      F],
  workflowRun:              [U,  N,       N,         F,       F,     F,       OK,    OK,   OK,      OK],

  changePassword:           [U,  F,       OK,        F,       F,     F,       OK,    OK,   OK,      F],
  createApiKey:             [U,  F,       N,         F,       F,     F,       F,     OK,   OK,      F],
  createAuthorizationGroup: [U,  F,       N,         F,       F,     F,       F,     OK,   OK,      F],
  createOrganization:       [U,  F,       N,         F,       F,     F,       F,     OK,   OK,      F],
  createProject:            [U,  N,       N,         F,       F,     F,       F,     OK,   OK,      OK],
  createTenant:             [U,  F,       F,         F,       F,     F,       F,     F,    OK,      F],
  createUser:               [U,  F,       N,         F,       F,     F,       F,     OK,   OK,      F],
  createWorkflow:           [U,  F,       N,         F,       F,     F,       F,     OK,   OK,      F],
  createWorkspace:          [U,  N,       N,         F,       F,     F,       F,     OK,   OK,      OK],
  deleteAuthorizationGroup: [U,  F,       N,         F,       F,     F,       F,     OK,   OK,      F],
  deactivateUser:           [U,  F,       N,         F,       F,     F,       F,     OK,   OK,      F],
  deleteOrganization:       [U,  F,       N,         F,       F,     F,       F,     OK,   OK,      F],
  deleteProject:            [U,  N,       N,         F,       F,     F,       F,     OK,   OK,      OK],
  deleteWorkspace:          [U,  N,       N,         F,       F,     F,       F,     OK,   OK,      OK],
  deliverData:              [U,  N,       N,         F,       F,     F,       F,     OK,   OK,      OK],
  endRotationGrace:         [U,  F,       N,         F,       F,     F,       F,     OK,   OK,      F],
  reportLeakedApiKey:       [U,  F,       N,         F,       F,     F,       F,     OK,   OK,      F],
  updateTenantKeyPolicy:    [U,  F,       N,         F,       F,     F,       F,     OK,   OK,      F],
  revokeApiKey:             [U,  F,       N,         F,       F,     F,       F,     OK,   OK,      F],
  rotateApiKey:             [U,  F,       N,         F,       F,     F,       F,     OK,   OK,      F],
  signIn:                   [OK, OK,      OK,        OK,      OK,    OK,      OK,    OK,   OK,      OK],
  signOut:                  [U,  F,       OK,        F,       F,     F,       OK,    OK,   OK,      F],
  triggerWorkflow:          [U,  N,       N,         F,       F,     F,       F,     OK,   OK,      OK],
  updateApiKey:             [U,  F,       N,         F,       F,     F,       F,     OK,   OK,      F],
  updateAuthorizationGroup: [U,  F,       N,         F,       F,     F,       F,     OK,   OK,      F],
  trustedDocuments:         [U,  F,       N,         F,       F,     F,       F,     OK,   OK,      F],
  addTrustedDocuments:      [U,  F,       N,         F,       F,     F,       F,     OK,   OK,      F],
  removeTrustedDocuments:   [U,  F,       N,         F,       F,     F,       F,     OK,   OK,      F],
  updateOrganization:       [U,  F,       N,         F,       F,     F,       F,     OK,   OK,      F],
  updateProject:            [U,  N,       N,         F,       F,     F,       F,     OK,   OK,      OK],
  updateUser:               [U,  F,       N,         F,       F,     F,       F,     OK,   OK,      F],
  updateTenant:             [U,  F,       F,         F,       F,     F,       F,     F,    OK,      F],
  updateWorkspace:          [U,  N,       N,         F,       F,     F,       F,     OK,   OK,      OK],
  createWebhookEndpoint:    [U,  F,       N,         F,       F,     F,       F,     OK,   OK,      F],
  updateWebhookEndpoint:    [U,  F,       N,         F,       F,     F,       F,     OK,   OK,      F],
  rotateWebhookEndpointSecret: [U, F,     N,         F,       F,     F,       F,     OK,   OK,      F],
  deleteWebhookEndpoint:    [U,  F,       N,         F,       F,     F,       F,     OK,   OK,      F],
  redeliverWorkflowRun:     [U,  N,       N,         F,       F,     F,       F,     OK,   OK,      OK],
};

// ---------------------------------------------------------------------------------------
// Running it

function operationType(op: Operation): OperationTypeNode {
  const definition = op.document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (!definition || definition.kind !== Kind.OPERATION_DEFINITION) throw new Error('document without an operation');
  return definition.operation;
}

function describeOutcome(outcome: Outcome): string {
  if (outcome.code === 'OK') return 'succeeds';
  const reason = outcome.reason && outcome.reason !== 'MISSING' ? ` ${outcome.reason}` : '';
  return `HTTP ${outcome.status} ${outcome.code}${reason}`;
}

function expectOutcome(result: Result<unknown>, field: OperationName, expected: Outcome) {
  const data = result.data as Record<string, unknown> | null | undefined;
  if (expected.code === 'OK') {
    expect({ status: result.status, errors: result.errors }).toEqual({ status: 200, errors: undefined });
    expect(data?.[field]).toBeDefined();
    expect(data?.[field]).not.toBeNull();
    return;
  }
  const { status, code, reason } = errorOf(result);
  expect({ status, code, reason }).toEqual({ status: expected.status, code: expected.code, reason: expected.reason });
  expect(result.errors).toHaveLength(1);
  if (expected.wholeRequest) expect(result.data).toBeUndefined();
  else expect(data?.[field] ?? null).toBeNull();
}

/** Every case of the matrix for the queries or the mutations, as one describe block each. */
export function runSecurityMatrix(kind: 'query' | 'mutation') {
  describe(`security matrix (${kind === 'query' ? 'queries' : 'mutations'})`, () => {
    let world: MatrixWorld;
    beforeAll(async () => {
      world = await createMatrixWorld();
    });

    const operations = (Object.entries(OPERATIONS) as [OperationName, Operation][]).filter(([, op]) => operationType(op) === kind);
    for (const [name, op] of operations) {
      describe(name, () => {
        const cases = [
          ...FAILING_CALLERS,
          ...Object.values(CALLERS).map((caller, column) => ({ caller, outcome: EXPECTED[name][column]! })),
        ];
        for (const { caller, outcome } of cases) {
          it(`${caller.label} → ${describeOutcome(outcome)}`, async () => {
            const credentials = await caller.credentials(world);
            const variables = await op.variables(world);
            const before = kind === 'mutation' ? await writesSoFar(world, variables) : null;
            const result = await execute(op.document, variables, credentials);
            expectOutcome(result, name, outcome);
            // A refused mutation writes nothing: no audit event, run or delivery in either
            // tenant (every change records its audit event in its own transaction), no tenant.
            if (before && outcome.code !== 'OK' && name !== 'signIn') expect(await writesSoFar(world, variables)).toEqual(before);
          });
        }
      });
    }
  });
}

/** Counts that any write of the matrix's mutations moves. */
async function writesSoFar(world: MatrixWorld, variables: unknown) {
  const tenantIds = { tenantId: { in: [world.seed.tenant.id, world.other.tenant.id] } };
  const newTenantName = (variables as { input?: { name?: unknown } }).input?.name;
  const [auditEvents, runs, deliveries, namedTenants, sessions] = await Promise.all([
    db.auditEvent.count({ where: tenantIds }),
    db.workflowRun.count({ where: tenantIds }),
    db.dataDelivery.count({ where: tenantIds }),
    db.tenant.count({ where: { name: typeof newTenantName === 'string' ? newTenantName : '' } }),
    db.session.count({ where: { user: tenantIds } }),
  ]);
  return { auditEvents, runs, deliveries, namedTenants, sessions };
}

/** The operations the matrix covers, to compare with the schema. */
export const MATRIX_OPERATIONS: ReadonlySet<string> = new Set(Object.keys(OPERATIONS));

/** Every root field of schema.graphql, as `query foo` / `mutation bar`. */
export function schemaOperations(path = 'schema.graphql'): { query: string[]; mutation: string[] } {
  const schema = buildSchema(readFileSync(path, 'utf8'));
  return {
    query: Object.keys(schema.getQueryType()?.getFields() ?? {}),
    mutation: Object.keys(schema.getMutationType()?.getFields() ?? {}),
  };
}

/** What kind (query or mutation) the matrix's operation of this name is. */
export function matrixOperationKind(name: string): OperationTypeNode | undefined {
  const op = (OPERATIONS as Record<string, Operation>)[name];
  return op && operationType(op);
}

/** One operation of the matrix (document and variables), for other tests that call every root field. */
export function matrixOperation(name: string): Operation | undefined {
  return (OPERATIONS as Record<string, Operation>)[name];
}
