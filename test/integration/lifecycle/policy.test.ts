/**
 * Tenant key policies: who sets them (tenant admins their own tenant, platform admins any),
 * enforcement on createApiKey and rotateApiKey (BAD_USER_INPUT naming the field and the
 * policy, nothing written), and apiKeys(policyViolation:) for keys issued before.
 */
import { describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { errorOf, execute, ok } from '../../helpers/app.js';
import { seedTenant } from '../../helpers/seed.js';
import { CreateKey, DAY_MS, PolicyViolations, RotateWithGrace, UpdatePolicy } from './documents.js';

const keyInput = (seed: Awaited<ReturnType<typeof seedTenant>>, extra: Record<string, unknown> = {}) => ({
  input: { tenantId: seed.tenant.id, name: 'Policy key', authorizationGroupId: seed.keyGroup.id, ...extra },
});

describe('updateTenantKeyPolicy', () => {
  it('tenant admins set their tenant’s policy (audited); members are FORBIDDEN; another tenant is NOT_FOUND; platform admins set any', async () => {
    const seed = await seedTenant();
    const other = await seedTenant();
    const { updateTenantKeyPolicy } = await ok(
      UpdatePolicy,
      { tenantId: seed.tenant.id, input: { maxLifetimeDays: 90, requireExpiry: true, requireIpAllowlist: true, leakResponse: 'NOTIFY' } },
      { token: seed.admin.token },
    );
    expect(updateTenantKeyPolicy.keyPolicy).toEqual({ maxLifetimeDays: 90, requireExpiry: true, requireIpAllowlist: true, leakResponse: 'NOTIFY' });
    expect(await db.tenant.findUniqueOrThrow({ where: { id: seed.tenant.id } })).toMatchObject({
      keyPolicyMaxLifetimeDays: 90,
      keyPolicyRequireExpiry: true,
      keyPolicyRequireIpAllowlist: true,
      keyPolicyLeakResponse: 'NOTIFY',
    });
    const audit = await db.auditEvent.findFirstOrThrow({ where: { tenantId: seed.tenant.id, action: 'tenant.key_policy_updated' } });
    expect(audit.metadata).toMatchObject({ before: { maxLifetimeDays: null, leakResponse: 'REVOKE' }, after: { maxLifetimeDays: 90, leakResponse: 'NOTIFY' } });

    // Omitted fields stay; an explicit null removes the maximum.
    const cleared = await ok(UpdatePolicy, { tenantId: seed.tenant.id, input: { maxLifetimeDays: null } }, { token: seed.admin.token });
    expect(cleared.updateTenantKeyPolicy.keyPolicy).toEqual({ maxLifetimeDays: null, requireExpiry: true, requireIpAllowlist: true, leakResponse: 'NOTIFY' });

    expect(errorOf(await execute(UpdatePolicy, { tenantId: seed.tenant.id, input: { requireExpiry: false } }, { token: seed.member.token }))).toMatchObject({ code: 'FORBIDDEN' });
    expect(errorOf(await execute(UpdatePolicy, { tenantId: other.tenant.id, input: { requireExpiry: true } }, { token: seed.admin.token }))).toMatchObject({ code: 'NOT_FOUND' });
    expect((await db.tenant.findUniqueOrThrow({ where: { id: other.tenant.id } })).keyPolicyRequireExpiry).toBe(false);
    await ok(UpdatePolicy, { tenantId: other.tenant.id, input: { requireExpiry: true } }, { token: seed.platform.token });
    expect((await db.tenant.findUniqueOrThrow({ where: { id: other.tenant.id } })).keyPolicyRequireExpiry).toBe(true);
  });

  it.each([0, 3651, 1.5])('refuses maxLifetimeDays %s with BAD_USER_INPUT', async (days) => {
    const seed = await seedTenant();
    const result = await execute(UpdatePolicy, { tenantId: seed.tenant.id, input: { maxLifetimeDays: days } }, { token: seed.admin.token });
    expect(errorOf(result).code).toBe('BAD_USER_INPUT');
    expect((await db.tenant.findUniqueOrThrow({ where: { id: seed.tenant.id } })).keyPolicyMaxLifetimeDays).toBeNull();
  });
});

describe('key policies on createApiKey', () => {
  it('refuses keys that break the policy, naming the field and the policy, and writes nothing; accepts keys that keep it', async () => {
    const seed = await seedTenant();
    await ok(UpdatePolicy, { tenantId: seed.tenant.id, input: { maxLifetimeDays: 30, requireIpAllowlist: true } }, { token: seed.admin.token });
    const before = await db.apiKey.count({ where: { tenantId: seed.tenant.id } });
    const cases = [
      { extra: { ipAllowlist: ['10.0.0.0/8'] }, field: 'expiresAt', policy: 'maxLifetimeDays' }, // never expires
      { extra: { ipAllowlist: ['10.0.0.0/8'], expiresIn: 'DAYS_60' }, field: 'expiresIn', policy: 'maxLifetimeDays' },
      { extra: { ipAllowlist: ['10.0.0.0/8'], expiresAt: new Date(Date.now() + 31 * DAY_MS).toISOString() }, field: 'expiresAt', policy: 'maxLifetimeDays' },
      { extra: { expiresIn: 'DAYS_30' }, field: 'ipAllowlist', policy: 'requireIpAllowlist' },
    ];
    for (const { extra, field, policy } of cases) {
      const result = await execute(CreateKey, keyInput(seed, extra), { token: seed.admin.token });
      expect(result.errors?.[0]?.extensions, JSON.stringify(extra)).toMatchObject({ code: 'BAD_USER_INPUT', field, policy });
    }
    expect(await db.apiKey.count({ where: { tenantId: seed.tenant.id } })).toBe(before);

    const created = await ok(CreateKey, keyInput(seed, { expiresIn: 'DAYS_30', ipAllowlist: ['10.0.0.0/8'] }), { token: seed.admin.token });
    expect(created.createApiKey.apiKey.id).toBeDefined();
  });

  it('requireExpiry refuses a key without expiry on expiresAt', async () => {
    const seed = await seedTenant();
    await ok(UpdatePolicy, { tenantId: seed.tenant.id, input: { requireExpiry: true } }, { token: seed.admin.token });
    const result = await execute(CreateKey, keyInput(seed, { expiresIn: 'NEVER' }), { token: seed.admin.token });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'expiresIn', policy: 'requireExpiry' });
    await ok(CreateKey, keyInput(seed, { expiresIn: 'DAYS_90' }), { token: seed.admin.token });
  });
});

