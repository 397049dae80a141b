/**
 * Changes to a key or its group take effect on the very next request on this instance,
 * even while the key sits warm in the verification cache (product.md §1, §2: revoke is
 * immediate, rotate stops the old secret immediately, group edits apply on the next request).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { keyLookup } from '../../../src/auth/key-lookup.js';
import { db } from '../../../src/db.js';
import { createAuthorizationGroup } from '../../../src/modules/authorization-group/authorization-group.service.js';
import { graphql } from '../../gql/index.js';
import { errorOf, execute, ok } from '../../helpers/app.js';
import { INTEGRATION_PERMISSIONS, seedTenant, type Seed } from '../../helpers/seed.js';
import { freshClientAddress } from '../../helpers/security-matrix.js';

const Viewer = graphql(`
  query KeyAuthRevocationViewer {
    viewer {
      apiKey {
        id
      }
    }
  }
`);

const Trigger = graphql(`
  mutation KeyAuthRevocationTrigger($input: TriggerWorkflowInput!) {
    triggerWorkflow(input: $input) {
      id
    }
  }
`);

const Revoke = graphql(`
  mutation KeyAuthRevocationRevoke($id: ID!) {
    revokeApiKey(id: $id) {
      status
    }
  }
`);

const Rotate = graphql(`
  mutation KeyAuthRevocationRotate($id: ID!) {
    rotateApiKey(id: $id) {
      secret
      apiKey {
        id
      }
    }
  }
`);

const UpdateGroup = graphql(`
  mutation KeyAuthRevocationUpdateGroup($id: ID!, $input: UpdateAuthorizationGroupInput!) {
    updateAuthorizationGroup(id: $id, input: $input) {
      permissions
    }
  }
`);

const UpdateKey = graphql(`
  mutation KeyAuthRevocationUpdateKey($id: ID!, $input: UpdateApiKeyInput!) {
    updateApiKey(id: $id, input: $input) {
      authorizationGroup {
        id
      }
      ipAllowlist
    }
  }
`);

afterEach(() => {
  vi.restoreAllMocks();
});

/** Uses the key twice and proves the first use read the database and the second the cache. */
async function warmCache(secret: string) {
  const lookups = vi.spyOn(keyLookup, 'findByDigest');
  await ok(Viewer, {}, { apiKey: secret });
  expect(lookups).toHaveBeenCalledTimes(1);
  await ok(Viewer, {}, { apiKey: secret });
  expect(lookups).toHaveBeenCalledTimes(1);
  lookups.mockRestore();
}

const trigger = (seed: Seed, secret: string) =>
  execute(Trigger, { input: { projectId: seed.project.id, workflowId: seed.workflow.id, input: {} } }, { apiKey: secret });

describe('key changes apply on the next request, with a warm cache', () => {
  it('revokeApiKey: the next request with the key gets 401 REVOKED', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    await warmCache(key.secret);

    await ok(Revoke, { id: key.id }, { token: seed.admin.token });

    const result = await execute(Viewer, {}, { apiKey: key.secret, ip: freshClientAddress() });
    expect(errorOf(result)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', reason: 'REVOKED' });
    expect(result.data).toBeUndefined();
  });

  it('rotateApiKey: the old secret gets 401 at once; the new one is the same key', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    await warmCache(key.secret);

    const { rotateApiKey } = await ok(Rotate, { id: key.id }, { token: seed.admin.token });

    expect(errorOf(await execute(Viewer, {}, { apiKey: key.secret, ip: freshClientAddress() }))).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', reason: 'INVALID' });
    const data = await ok(Viewer, {}, { apiKey: rotateApiKey.secret });
    expect(data.viewer.apiKey?.id).toBe(key.id);
  });

  it("updateAuthorizationGroup: removing and restoring a permission changes the group's keys at once", async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    await warmCache(key.secret);
    expect((await trigger(seed, key.secret)).errors).toBeUndefined();

    const withoutTrigger = INTEGRATION_PERMISSIONS.filter((p) => p !== 'workflows:trigger');
    await ok(UpdateGroup, { id: seed.keyGroup.id, input: { permissions: withoutTrigger } }, { token: seed.admin.token });
    expect(errorOf(await trigger(seed, key.secret))).toMatchObject({ status: 200, code: 'FORBIDDEN' });

    await ok(UpdateGroup, { id: seed.keyGroup.id, input: { permissions: INTEGRATION_PERMISSIONS } }, { token: seed.admin.token });
    expect((await trigger(seed, key.secret)).errors).toBeUndefined();
    expect(await db.workflowRun.count({ where: { triggeredByKeyId: key.id } })).toBe(2);
  });

  it("updateApiKey: moving the key to another group changes what it may do at once", async () => {
    const seed = await seedTenant();
    const readers = await createAuthorizationGroup(seed.platform.principal, {
      tenantId: seed.tenant.id,
      name: 'Readers',
      type: 'TENANT_API_KEY',
      permissions: ['projects:read'],
    });
    const key = await seed.createKey();
    await warmCache(key.secret);

    await ok(UpdateKey, { id: key.id, input: { authorizationGroupId: readers.id } }, { token: seed.admin.token });
    expect(errorOf(await trigger(seed, key.secret))).toMatchObject({ status: 200, code: 'FORBIDDEN' });

    await ok(UpdateKey, { id: key.id, input: { authorizationGroupId: seed.keyGroup.id } }, { token: seed.admin.token });
    expect((await trigger(seed, key.secret)).errors).toBeUndefined();
  });

  it('updateApiKey: a new IP allowlist applies at once', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    await warmCache(key.secret);

    await ok(UpdateKey, { id: key.id, input: { ipAllowlist: ['203.0.113.0/24'] } }, { token: seed.admin.token });

    expect(errorOf(await execute(Viewer, {}, { apiKey: key.secret, ip: '198.51.100.1' }))).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    await ok(Viewer, {}, { apiKey: key.secret, ip: '203.0.113.5' });
  });
});
