/**
 * User management through the real app: users, user, updateUser, deactivateUser and
 * changePassword, with the access policy's rules (nobody grants more than they hold, a
 * tenant admin cannot touch a platform admin, nobody changes their own role) and the
 * stored state after each call.
 */
import { describe, expect, it, vi } from 'vitest';
import { PERMISSIONS } from '../../../src/auth/permissions.js';
import { db } from '../../../src/db.js';
import { digestSecret } from '../../../src/auth/credentials.js';
import { createAuthorizationGroup } from '../../../src/modules/authorization-group/authorization-group.service.js';
import * as passwords from '../../../src/modules/user/password.js';
import { signIn } from '../../../src/modules/user/user.service.js';
import { errorOf, execute, ok } from '../../helpers/app.js';
import { createUserRow, PASSWORD, seedTenant, signedIn, unique, type Seed } from '../../helpers/seed.js';
import {
  ChangePassword,
  CreateKey,
  DeactivateUser,
  GetUser,
  KeyWithCreator,
  ListUsers,
  SignIn,
  UpdateUser,
} from './documents.js';

const userGroup = (seed: Seed, permissions: string[]) =>
  createAuthorizationGroup(seed.platform.principal, { tenantId: seed.tenant.id, name: unique('Users'), type: 'USER', permissions });

async function auditCount(tenantId: string) {
  return db.auditEvent.count({ where: { tenantId } });
}

