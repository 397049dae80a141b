/**
 * What integrations do with a key (product.md §1, §2 Scope, §3 Workspace context):
 * trigger workflow runs and deliver data, only where the key's permissions, organization,
 * project selection and the X-Workspace-Id header allow; and list the runs they can reach.
 */
import { describe, expect, it } from 'vitest';
import { getConfig } from '../../../src/config.js';
import { db } from '../../../src/db.js';
import { createApiKey, revokeApiKey } from '../../../src/modules/api-key/api-key.service.js';
import { createAuthorizationGroup } from '../../../src/modules/authorization-group/authorization-group.service.js';
import { createOrganization } from '../../../src/modules/organization/organization.service.js';
import { createProject } from '../../../src/modules/project/project.service.js';
import { createWorkspace } from '../../../src/modules/workspace/workspace.service.js';
import { graphql } from '../../gql/index.js';
import { errorOf, execute, ok, type Credentials } from '../../helpers/app.js';
import { seedTenant, unique, type Seed } from '../../helpers/seed.js';

const Trigger = graphql(`
  mutation KeyAuthTriggerWorkflow($input: TriggerWorkflowInput!) {
    triggerWorkflow(input: $input) {
      id
      status
      input
      triggeredByKind
      triggeredByKeyId
      triggeredByUserId
      project {
        id
      }
      workflow {
        id
      }
    }
  }
`);

const Deliver = graphql(`
  mutation KeyAuthDeliverData($input: DeliverDataInput!) {
    deliverData(input: $input) {
      id
      source
      deliveredByKind
      project {
        id
      }
    }
  }
`);

const Runs = graphql(`
  query KeyAuthWorkflowRuns($projectId: ID) {
    workflowRuns(projectId: $projectId) {
      edges {
        node {
          id
        }
      }
    }
  }
`);

const CreateKey = graphql(`
  mutation KeyAuthAdminKeyCreatesKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      secret
    }
  }
`);

/** A project (with one workflow) of the seeded tenant, in the given workspace. */
async function projectIn(seed: Seed, workspaceId: string) {
  const project = await createProject(seed.platform.principal, { workspaceId, name: unique('Project') }, null);
  const workflow = await db.workflow.create({ data: { tenantId: seed.tenant.id, projectId: project.id, name: 'Nightly import' } });
  return { project, workflow };
}

/** A second organization of the seeded tenant, with a workspace and a project. */
async function secondOrganization(seed: Seed) {
  const organization = await createOrganization(seed.platform.principal, { tenantId: seed.tenant.id, name: unique('Organization') });
  const workspace = await createWorkspace(seed.platform.principal, { organizationId: organization.id, name: 'Elsewhere' });
  return { organization, workspace, ...(await projectIn(seed, workspace.id)) };
}

async function keyGroup(seed: Seed, permissions: string[]) {
  return createAuthorizationGroup(seed.platform.principal, { tenantId: seed.tenant.id, name: unique('Group'), type: 'TENANT_API_KEY', permissions });
}

function trigger(target: { project: { id: string }; workflow: { id: string } }, credentials: Credentials, input: unknown = { orders: 3 }) {
  return execute(Trigger, { input: { projectId: target.project.id, workflowId: target.workflow.id, input } }, credentials);
}

const runsIn = (projectId: string) => db.workflowRun.count({ where: { projectId } });
const deliveriesIn = (projectId: string) => db.dataDelivery.count({ where: { projectId } });

