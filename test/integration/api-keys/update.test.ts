import { describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { createAuthorizationGroup } from '../../../src/modules/authorization-group/authorization-group.service.js';
import type { UpdateApiKeyInput } from '../../gql/graphql.js';
import { errorOf, execute, ok } from '../../helpers/app.js';
import { seedTenant } from '../../helpers/seed.js';
import { DAY_MS, KeyViewer, RevokeKey, UpdateKey } from './documents.js';

describe('updateApiKey', () => {
  it('updateApiKey: changes name, description, authorization group and IP allowlist', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey({ name: 'Before', description: 'old', expiresAt: new Date(Date.now() + 30 * DAY_MS) });
    const auditors = await createAuthorizationGroup(seed.platform.principal, {
      tenantId: seed.tenant.id,
      name: 'Auditors',
      type: 'TENANT_API_KEY',
      permissions: ['audit:read'],
    });
    const original = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    // Warm the verification cache: the edit must still apply on the next request.
    expect((await ok(KeyViewer, {}, { apiKey: key.secret })).viewer.permissions).toContain('workflows:trigger');

    const { updateApiKey } = await ok(
      UpdateKey,
      { id: key.id, input: { name: ' After ', description: 'new', authorizationGroupId: auditors.id, ipAllowlist: ['127.0.0.1', '10.0.0.0/8'] } },
      { token: seed.admin.token },
    );
    expect(updateApiKey).toMatchObject({
      id: key.id,
      name: 'After',
      description: 'new',
      authorizationGroup: { id: auditors.id },
      ipAllowlist: ['127.0.0.1', '10.0.0.0/8'],
      status: 'ACTIVE',
    });

    const row = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(row).toMatchObject({ name: 'After', description: 'new', authorizationGroupId: auditors.id, ipAllowlist: ['127.0.0.1', '10.0.0.0/8'] });
    expect(row.secretDigest).toBe(original.secretDigest);
    expect(row.prefix).toBe(original.prefix);
    expect(row.expiresAt).toEqual(original.expiresAt);
    expect(row.rotatedAt).toBeNull();

    const { viewer } = await ok(KeyViewer, {}, { apiKey: key.secret });
    expect(viewer.permissions).toEqual(['audit:read']);
    expect(errorOf(await execute(KeyViewer, {}, { apiKey: key.secret, ip: '192.0.2.1' }))).toMatchObject({ status: 403, code: 'FORBIDDEN' });
  });

  it('updateApiKey: leaves fields that are not given unchanged', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey({ name: 'Keep me', description: 'keep', ipAllowlist: ['10.1.2.3'] });
    await ok(UpdateKey, { id: key.id, input: { description: 'changed' } }, { token: seed.admin.token });
    const row = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(row).toMatchObject({ name: 'Keep me', description: 'changed', ipAllowlist: ['10.1.2.3'], authorizationGroupId: seed.keyGroup.id });
  });

  it('updateApiKey: an input that changes nothing answers the key as it is, writes nothing and audits nothing', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey({ name: 'Untouched' });
    const before = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    for (const input of [{}, { description: null, name: null }]) {
      const { updateApiKey } = await ok(UpdateKey, { id: key.id, input }, { token: seed.admin.token });
      expect(updateApiKey).toMatchObject({ id: key.id, name: 'Untouched', status: 'ACTIVE' });
    }
    expect(await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).toEqual(before);
    expect(await db.auditEvent.count({ where: { targetId: key.id, action: 'api_key.updated' } })).toBe(0);
  });

  it('updateApiKey: an empty IP allowlist allows any address again', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey({ ipAllowlist: ['10.1.2.3'] });
    expect((await execute(KeyViewer, {}, { apiKey: key.secret, ip: '192.0.2.1' })).status).toBe(403);
    await ok(UpdateKey, { id: key.id, input: { ipAllowlist: [] } }, { token: seed.admin.token });
    expect((await ok(KeyViewer, {}, { apiKey: key.secret, ip: '192.0.2.1' })).viewer.apiKey?.id).toBe(key.id);
  });

  it('updateApiKey: an empty entry is refused, not dropped into an empty list that would allow any address', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey({ ipAllowlist: ['10.1.2.3'] });
    for (const ipAllowlist of [[''], ['   '], ['10.1.2.3', '']]) {
      const result = await execute(UpdateKey, { id: key.id, input: { ipAllowlist } }, { token: seed.admin.token });
      expect(errorOf(result)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'ipAllowlist' });
      expect(errorOf(result).message).toMatch(/entry \d is empty/);
    }
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).ipAllowlist).toEqual(['10.1.2.3']);
    expect((await execute(KeyViewer, {}, { apiKey: key.secret, ip: '192.0.2.1' })).status).toBe(403);
  });

  it.each<[string, UpdateApiKeyInput]>([
    ['name', { name: 'x' }],
    ['description', { description: 'd'.repeat(1001) }],
    ['ipAllowlist', { ipAllowlist: ['10.0.0.0/33'] }],
  ])('updateApiKey: refuses an invalid %s and changes nothing', async (field, input) => {
    const seed = await seedTenant();
    const key = await seed.createKey({ name: 'Unchanged' });
    const before = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    const result = await execute(UpdateKey, { id: key.id, input }, { token: seed.admin.token });
    expect(errorOf(result)).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).toEqual(before);
  });

  it('updateApiKey: refuses a USER group or another tenant’s group (field authorizationGroupId)', async () => {
    const seed = await seedTenant();
    const other = await seedTenant();
    const userGroup = await createAuthorizationGroup(seed.platform.principal, {
      tenantId: seed.tenant.id,
      name: 'People',
      type: 'USER',
      permissions: ['projects:read'],
    });
    const key = await seed.createKey();
    for (const groupId of [userGroup.id, other.keyGroup.id]) {
      const result = await execute(UpdateKey, { id: key.id, input: { authorizationGroupId: groupId } }, { token: seed.admin.token });
      expect(errorOf(result)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'authorizationGroupId' });
    }
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).authorizationGroupId).toBe(seed.keyGroup.id);
  });

  it.each([
    ['expiresAt', '"2099-01-01T00:00:00.000Z"'],
    ['expiresIn', 'DAYS_90'],
    ['secret', '"kg_chosen_by_the_client"'],
    ['status', 'ACTIVE'],
  ])('updateApiKey: UpdateApiKeyInput has no %s field: sending one is a GraphQL validation error', async (field, literal) => {
    const seed = await seedTenant();
    const key = await seed.createKey({ expiresAt: new Date(Date.now() + 30 * DAY_MS) });
    const before = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });

    const inline = await execute(
      `mutation KeyLcUpdateUnknownField($id: ID!) { updateApiKey(id: $id, input: { name: "Renamed", ${field}: ${literal} }) { id expiresAt } }`,
      { id: key.id },
      { token: seed.admin.token },
    );
    expect(inline.data).toBeUndefined();
    expect(errorOf(inline)).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED' });
    expect(errorOf(inline).message).toContain(field);

    const viaVariables = await execute(
      `mutation KeyLcUpdateUnknownVariable($id: ID!, $input: UpdateApiKeyInput!) { updateApiKey(id: $id, input: $input) { id } }`,
      { id: key.id, input: { name: 'Renamed', [field]: JSON.parse(literal.startsWith('"') ? literal : `"${literal}"`) } },
      { token: seed.admin.token },
    );
    expect(viaVariables.data).toBeUndefined();
    expect(errorOf(viaVariables).message).toContain(field);

    expect(await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).toEqual(before);
  });

  it('updateApiKey: a revoked key cannot be edited (BAD_USER_INPUT), nor thereby reactivated', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey({ name: 'Gone' });
    await ok(RevokeKey, { id: key.id }, { token: seed.admin.token });
    const before = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });

    const result = await execute(UpdateKey, { id: key.id, input: { name: 'Back again', ipAllowlist: [] } }, { token: seed.admin.token });
    expect(result.data).toBeNull();
    expect(errorOf(result)).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(errorOf(result).message).toMatch(/revoked/);
    expect(await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).toEqual(before);
    expect(errorOf(await execute(KeyViewer, {}, { apiKey: key.secret }))).toMatchObject({ status: 401, reason: 'REVOKED' });
  });
});