describe('users and user', () => {
  it('lists a tenant’s users newest first with totalCount, filtered by role and group; pages with after', async () => {
    const seed = await seedTenant();
    const group = await userGroup(seed, ['audit:read']);
    const grouped = await createUserRow(seed.tenant.id, 'MEMBER', group.id);
    const asAdmin = { token: seed.admin.token };

    const all = (await ok(ListUsers, {}, asAdmin)).users;
    expect(all.totalCount).toBe(3);
    expect(all.edges[0]!.node.id).toBe(grouped.id);
    expect(new Set(all.edges.map((e) => e.node.id))).toEqual(new Set([seed.admin.user.id, seed.member.user.id, grouped.id]));

    const admins = (await ok(ListUsers, { role: 'TENANT_ADMIN' }, asAdmin)).users;
    expect(admins.edges.map((e) => e.node.id)).toEqual([seed.admin.user.id]);
    expect(admins.totalCount).toBe(1);
    const inGroup = (await ok(ListUsers, { authorizationGroupId: group.id }, asAdmin)).users;
    expect(inGroup.edges.map((e) => e.node.id)).toEqual([grouped.id]);

    const first = (await ok(ListUsers, { first: 2 }, asAdmin)).users;
    expect(first.pageInfo.hasNextPage).toBe(true);
    const rest = (await ok(ListUsers, { first: 2, after: first.pageInfo.endCursor }, asAdmin)).users;
    expect([...first.edges, ...rest.edges].map((e) => e.node.id)).toEqual(all.edges.map((e) => e.node.id));
  });

  it('a filtered page goes on after its last user left the filter (a role changed since): the cursor marks a position', async () => {
    const seed = await seedTenant();
    const members = [];
    for (let i = 0; i < 3; i++) members.push(await createUserRow(seed.tenant.id, 'MEMBER'));
    const asAdmin = { token: seed.admin.token };
    const first = (await ok(ListUsers, { role: 'MEMBER', first: 2 }, asAdmin)).users;
    expect(first.edges.map((e) => e.node.id)).toEqual([members[2]!.id, members[1]!.id]);
    await ok(UpdateUser, { id: members[1]!.id, input: { role: 'TENANT_ADMIN' } }, asAdmin);
    const rest = (await ok(ListUsers, { role: 'MEMBER', first: 2, after: first.pageInfo.endCursor }, asAdmin)).users;
    expect(rest.edges.map((e) => e.node.id)).toEqual([members[0]!.id, seed.member.user.id]);
  });

  it('platform administrators pick the tenant; others asking for another tenant get NOT_FOUND', async () => {
    const [seed, other] = await Promise.all([seedTenant(), seedTenant()]);
    const listed = (await ok(ListUsers, { tenantId: seed.tenant.id }, { token: seed.platform.token })).users;
    expect(listed.totalCount).toBe(2);
    expect(errorOf(await execute(ListUsers, { tenantId: seed.tenant.id }, { token: other.admin.token })).code).toBe('NOT_FOUND');
    // A foreign cursor is refused like a garbage one.
    const foreign = (await ok(ListUsers, { first: 1 }, { token: other.admin.token })).users.pageInfo.endCursor;
    expect(errorOf(await execute(ListUsers, { first: 1, after: foreign }, { token: seed.admin.token }))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
  });

  it('user(id): another tenant’s user is NOT_FOUND; a member without users:manage is FORBIDDEN', async () => {
    const [seed, other] = await Promise.all([seedTenant(), seedTenant()]);
    expect((await ok(GetUser, { id: seed.member.user.id }, { token: seed.admin.token })).user.email).toBe(seed.member.user.email);
    expect(errorOf(await execute(GetUser, { id: seed.member.user.id }, { token: other.admin.token })).code).toBe('NOT_FOUND');
    expect(errorOf(await execute(GetUser, { id: seed.admin.user.id }, { token: seed.member.token })).code).toBe('FORBIDDEN');
  });
});

describe('updateUser', () => {
  it('a tenant admin changes a member’s role and group; the change is stored, audited, and applies on the next request', async () => {
    const seed = await seedTenant();
    const group = await userGroup(seed, ['audit:read']);
    const readAudit = () => execute('{ auditEvents { edges { cursor } } }', {}, { token: seed.member.token });
    expect(errorOf(await readAudit()).code).toBe('FORBIDDEN');
    const changed = (await ok(UpdateUser, { id: seed.member.user.id, input: { authorizationGroupId: group.id } }, { token: seed.admin.token })).updateUser;
    expect(changed.authorizationGroup?.id).toBe(group.id);
    expect(await db.user.findUniqueOrThrow({ where: { id: seed.member.user.id } })).toMatchObject({ authorizationGroupId: group.id, role: 'MEMBER' });
    // The member's existing session holds audit:read from its next request.
    expect((await readAudit()).errors).toBeUndefined();
    const event = await db.auditEvent.findFirstOrThrow({ where: { tenantId: seed.tenant.id, action: 'user.updated', targetId: seed.member.user.id } });
    expect(event.metadata).toMatchObject({ authorizationGroupId: group.id });

    await ok(UpdateUser, { id: seed.member.user.id, input: { role: 'TENANT_ADMIN', authorizationGroupId: null } }, { token: seed.admin.token });
    expect(await db.user.findUniqueOrThrow({ where: { id: seed.member.user.id } })).toMatchObject({ role: 'TENANT_ADMIN', authorizationGroupId: null });
  });

  it('an edit that changes nothing writes and audits nothing: a user given its own role and group, a tenant its own name and limit, a group its own fields', async () => {
    const seed = await seedTenant();
    const before = await auditCount(seed.tenant.id);
    const userRow = await db.user.findUniqueOrThrow({ where: { id: seed.member.user.id } });
    const same = await ok(UpdateUser, { id: seed.member.user.id, input: { role: 'MEMBER', authorizationGroupId: userRow.authorizationGroupId } }, { token: seed.admin.token });
    expect(same.updateUser.authorizationGroup?.id ?? null).toBe(userRow.authorizationGroupId);
    const tenantRow = await db.tenant.findUniqueOrThrow({ where: { id: seed.tenant.id } });
    const UpdateTenant = 'mutation($id: ID!, $input: UpdateTenantInput!) { updateTenant(id: $id, input: $input) { name apiKeyLimit } }';
    const tenant = await ok<{ updateTenant: { name: string; apiKeyLimit: number } }, unknown>(
      UpdateTenant,
      { id: seed.tenant.id, input: { name: ` ${tenantRow.name} `, apiKeyLimit: tenantRow.apiKeyLimit } },
      { token: seed.platform.token },
    );
    expect(tenant.updateTenant).toEqual({ name: tenantRow.name, apiKeyLimit: tenantRow.apiKeyLimit });
    expect(await auditCount(seed.tenant.id)).toBe(before);
    expect((await db.user.findUniqueOrThrow({ where: { id: seed.member.user.id } })).updatedAt).toEqual(userRow.updatedAt);
    expect((await db.tenant.findUniqueOrThrow({ where: { id: seed.tenant.id } })).updatedAt).toEqual(tenantRow.updatedAt);

    // A group given its own name, its permissions in another order and its own controls.
    const group = await createAuthorizationGroup(seed.platform.principal, {
      tenantId: seed.tenant.id,
      name: unique('Same'),
      type: 'TENANT_API_KEY',
      permissions: ['projects:read', 'workspaces:read'],
      costBudget: { points: 100, windowSeconds: 60 },
    });
    const beforeGroup = await auditCount(seed.tenant.id);
    const UpdateGroup = 'mutation($id: ID!, $input: UpdateAuthorizationGroupInput!) { updateAuthorizationGroup(id: $id, input: $input) { id } }';
    await ok(UpdateGroup, { id: group.id, input: { name: group.name, permissions: ['workspaces:read', 'projects:read'], costBudget: { points: 100, windowSeconds: 60 } } }, { token: seed.admin.token });
    expect(await auditCount(seed.tenant.id)).toBe(beforeGroup);
    expect((await db.authorizationGroup.findUniqueOrThrow({ where: { id: group.id } })).updatedAt).toEqual(group.updatedAt);

    // A real change still is both.
    await ok(UpdateTenant, { id: seed.tenant.id, input: { apiKeyLimit: tenantRow.apiKeyLimit + 1 } }, { token: seed.platform.token });
    expect(await db.auditEvent.count({ where: { tenantId: seed.tenant.id, action: 'tenant.updated' } })).toBe(1);
    await ok(UpdateGroup, { id: group.id, input: { permissions: ['projects:read'] } }, { token: seed.admin.token });
    expect(await db.auditEvent.count({ where: { tenantId: seed.tenant.id, action: 'authorization_group.updated', targetId: group.id } })).toBe(1);
  });

  it('nobody grants more than they hold: a member with users:manage cannot make an admin, give a stronger group, or demote its admin', async () => {
    const seed = await seedTenant();
    const managers = await userGroup(seed, ['users:manage']);
    const manager = await signedIn(seed.tenant.id, 'MEMBER', managers.id);
    const strong = await userGroup(seed, [...PERMISSIONS]);
    const asManager = { token: manager.token };
    const before = await auditCount(seed.tenant.id);

    expect(errorOf(await execute(UpdateUser, { id: seed.member.user.id, input: { role: 'TENANT_ADMIN' } }, asManager)).code).toBe('FORBIDDEN');
    expect(errorOf(await execute(UpdateUser, { id: seed.member.user.id, input: { authorizationGroupId: strong.id } }, asManager)).code).toBe('FORBIDDEN');
    expect(errorOf(await execute(UpdateUser, { id: seed.admin.user.id, input: { role: 'MEMBER' } }, asManager)).code).toBe('FORBIDDEN');
    expect(errorOf(await execute(DeactivateUser, { id: seed.admin.user.id }, asManager))).toMatchObject({
      code: 'FORBIDDEN',
      message: 'Only tenant administrators may change or deactivate a tenant administrator.',
    });

    expect(await db.user.findUniqueOrThrow({ where: { id: seed.member.user.id } })).toMatchObject({ role: 'MEMBER', authorizationGroupId: null });
    expect(await db.user.findUniqueOrThrow({ where: { id: seed.admin.user.id } })).toMatchObject({ role: 'TENANT_ADMIN', deactivatedAt: null });
    expect(await auditCount(seed.tenant.id)).toBe(before);
  });

  it('a tenant admin cannot change or deactivate a platform administrator; nobody changes their own role', async () => {
    const seed = await seedTenant();
    const systemAdmin = await signedIn(seed.platform.tenant.id, 'TENANT_ADMIN');
    const asSystemAdmin = { token: systemAdmin.token };
    expect(errorOf(await execute(UpdateUser, { id: seed.platform.user.id, input: { role: 'MEMBER' } }, asSystemAdmin)).code).toBe('FORBIDDEN');
    expect(errorOf(await execute(DeactivateUser, { id: seed.platform.user.id }, asSystemAdmin)).code).toBe('FORBIDDEN');
    expect(await db.user.findUniqueOrThrow({ where: { id: seed.platform.user.id } })).toMatchObject({ role: 'PLATFORM_ADMIN', deactivatedAt: null });

    expect(errorOf(await execute(UpdateUser, { id: seed.admin.user.id, input: { role: 'MEMBER' } }, { token: seed.admin.token })).code).toBe('FORBIDDEN');
    expect((await db.user.findUniqueOrThrow({ where: { id: seed.admin.user.id } })).role).toBe('TENANT_ADMIN');
    // PLATFORM_ADMIN exists only in the system tenant, whoever asks.
    const result = await execute(UpdateUser, { id: seed.member.user.id, input: { role: 'PLATFORM_ADMIN' } }, { token: seed.platform.token });
    expect(errorOf(result)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'role' });
  });

  it('another tenant’s user is NOT_FOUND and nothing is written; a bad group is BAD_USER_INPUT on authorizationGroupId', async () => {
    const [seed, other] = await Promise.all([seedTenant(), seedTenant()]);
    const before = await auditCount(seed.tenant.id);
    expect(errorOf(await execute(UpdateUser, { id: seed.member.user.id, input: { role: 'TENANT_ADMIN' } }, { token: other.admin.token })).code).toBe('NOT_FOUND');
    expect(errorOf(await execute(DeactivateUser, { id: seed.member.user.id }, { token: other.admin.token })).code).toBe('NOT_FOUND');
    expect(await db.user.findUniqueOrThrow({ where: { id: seed.member.user.id } })).toMatchObject({ role: 'MEMBER', deactivatedAt: null });

    const otherGroup = await createAuthorizationGroup(other.platform.principal, { tenantId: other.tenant.id, name: 'Theirs', type: 'USER', permissions: [] });
    for (const groupId of [otherGroup.id, seed.keyGroup.id, 'no-such-group']) {
      const result = await execute(UpdateUser, { id: seed.member.user.id, input: { role: 'TENANT_ADMIN', authorizationGroupId: groupId } }, { token: seed.admin.token });
      expect(errorOf(result)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'authorizationGroupId' });
    }
    // Nothing half-written: the role in the same input was not applied either.
    expect(await db.user.findUniqueOrThrow({ where: { id: seed.member.user.id } })).toMatchObject({ role: 'MEMBER', authorizationGroupId: null });
    expect(await auditCount(seed.tenant.id)).toBe(before);
  });
});