describe('triggerWorkflow with a key', () => {
  it('with workflows:trigger: creates a QUEUED run attributed to the key', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const input = { orders: [1, 2, 3], note: 'nightly' };

    const { triggerWorkflow: run } = await ok(
      Trigger,
      { input: { projectId: seed.project.id, workflowId: seed.workflow.id, input } },
      { apiKey: key.secret },
    );

    expect(run).toMatchObject({
      status: 'QUEUED',
      input,
      triggeredByKind: 'API_KEY',
      triggeredByKeyId: key.id,
      triggeredByUserId: null,
      project: { id: seed.project.id },
      workflow: { id: seed.workflow.id },
    });
    const stored = await db.workflowRun.findUniqueOrThrow({ where: { id: run.id } });
    expect(stored).toMatchObject({
      tenantId: seed.tenant.id,
      projectId: seed.project.id,
      workflowId: seed.workflow.id,
      input,
      status: 'QUEUED',
      triggeredByKind: 'API_KEY',
      triggeredByKeyId: key.id,
      triggeredByUserId: null,
    });
  });

  it('without workflows:trigger: FORBIDDEN, and no run is stored', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey({ authorizationGroupId: (await keyGroup(seed, ['projects:read', 'data:deliver'])).id });

    expect(errorOf(await trigger(seed, { apiKey: key.secret }))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await runsIn(seed.project.id)).toBe(0);
  });

  it("an organization-bound key: FORBIDDEN on another organization's project, allowed in its own", async () => {
    const seed = await seedTenant();
    const elsewhere = await secondOrganization(seed);
    const key = await seed.createKey({ organizationId: elsewhere.organization.id });

    expect(errorOf(await trigger(seed, { apiKey: key.secret }))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await runsIn(seed.project.id)).toBe(0);
    expect((await trigger(elsewhere, { apiKey: key.secret })).errors).toBeUndefined();
    expect(await runsIn(elsewhere.project.id)).toBe(1);
  });

  it('a SELECTED key: FORBIDDEN on a project it does not list, allowed on one it lists', async () => {
    const seed = await seedTenant();
    const listed = await projectIn(seed, seed.workspace.id);
    const key = await seed.createKey({ projectAccess: 'SELECTED', projectIds: [listed.project.id] });

    expect(errorOf(await trigger(seed, { apiKey: key.secret }))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await runsIn(seed.project.id)).toBe(0);
    expect((await trigger(listed, { apiKey: key.secret })).errors).toBeUndefined();
    expect(await runsIn(listed.project.id)).toBe(1);
  });

  it('an ALL key covers a project created after the key', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey({ projectAccess: 'ALL' });
    const later = await projectIn(seed, seed.workspace.id);

    expect((await trigger(later, { apiKey: key.secret })).errors).toBeUndefined();
    expect(await runsIn(later.project.id)).toBe(1);
  });

  it("another tenant's project: NOT_FOUND, and no run is stored", async () => {
    const [seed, other] = [await seedTenant(), await seedTenant()];
    const key = await other.createKey();

    expect(errorOf(await trigger(seed, { apiKey: key.secret }))).toMatchObject({ code: 'NOT_FOUND' });
    expect(await runsIn(seed.project.id)).toBe(0);
  });

  it("a workflow of another project: NOT_FOUND", async () => {
    const seed = await seedTenant();
    const sibling = await projectIn(seed, seed.workspace.id);
    const key = await seed.createKey();

    const result = await trigger({ project: seed.project, workflow: sibling.workflow }, { apiKey: key.secret });
    expect(errorOf(result)).toMatchObject({ code: 'NOT_FOUND' });
    expect(await runsIn(seed.project.id)).toBe(0);
  });

  it('input over the payload limit: BAD_USER_INPUT on input, and no run is stored', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();

    const result = await trigger(seed, { apiKey: key.secret }, { blob: 'x'.repeat(getConfig().maxPayloadBytes) });
    expect(errorOf(result)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input' });
    expect(await runsIn(seed.project.id)).toBe(0);
  });
});

describe('X-Workspace-Id with a key', () => {
  it('a project outside the named workspace: FORBIDDEN, and no run is stored', async () => {
    const seed = await seedTenant();
    const otherWorkspace = await createWorkspace(seed.platform.principal, { organizationId: seed.organization.id, name: 'Other workspace' });
    const key = await seed.createKey();

    const result = await trigger(seed, { apiKey: key.secret, workspaceId: otherWorkspace.id });
    expect(errorOf(result)).toMatchObject({ code: 'FORBIDDEN' });
    expect(await runsIn(seed.project.id)).toBe(0);
  });

  it("a header naming another tenant's workspace: FORBIDDEN", async () => {
    const [seed, other] = [await seedTenant(), await seedTenant()];
    const key = await seed.createKey();

    const result = await trigger(seed, { apiKey: key.secret, workspaceId: other.workspace.id });
    expect(errorOf(result)).toMatchObject({ code: 'FORBIDDEN' });
    expect(await runsIn(seed.project.id)).toBe(0);
  });

  it("an organization-bound key naming another organization's workspace: FORBIDDEN", async () => {
    const seed = await seedTenant();
    const elsewhere = await secondOrganization(seed);
    const key = await seed.createKey({ organizationId: elsewhere.organization.id });

    const result = await trigger(elsewhere, { apiKey: key.secret, workspaceId: seed.workspace.id });
    expect(errorOf(result)).toMatchObject({ code: 'FORBIDDEN' });
    expect(await runsIn(elsewhere.project.id)).toBe(0);
  });

  it('a project inside the named workspace: allowed', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();

    expect((await trigger(seed, { apiKey: key.secret, workspaceId: seed.workspace.id })).errors).toBeUndefined();
    expect(await runsIn(seed.project.id)).toBe(1);
  });
});