describe('key policies on rotateApiKey and apiKeys(policyViolation:)', () => {
  it('keys issued before a stricter policy are listed as violating, and rotate only into compliance', async () => {
    const seed = await seedTenant();
    const forever = await seed.createKey();
    const longLived = await seed.createKey({ expiresAt: new Date(Date.now() + 200 * DAY_MS) });
    const compliant = await seed.createKey({ expiresAt: new Date(Date.now() + 10 * DAY_MS) });
    const noPolicy = await ok(PolicyViolations, { policyViolation: true }, { token: seed.admin.token });
    expect(noPolicy.apiKeys.totalCount).toBe(0);

    await ok(UpdatePolicy, { tenantId: seed.tenant.id, input: { maxLifetimeDays: 90 } }, { token: seed.admin.token });
    const violating = await ok(PolicyViolations, { policyViolation: true }, { token: seed.admin.token });
    expect(violating.apiKeys.edges.map((e) => e.node.id).sort()).toEqual([forever.id, longLived.id].sort());
    expect(violating.apiKeys.totalCount).toBe(2);
    const keeping = await ok(PolicyViolations, { policyViolation: false }, { token: seed.admin.token });
    expect(keeping.apiKeys.edges.map((e) => e.node.id)).toEqual([compliant.id]);
    expect(keeping.apiKeys.totalCount).toBe(1);
    // Platform admins pick the tenant.
    const picked = await ok(PolicyViolations, { tenantId: seed.tenant.id, policyViolation: true }, { token: seed.platform.token });
    expect(picked.apiKeys.totalCount).toBe(2);

    // Rotating without a new expiry keeps the violating one: refused, nothing changes.
    const row = await db.apiKey.findUniqueOrThrow({ where: { id: forever.id } });
    const refused = await execute(RotateWithGrace, { id: forever.id }, { token: seed.admin.token });
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'expiresAt', policy: 'maxLifetimeDays' });
    expect(await db.apiKey.findUniqueOrThrow({ where: { id: forever.id } })).toEqual(row);
    const tooLong = await execute(RotateWithGrace, { id: forever.id, input: { expiresIn: 'DAYS_90', expiresAt: null } }, { token: seed.admin.token });
    expect(tooLong.errors).toBeUndefined(); // 90 days from now is within 90 days
    const again = await execute(RotateWithGrace, { id: longLived.id, input: { expiresAt: new Date(Date.now() + 100 * DAY_MS).toISOString() } }, { token: seed.admin.token });
    expect(again.errors?.[0]?.extensions).toMatchObject({ field: 'expiresAt', policy: 'maxLifetimeDays' });

    const after = await ok(PolicyViolations, { policyViolation: true }, { token: seed.admin.token });
    expect(after.apiKeys.edges.map((e) => e.node.id)).toEqual([longLived.id]);
  });

  it('requireIpAllowlist: a key without allowlist cannot be rotated until it has one', async () => {
    const seed = await seedTenant();
    const open = await seed.createKey();
    const fenced = await seed.createKey({ ipAllowlist: ['192.0.2.0/24'] });
    await ok(UpdatePolicy, { tenantId: seed.tenant.id, input: { requireIpAllowlist: true } }, { token: seed.admin.token });
    expect((await ok(PolicyViolations, { policyViolation: true }, { token: seed.admin.token })).apiKeys.edges.map((e) => e.node.id)).toEqual([open.id]);
    const refused = await execute(RotateWithGrace, { id: open.id, input: { gracePeriodMinutes: 5 } }, { token: seed.admin.token });
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'ipAllowlist', policy: 'requireIpAllowlist' });
    expect(await ok(RotateWithGrace, { id: fenced.id }, { token: seed.admin.token })).toBeDefined();
  });

  it('requireIpAllowlist: an edit cannot empty a key’s allowlist, but may change it or anything else', async () => {
    const seed = await seedTenant();
    const fenced = await seed.createKey({ ipAllowlist: ['192.0.2.0/24'] });
    const open = await seed.createKey();
    await ok(UpdatePolicy, { tenantId: seed.tenant.id, input: { requireIpAllowlist: true } }, { token: seed.admin.token });
    const EDIT = `mutation Edit($id: ID!, $input: UpdateApiKeyInput!) { updateApiKey(id: $id, input: $input) { id ipAllowlist } }`;
    const emptied = await execute(EDIT, { id: fenced.id, input: { ipAllowlist: [], name: 'Renamed' } }, { token: seed.admin.token });
    expect(emptied.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'ipAllowlist', policy: 'requireIpAllowlist' });
    expect(await db.apiKey.findUniqueOrThrow({ where: { id: fenced.id } })).toMatchObject({ ipAllowlist: ['192.0.2.0/24'], name: expect.not.stringMatching('Renamed') });

    await ok(EDIT, { id: fenced.id, input: { ipAllowlist: ['198.51.100.7'] } }, { token: seed.admin.token });
    await ok(EDIT, { id: open.id, input: { name: 'Still open, renamed' } }, { token: seed.admin.token });
    expect(await db.apiKey.findUniqueOrThrow({ where: { id: fenced.id } })).toMatchObject({ ipAllowlist: ['198.51.100.7'] });
  });
});
