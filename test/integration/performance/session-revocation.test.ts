/**
 * Sessions are verified from a cache (src/auth/session-cache.ts), and every change to what a
 * signed-in user may do applies on the very next request on this instance, even while the
 * session sits warm in that cache: signOut, a USER group's permissions, and whatever calls
 * publishSessionChange (deactivation, password or role changes, by user, tenant or group).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { publishSessionChange } from '../../../src/auth/invalidation.js';
import { sessionLookup } from '../../../src/auth/session-lookup.js';
import { db } from '../../../src/db.js';
import { createAuthorizationGroup } from '../../../src/modules/authorization-group/authorization-group.service.js';
import { graphql } from '../../gql/index.js';
import { errorOf, execute, ok } from '../../helpers/app.js';
import { seedTenant, signedIn } from '../../helpers/seed.js';

const Viewer = graphql(`
  query SessionRevocationViewer {
    viewer {
      kind
      permissions
      user {
        id
      }
    }
  }
`);

const SignOut = graphql(`
  mutation SessionRevocationSignOut {
    signOut
  }
`);

const UpdateGroup = graphql(`
  mutation SessionRevocationUpdateGroup($id: ID!, $input: UpdateAuthorizationGroupInput!) {
    updateAuthorizationGroup(id: $id, input: $input) {
      permissions
    }
  }
`);

afterEach(() => {
  vi.restoreAllMocks();
});

/** Uses the session twice and proves the first use read the database and the second the cache. */
async function warmCache(token: string) {
  const lookups = vi.spyOn(sessionLookup, 'findByDigest');
  await ok(Viewer, {}, { token });
  expect(lookups).toHaveBeenCalledTimes(1);
  await ok(Viewer, {}, { token });
  expect(lookups).toHaveBeenCalledTimes(1);
  lookups.mockRestore();
}

async function permissionsOf(token: string) {
  return (await ok(Viewer, {}, { token })).viewer.permissions;
}

describe('session changes apply on the next request, with a warm cache', () => {
  it('signOut: the next request with the token gets 401; the same user’s other session keeps working', async () => {
    const seed = await seedTenant();
    const other = await signedIn(seed.tenant.id, 'MEMBER');
    const second = await signedIn(seed.tenant.id, 'MEMBER');
    await warmCache(other.token);
    await warmCache(second.token);

    expect((await ok(SignOut, {}, { token: other.token })).signOut).toBe(true);

    const result = await execute(Viewer, {}, { token: other.token });
    expect(errorOf(result)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', reason: 'INVALID' });
    expect(result.data).toBeUndefined();
    expect(await db.session.count({ where: { userId: other.user.id } })).toBe(0);
    expect((await ok(Viewer, {}, { token: second.token })).viewer.user?.id).toBe(second.user.id);
  });

  it("updateAuthorizationGroup: a USER group's new permissions apply to its members' sessions at once", async () => {
    const seed = await seedTenant();
    const group = await createAuthorizationGroup(seed.platform.principal, {
      tenantId: seed.tenant.id,
      name: 'Project managers',
      type: 'USER',
      permissions: ['projects:manage'],
    });
    const member = await signedIn(seed.tenant.id, 'MEMBER', group.id);
    await warmCache(member.token);
    expect(await permissionsOf(member.token)).toContain('projects:manage');

    await ok(UpdateGroup, { id: group.id, input: { permissions: ['workspaces:manage'] } }, { token: seed.admin.token });
    const after = await permissionsOf(member.token);
    expect(after).toContain('workspaces:manage');
    expect(after).not.toContain('projects:manage');
  });

  it('publishSessionChange({ userId }): a role changed in the database applies to every session of the user at once', async () => {
    const seed = await seedTenant();
    const member = await signedIn(seed.tenant.id, 'MEMBER');
    await warmCache(member.token);

    await db.user.update({ where: { id: member.user.id }, data: { role: 'TENANT_ADMIN' } });
    // Unpublished, the change is not seen (the cache is really in use): this is what the
    // TTL bounds for writers that cannot reach this process.
    expect(await permissionsOf(member.token)).not.toContain('users:manage');

    publishSessionChange({ userId: member.user.id });
    expect(await permissionsOf(member.token)).toContain('users:manage');
  });

  it('publishSessionChange({ tenantId }): every session of the tenant is read again at once', async () => {
    const seed = await seedTenant();
    const [one, two] = [await signedIn(seed.tenant.id, 'MEMBER'), await signedIn(seed.tenant.id, 'MEMBER')];
    await warmCache(one.token);
    await warmCache(two.token);

    await db.session.deleteMany({ where: { userId: { in: [one.user.id, two.user.id] } } });
    publishSessionChange({ tenantId: seed.tenant.id });
    expect(errorOf(await execute(Viewer, {}, { token: one.token }))).toMatchObject({ status: 401, reason: 'INVALID' });
    expect(errorOf(await execute(Viewer, {}, { token: two.token }))).toMatchObject({ status: 401, reason: 'INVALID' });
  });

  it('a lookup that started before a sign-out does not put the ended session back in the cache', async () => {
    const seed = await seedTenant();
    const member = await signedIn(seed.tenant.id, 'MEMBER');
    const read = sessionLookup.findByDigest.bind(sessionLookup);
    // The database answers (with the live session), then the sign-out commits and is
    // published, and only then does the lookup return and try to cache what it read.
    vi.spyOn(sessionLookup, 'findByDigest').mockImplementationOnce(async (digest) => {
      const session = await read(digest);
      await db.session.deleteMany({ where: { id: session!.id } });
      publishSessionChange({ sessionId: session!.id });
      return session;
    });
    await ok(Viewer, {}, { token: member.token });

    expect(errorOf(await execute(Viewer, {}, { token: member.token }))).toMatchObject({ status: 401, reason: 'INVALID' });
  });

  it('a session that expires while cached is refused (expiry is checked on every request)', async () => {
    const seed = await seedTenant();
    const member = await signedIn(seed.tenant.id, 'MEMBER');
    await db.session.updateMany({ where: { userId: member.user.id }, data: { expiresAt: new Date(Date.now() + 300) } });
    await warmCache(member.token);
    await new Promise((resolve) => setTimeout(resolve, 400));

    const lookups = vi.spyOn(sessionLookup, 'findByDigest');
    expect(errorOf(await execute(Viewer, {}, { token: member.token }))).toMatchObject({ status: 401, reason: 'EXPIRED' });
    expect(lookups, 'answered from the cache, well within its TTL').not.toHaveBeenCalled();
  });
});