describe('deliverData with a key', () => {
  const deliver = (seed: Seed, secret: string, payload: unknown) =>
    execute(Deliver, { input: { projectId: seed.project.id, source: 'erp', payload } }, { apiKey: secret });

  it('with data:deliver: stores the delivery, attributed to the key', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const payload = { invoices: [{ id: 'INV-1', total: 12.5 }] };

    const { deliverData } = await ok(Deliver, { input: { projectId: seed.project.id, source: 'erp', payload } }, { apiKey: key.secret });

    expect(deliverData).toMatchObject({ source: 'erp', deliveredByKind: 'API_KEY', project: { id: seed.project.id } });
    const stored = await db.dataDelivery.findUniqueOrThrow({ where: { id: deliverData.id } });
    expect(stored).toMatchObject({ tenantId: seed.tenant.id, projectId: seed.project.id, source: 'erp', payload, deliveredByKind: 'API_KEY', deliveredById: key.id });
  });

  it('without data:deliver: FORBIDDEN, and nothing is stored', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey({ authorizationGroupId: (await keyGroup(seed, ['workflows:trigger', 'projects:read'])).id });

    expect(errorOf(await deliver(seed, key.secret, { a: 1 }))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await deliveriesIn(seed.project.id)).toBe(0);
  });

  it('a payload over the limit: BAD_USER_INPUT on payload, and nothing is stored; one at the limit is stored', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const limit = getConfig().maxPayloadBytes;
    const envelope = JSON.stringify({ blob: '' }).length;

    const over = await deliver(seed, key.secret, { blob: 'x'.repeat(limit - envelope + 1) });
    expect(errorOf(over)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'payload' });
    expect(await deliveriesIn(seed.project.id)).toBe(0);

    expect((await deliver(seed, key.secret, { blob: 'x'.repeat(limit - envelope) })).errors).toBeUndefined();
    expect(await deliveriesIn(seed.project.id)).toBe(1);
  });
});

