/**
 * Seeds the benchmark's tenant over HTTP, through the same API a deployment's admin would use:
 * a tenant, a key group, organization → workspace → project → workflow, an API key, and a
 * TENANT_ADMIN session.
 */
import { gql } from './graphql.js';
import { BENCH_ADMIN } from './processes.js';

export type BenchSeed = { tenantId: string; keyGroupId: string; projectId: string; workflowId: string; apiKey: string; sessionToken: string };

export async function signIn(url: string, email: string, password: string): Promise<string> {
  const data = await gql(url, 'mutation BenchSignIn($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }', { e: email, p: password });
  return data.signIn.token;
}

export async function seedOverHttp(url: string): Promise<BenchSeed> {
  const root = { authorization: `Bearer ${await signIn(url, BENCH_ADMIN.email, BENCH_ADMIN.password)}` };
  const call = (query: string, input: Record<string, unknown>) => gql(url, query, { input }, root);
  const suffix = Date.now().toString(36);

  const { createTenant } = await call('mutation($input: CreateTenantInput!) { createTenant(input: $input) { id } }', { name: `Bench ${suffix}`, apiKeyLimit: 100 });
  const tenantId = createTenant.id;
  const { createAuthorizationGroup } = await call(
    'mutation($input: CreateAuthorizationGroupInput!) { createAuthorizationGroup(input: $input) { id } }',
    { tenantId, name: 'Integrations', type: 'TENANT_API_KEY', permissions: ['workflows:trigger', 'data:deliver', 'projects:read', 'workspaces:read'] },
  );
  const { createOrganization } = await call('mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { id } }', { tenantId, name: 'Bench organization' });
  const { createWorkspace } = await call('mutation($input: CreateWorkspaceInput!) { createWorkspace(input: $input) { id } }', { organizationId: createOrganization.id, name: 'Bench workspace' });
  const { createProject } = await call('mutation($input: CreateProjectInput!) { createProject(input: $input) { id } }', { workspaceId: createWorkspace.id, name: 'Bench project' });
  const { createWorkflow } = await call('mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id } }', { projectId: createProject.id, name: 'Bench workflow' });
  const { createApiKey } = await call('mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }', { tenantId, name: 'Bench key', authorizationGroupId: createAuthorizationGroup.id });
  const adminEmail = `bench-${suffix}@keygate.local`;
  await call('mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', { tenantId, email: adminEmail, password: BENCH_ADMIN.password, role: 'TENANT_ADMIN' });

  return {
    tenantId,
    keyGroupId: createAuthorizationGroup.id,
    projectId: createProject.id,
    workflowId: createWorkflow.id,
    apiKey: createApiKey.secret,
    sessionToken: await signIn(url, adminEmail, BENCH_ADMIN.password),
  };
}