describe('deactivateUser', () => {
  it('ends the user’s sessions at once, refuses its sign-in like a wrong password, and leaves its keys working and naming it', async () => {
    const seed = await seedTenant();
    const keyMaker = await signedIn(seed.tenant.id, 'TENANT_ADMIN');
    const { createApiKey } = await ok(CreateKey, { input: { name: 'made by a leaver', authorizationGroupId: seed.keyGroup.id } }, { token: keyMaker.token });
    const key = await db.apiKey.findUniqueOrThrow({ where: { id: createApiKey.apiKey.id } });
    const { token: secondSession } = await signIn(keyMaker.user.email, PASSWORD);

    const deactivated = (await ok(DeactivateUser, { id: keyMaker.user.id }, { token: seed.admin.token })).deactivateUser;
    expect(deactivated.deactivatedAt).not.toBeNull();
    expect(await db.session.count({ where: { userId: keyMaker.user.id } })).toBe(0);
    for (const token of [keyMaker.token, secondSession]) {
      expect(errorOf(await execute(GetUser, { id: seed.member.user.id }, { token }))).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    }
    const event = await db.auditEvent.findFirstOrThrow({ where: { action: 'user.deactivated', targetId: keyMaker.user.id } });
    expect(event.metadata).toMatchObject({ endedSessions: 2 });

    // Sign-in fails exactly like a wrong password.
    const deactivatedSignIn = await execute(SignIn, { email: keyMaker.user.email, password: PASSWORD });
    const wrongPassword = await execute(SignIn, { email: seed.member.user.email, password: 'not-the-password' });
    expect(errorOf(deactivatedSignIn)).toEqual(errorOf(wrongPassword));
    expect(errorOf(deactivatedSignIn).code).toBe('UNAUTHENTICATED');

    // A session row that outlived the deactivation (a racing signIn) is refused too.
    const { token: raced } = await signIn(seed.member.user.email, PASSWORD);
    await db.session.update({ where: { tokenDigest: digestSecret(raced) }, data: { userId: keyMaker.user.id } });
    expect(errorOf(await execute(GetUser, { id: seed.member.user.id }, { token: raced }))).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });

    // The key keeps working and still says who created it.
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).status).toBe('ACTIVE');
    const seen = (await ok(KeyWithCreator, { id: key.id }, { token: seed.admin.token })).apiKey;
    expect(seen.createdBy).toMatchObject({ id: keyMaker.user.id });
    expect(seen.createdBy?.deactivatedAt).not.toBeNull();
  });

  it('refuses to deactivate oneself or a user already deactivated (BAD_USER_INPUT on id)', async () => {
    const seed = await seedTenant();
    expect(errorOf(await execute(DeactivateUser, { id: seed.admin.user.id }, { token: seed.admin.token }))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    expect(await db.session.count({ where: { userId: seed.admin.user.id } })).toBe(1);
    await ok(DeactivateUser, { id: seed.member.user.id }, { token: seed.admin.token });
    expect(errorOf(await execute(DeactivateUser, { id: seed.member.user.id }, { token: seed.admin.token }))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
  });
});