describe('workflowRuns with a key', () => {
  /** Runs at distinct, known times, so "newest first" is checked without relying on timing. */
  async function runAt(target: { project: { id: string; tenantId: string }; workflow: { id: string } }, minute: number) {
    const run = await db.workflowRun.create({
      data: {
        tenantId: target.project.tenantId,
        projectId: target.project.id,
        workflowId: target.workflow.id,
        input: {},
        triggeredByKind: 'SYSTEM',
        createdAt: new Date(Date.UTC(2024, 0, 1, 12, minute)),
      },
    });
    return run.id;
  }

  const listedIds = async (credentials: Credentials, projectId?: string) =>
    (await ok(Runs, { projectId }, credentials)).workflowRuns.edges.map((edge) => edge.node.id);

  it('lists runs newest first, in the projects the key reaches and nowhere else', async () => {
    const [seed, other] = [await seedTenant(), await seedTenant()];
    const main = { project: seed.project, workflow: seed.workflow };
    const sibling = await projectIn(seed, seed.workspace.id);
    const elsewhere = await secondOrganization(seed);
    const r0 = await runAt(main, 0);
    const r1 = await runAt(sibling, 1);
    const r2 = await runAt(main, 2);
    const r3 = await runAt(elsewhere, 3);
    const foreign = await runAt({ project: other.project, workflow: other.workflow }, 4);

    const all = await seed.createKey();
    const selected = await seed.createKey({ projectAccess: 'SELECTED', projectIds: [sibling.project.id] });
    const bound = await seed.createKey({ organizationId: elsewhere.organization.id });
    const otherTenant = await other.createKey();

    expect(await listedIds({ apiKey: all.secret })).toEqual([r3, r2, r1, r0]);
    expect(await listedIds({ apiKey: selected.secret })).toEqual([r1]);
    expect(await listedIds({ apiKey: bound.secret })).toEqual([r3]);
    expect(await listedIds({ apiKey: otherTenant.secret })).toEqual([foreign]);
    expect(await listedIds({ apiKey: all.secret }, seed.project.id)).toEqual([r2, r0]);
  });

  it('projectId outside what the key reaches: FORBIDDEN (SELECTED, organization), NOT_FOUND (another tenant)', async () => {
    const [seed, other] = [await seedTenant(), await seedTenant()];
    const sibling = await projectIn(seed, seed.workspace.id);
    const elsewhere = await secondOrganization(seed);
    const selected = await seed.createKey({ projectAccess: 'SELECTED', projectIds: [sibling.project.id] });
    const bound = await seed.createKey({ organizationId: elsewhere.organization.id });
    const otherTenant = await other.createKey();

    expect(errorOf(await execute(Runs, { projectId: seed.project.id }, { apiKey: selected.secret }))).toMatchObject({ code: 'FORBIDDEN' });
    expect(errorOf(await execute(Runs, { projectId: seed.project.id }, { apiKey: bound.secret }))).toMatchObject({ code: 'FORBIDDEN' });
    expect(errorOf(await execute(Runs, { projectId: seed.project.id }, { apiKey: otherTenant.secret }))).toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('ADMIN keys of the system tenant', () => {
  /** An ADMIN (or API_USER) key of the system tenant; revoked afterwards to free the system tenant's slot. */
  async function withSystemKey(seed: Seed, role: 'ADMIN' | 'API_USER', use: (key: { id: string; secret: string }) => Promise<void>) {
    const root = seed.platform.principal;
    const group = await createAuthorizationGroup(root, {
      tenantId: seed.platform.tenant.id,
      name: unique('Operators'),
      type: 'TENANT_API_KEY',
      permissions: ['workflows:trigger', 'projects:read'],
    });
    const { apiKey, secret } = await createApiKey(root, {
      tenantId: seed.platform.tenant.id,
      name: unique('operator'),
      role,
      authorizationGroupId: group.id,
    });
    try {
      await use({ id: apiKey.id, secret });
    } finally {
      await revokeApiKey(root, apiKey.id);
    }
  }

  it("trigger workflows in another tenant's project with their group's permissions", async () => {
    const seed = await seedTenant();
    await withSystemKey(seed, 'ADMIN', async (key) => {
      const { triggerWorkflow: run } = await ok(
        Trigger,
        { input: { projectId: seed.project.id, workflowId: seed.workflow.id, input: { by: 'operator' } } },
        { apiKey: key.secret },
      );
      const stored = await db.workflowRun.findUniqueOrThrow({ where: { id: run.id } });
      expect(stored).toMatchObject({ tenantId: seed.tenant.id, projectId: seed.project.id, triggeredByKind: 'API_KEY', triggeredByKeyId: key.id });
    });
  });

  it('cannot manage keys: createApiKey is FORBIDDEN and creates nothing', async () => {
    const seed = await seedTenant();
    await withSystemKey(seed, 'ADMIN', async (key) => {
      const before = await db.apiKey.count({ where: { tenantId: seed.tenant.id } });
      const result = await execute(
        CreateKey,
        { input: { tenantId: seed.tenant.id, name: 'Minted by a key', authorizationGroupId: seed.keyGroup.id } },
        { apiKey: key.secret },
      );
      expect(errorOf(result)).toMatchObject({ code: 'FORBIDDEN' });
      expect(await db.apiKey.count({ where: { tenantId: seed.tenant.id } })).toBe(before);
    });
  });

  it("(control) an API_USER key of the system tenant does not cross tenants: NOT_FOUND", async () => {
    const seed = await seedTenant();
    await withSystemKey(seed, 'API_USER', async (key) => {
      expect(errorOf(await trigger(seed, { apiKey: key.secret }))).toMatchObject({ code: 'NOT_FOUND' });
      expect(await runsIn(seed.project.id)).toBe(0);
    });
  });
});
