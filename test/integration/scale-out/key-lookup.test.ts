/**
 * The verification lookup (key-lookup.ts) reads keys with its own prepared statements, not
 * through Prisma: it must read exactly what Prisma stored (the expiry instant whatever the
 * process's time zone, permissions, projects, allowlist, the tenant's system flag).
 */
import { describe, expect, it } from 'vitest';
import { createKeyLookup, keyLookup } from '../../../src/auth/key-lookup.js';
import { db } from '../../../src/db.js';
import { digestSecret } from '../../../src/auth/credentials.js';
import { INTEGRATION_PERMISSIONS, platformAdmin, seedTenant } from '../../helpers/seed.js';
import { createApiKey } from '../../../src/modules/api-key/api-key.service.js';
import { createAuthorizationGroup } from '../../../src/modules/authorization-group/authorization-group.service.js';

describe('key lookup by digest', () => {
  it('reads a SELECTED, allowlisted, expiring key exactly as stored', async () => {
    const seed = await seedTenant();
    const expiresAt = new Date(Date.now() + 3 * 3600_000 + 123);
    const key = await seed.createKey({
      expiresAt,
      ipAllowlist: ['10.0.0.0/8', '2001:db8::1'],
      organizationId: seed.organization.id,
      projectAccess: 'SELECTED',
      projectIds: [seed.project.id],
    });

    const found = await keyLookup.findByDigest(digestSecret(key.secret));

    expect(found).toMatchObject({
      id: key.id,
      prefix: key.prefix,
      role: 'API_USER',
      status: 'ACTIVE',
      tenantId: seed.tenant.id,
      tenantIsSystem: false,
      organizationId: seed.organization.id,
      authorizationGroupId: seed.keyGroup.id,
      projectAccess: 'SELECTED',
    });
    const stored = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(found!.expiresAt?.toISOString()).toBe(stored.expiresAt!.toISOString());
    expect(found!.expiresAt!.getTime()).toBe(expiresAt.getTime());
    expect([...found!.permissions].sort()).toEqual([...INTEGRATION_PERMISSIONS].sort());
    expect([...found!.projectIds]).toEqual([seed.project.id]);
    expect(found!.ipAllowlist.map((range) => range.text)).toEqual(['10.0.0.0/8', '2001:db8::1']);
  });

  it('reads a key that never expires, with ALL projects, and reports a revoke', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    await db.apiKey.update({ where: { id: key.id }, data: { status: 'REVOKED' } });

    const found = await keyLookup.findByDigest(digestSecret(key.secret));

    expect(found).toMatchObject({ id: key.id, status: 'REVOKED', expiresAt: null, projectAccess: 'ALL', ipAllowlist: [] });
    expect(found!.projectIds.size).toBe(0);
  });

  it("reads the system tenant's ADMIN key as a system key", async () => {
    const platform = await platformAdmin();
    const group = await createAuthorizationGroup(platform.principal, {
      tenantId: platform.tenant.id,
      name: `Platform keys ${Date.now()}-${Math.random()}`,
      type: 'TENANT_API_KEY',
      permissions: ['projects:read'],
    });
    const { secret } = await createApiKey(platform.principal, { tenantId: platform.tenant.id, name: 'Platform key', authorizationGroupId: group.id, role: 'ADMIN' });

    expect(await keyLookup.findByDigest(digestSecret(secret))).toMatchObject({ role: 'ADMIN', tenantIsSystem: true, permissions: new Set(['projects:read']) });
  });

  it('answers null for a digest no key has', async () => {
    expect(await keyLookup.findByDigest(digestSecret('kg_not-a-stored-secret'))).toBeNull();
  });

  it('fails (so the strategy answers 503) when the database cannot be read', async () => {
    const url = process.env.DATABASE_URL!.startsWith('file:') ? 'file:/nonexistent-dir/keygate.db' : 'postgresql://postgres@127.0.0.1:1/none';
    const broken = createKeyLookup(url);
    await expect(broken.findByDigest('0'.repeat(64))).rejects.toThrow();
    await broken.close();
  });
});