const CreateUserDoc = 'mutation($input: CreateUserInput!) { createUser(input: $input) { id email } }';

describe('changePassword', () => {
  it('checks the current password, stores the new one, keeps this session and ends the others', async () => {
    const seed = await seedTenant();
    const { token: otherSession } = await signIn(seed.member.user.email, PASSWORD);
    const newPassword = 'a-brand-new-password';
    await ok(ChangePassword, { currentPassword: PASSWORD, newPassword }, { token: seed.member.token });

    expect((await execute(ListUsers, {}, { token: seed.member.token })).status).toBe(200);
    expect(errorOf(await execute(GetUser, { id: seed.member.user.id }, { token: otherSession })).status).toBe(401);
    expect(await db.session.count({ where: { userId: seed.member.user.id } })).toBe(1);
    expect(errorOf(await execute(SignIn, { email: seed.member.user.email, password: PASSWORD })).code).toBe('UNAUTHENTICATED');
    expect((await ok(SignIn, { email: seed.member.user.email, password: newPassword })).signIn.token).toMatch(/^kgs_/);
    const stored = await db.user.findUniqueOrThrow({ where: { id: seed.member.user.id } });
    expect(stored.passwordHash).not.toContain(newPassword);
    expect(await db.auditEvent.count({ where: { action: 'user.password_changed', targetId: seed.member.user.id } })).toBe(1);
  });

  it('a wrong current password is BAD_USER_INPUT on currentPassword, a short one on newPassword; nothing changes', async () => {
    const seed = await seedTenant();
    const { token: otherSession } = await signIn(seed.member.user.email, PASSWORD);
    const hash = (await db.user.findUniqueOrThrow({ where: { id: seed.member.user.id } })).passwordHash;
    const wrong = await execute(ChangePassword, { currentPassword: 'not-my-password', newPassword: 'long-enough-password' }, { token: seed.member.token });
    expect(errorOf(wrong)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'currentPassword' });
    const short = await execute(ChangePassword, { currentPassword: PASSWORD, newPassword: 'short' }, { token: seed.member.token });
    expect(errorOf(short)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'newPassword' });
    expect((await db.user.findUniqueOrThrow({ where: { id: seed.member.user.id } })).passwordHash).toBe(hash);
    expect((await execute(GetUser, { id: seed.member.user.id }, { token: otherSession })).status).toBe(200);
    expect(JSON.stringify([wrong.errors, short.errors])).not.toContain('long-enough-password');
  });

  it('a sign-in with the old password racing the change gets no session that outlives it', async () => {
    const seed = await seedTenant();
    // The sign-in verifies the old password, then (held here) the change commits before its session is made.
    let changed!: () => void;
    const changeCommitted = new Promise<void>((resolve) => (changed = resolve));
    const verify = passwords.verifyPassword;
    const held = vi.spyOn(passwords, 'verifyPassword').mockImplementation(async (hash, password) => {
      const verified = await verify(hash, password);
      if (password === PASSWORD) await changeCommitted;
      return verified;
    });
    try {
      const racing = execute(SignIn, { email: seed.member.user.email, password: PASSWORD }, { ip: '198.18.7.1' });
      await vi.waitFor(() => expect(held).toHaveBeenCalled());
      held.mockImplementation(verify); // the change's own check of the current password is not held
      await ok(ChangePassword, { currentPassword: PASSWORD, newPassword: 'changed-while-signing-in' }, { token: seed.member.token });
      changed();
      const result = await racing;
      expect(errorOf(result)).toMatchObject({ code: 'UNAUTHENTICATED' });
    } finally {
      held.mockRestore();
    }
    const sessions = await db.session.findMany({ where: { userId: seed.member.user.id } });
    expect(sessions.map((session) => session.tokenDigest)).toEqual([digestSecret(seed.member.token)]);
  });

  it('an email is one address however its accents are encoded (NFC and NFD): a second user with it is refused', async () => {
    const seed = await seedTenant();
    const local = `jos${unique('e').slice(1)}`;
    const composed = `${local}\u00e9@example.test`;
    const decomposed = `${local}e\u0301@example.test`;
    await ok(CreateUserDoc, { input: { email: composed, password: 'a-long-enough-password' } }, { token: seed.admin.token });
    const twin = await execute(CreateUserDoc, { input: { email: decomposed, password: 'a-long-enough-password' } }, { token: seed.admin.token });
    expect(errorOf(twin)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'email' });
    expect(await db.user.count({ where: { tenantId: seed.tenant.id, email: composed } })).toBe(1);
    // Signing in with either encoding finds the one user.
    expect((await ok(SignIn, { email: decomposed, password: 'a-long-enough-password' })).signIn.token).toMatch(/^kgs_/);
  });

  it('a password counts characters, not UTF-16 units: 6 emoji are 6 characters, too few', async () => {
    const seed = await seedTenant();
    const short = await execute(ChangePassword, { currentPassword: PASSWORD, newPassword: '🔑'.repeat(6) }, { token: seed.member.token });
    expect(errorOf(short)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'newPassword' });
    await ok(ChangePassword, { currentPassword: PASSWORD, newPassword: '🔑'.repeat(12) }, { token: seed.member.token });
  });

  it('an API key has no password to change (FORBIDDEN)', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    expect(errorOf(await execute(ChangePassword, { currentPassword: PASSWORD, newPassword: 'long-enough-password' }, { apiKey: key.secret })).code).toBe('FORBIDDEN');
  });
});
