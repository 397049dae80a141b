/**
 * The session lookup (session-lookup.ts) reads a session, its user, tenant and group with one
 * prepared statement, not through Prisma: it must read exactly what Prisma stored.
 */
import { describe, expect, it } from 'vitest';
import { createSessionLookup, sessionLookup } from '../../../src/auth/session-lookup.js';
import { db } from '../../../src/db.js';
import { digestSecret } from '../../../src/auth/credentials.js';
import { createAuthorizationGroup } from '../../../src/modules/authorization-group/authorization-group.service.js';
import { signIn } from '../../../src/modules/user/user.service.js';
import { createUserRow, PASSWORD, platformAdmin, seedTenant, signedIn } from '../../helpers/seed.js';

describe('session lookup by digest', () => {
  it("reads a member's session with its USER group exactly as stored", async () => {
    const seed = await seedTenant();
    const group = await createAuthorizationGroup(seed.platform.principal, {
      tenantId: seed.tenant.id,
      name: 'Managers',
      type: 'USER',
      permissions: ['projects:manage', 'workspaces:manage'],
    });
    const member = await signedIn(seed.tenant.id, 'MEMBER', group.id);

    const found = await sessionLookup.findByDigest(digestSecret(member.token));

    const stored = await db.session.findFirstOrThrow({ where: { userId: member.user.id } });
    expect(found).toEqual({
      id: stored.id,
      expiresAt: stored.expiresAt,
      userId: member.user.id,
      email: member.user.email,
      role: 'MEMBER',
      tenantId: seed.tenant.id,
      tenantIsSystem: false,
      authorizationGroupId: group.id,
      group: { type: 'USER', permissions: ['projects:manage', 'workspaces:manage'] },
      userDeactivated: false,
    });
  });

  it("reads a platform admin's session as the system tenant's, without a group", async () => {
    const platform = await platformAdmin();
    expect(await sessionLookup.findByDigest(digestSecret(platform.token))).toMatchObject({
      userId: platform.user.id,
      role: 'PLATFORM_ADMIN',
      tenantIsSystem: true,
      authorizationGroupId: null,
      group: null,
    });
  });

  it("reports a deactivated user's session, so the strategy refuses it", async () => {
    const platform = await platformAdmin();
    const user = await createUserRow(platform.tenant.id, 'MEMBER');
    const { token } = await signIn(user.email, PASSWORD);
    expect((await sessionLookup.findByDigest(digestSecret(token)))?.userDeactivated).toBe(false);
    await db.user.update({ where: { id: user.id }, data: { deactivatedAt: new Date() } });
    expect((await sessionLookup.findByDigest(digestSecret(token)))?.userDeactivated).toBe(true);
  });

  it('answers null for a digest no session has', async () => {
    expect(await sessionLookup.findByDigest(digestSecret('kgs_not-a-stored-token'))).toBeNull();
  });

  it('fails (so the strategy answers 503) when the database cannot be read', async () => {
    const url = process.env.DATABASE_URL!.startsWith('file:') ? 'file:/nonexistent-dir/keygate.db' : 'postgresql://postgres@127.0.0.1:1/none';
    const broken = createSessionLookup(url);
    await expect(broken.findByDigest('0'.repeat(64))).rejects.toThrow();
    await broken.close();
  });
});
