import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { graphql } from '../../gql/index.js';
import { errorOf, execute, ok } from '../../helpers/app.js';
import { PASSWORD, seedTenant, unique } from '../../helpers/seed.js';

const SignIn = graphql(`
  mutation SessionsSignIn($email: String!, $password: String!) {
    signIn(email: $email, password: $password) {
      token
      expiresAt
      user {
        id
        email
        role
        tenant {
          id
        }
      }
    }
  }
`);

const SignOut = graphql(`
  mutation SessionsSignOut {
    signOut
  }
`);

const WhoAmI = graphql(`
  query SessionsWhoAmI {
    viewer {
      kind
      user {
        id
      }
    }
  }
`);

const CreateUser = graphql(`
  mutation SessionsCreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      id
      email
    }
  }
`);

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('signIn', () => {
  it('returns a token, its expiry and the user, and stores only the token digest', async () => {
    const { member } = await seedTenant();
    const before = Date.now();

    const { signIn } = await ok(SignIn, { email: member.user.email, password: PASSWORD });

    expect(signIn.token).toMatch(/^kgs_/);
    expect(new Date(signIn.expiresAt).getTime()).toBeGreaterThan(before);
    expect(signIn.user).toMatchObject({ id: member.user.id, email: member.user.email, role: 'MEMBER', tenant: { id: member.user.tenantId } });

    const sessions = await db.session.findMany({ where: { userId: member.user.id } });
    const issued = sessions.find((s) => s.tokenDigest === sha256(signIn.token));
    expect(issued).toBeDefined();
    expect(issued!.expiresAt.toISOString()).toBe(new Date(signIn.expiresAt).toISOString());
    for (const session of sessions) {
      for (const value of Object.values(session)) expect(String(value)).not.toContain(signIn.token);
    }
  });

  it('the issued token authenticates the user', async () => {
    const { member } = await seedTenant();
    const { signIn } = await ok(SignIn, { email: member.user.email, password: PASSWORD });
    const { viewer } = await ok(WhoAmI, {}, { token: signIn.token });
    expect(viewer).toEqual({ kind: 'SESSION', user: { id: member.user.id } });
  });

  it('gives the same error for a wrong password and for an unknown email', async () => {
    const { member } = await seedTenant();
    const sessionsBefore = await db.session.count({ where: { userId: member.user.id } });

    const wrongPassword = errorOf(await execute(SignIn, { email: member.user.email, password: 'not-the-password-1' }));
    const unknownEmail = errorOf(await execute(SignIn, { email: `${unique('nobody')}@example.test`, password: PASSWORD }));

    expect(wrongPassword.code).toBe('UNAUTHENTICATED');
    expect(unknownEmail).toEqual(wrongPassword);
    expect(await db.session.count({ where: { userId: member.user.id } })).toBe(sessionsBefore);
  });
});

describe('session credentials', () => {
  it('an expired session is refused with 401 EXPIRED', async () => {
    const { member } = await seedTenant();
    await db.session.updateMany({ where: { userId: member.user.id }, data: { expiresAt: new Date(Date.now() - 60_000) } });

    const result = await execute(WhoAmI, {}, { token: member.token });

    expect(errorOf(result)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', reason: 'EXPIRED' });
    expect(result.data ?? null).toBeNull();
  });

  it('signOut ends the session: its row is gone and the token is then INVALID', async () => {
    const { member } = await seedTenant();
    const digest = sha256(member.token);
    expect(await db.session.count({ where: { tokenDigest: digest } })).toBe(1);

    expect(await ok(SignOut, {}, { token: member.token })).toEqual({ signOut: true });

    expect(await db.session.count({ where: { tokenDigest: digest } })).toBe(0);
    expect(errorOf(await execute(WhoAmI, {}, { token: member.token }))).toMatchObject({
      status: 401,
      code: 'UNAUTHENTICATED',
      reason: 'INVALID',
    });
  });

  it('signOut ends only the calling session', async () => {
    const { member } = await seedTenant();
    const { signIn: other } = await ok(SignIn, { email: member.user.email, password: PASSWORD });

    await ok(SignOut, {}, { token: member.token });

    expect(await ok(WhoAmI, {}, { token: other.token })).toMatchObject({ viewer: { kind: 'SESSION' } });
  });

  it.each([
    ['a token with a broken checksum', (token: string) => `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`],
    ['a truncated token', (token: string) => token.slice(0, 20)],
    ['an unknown well-formed token', () => null],
  ])('%s is refused with 401 INVALID', async (_label, mangle) => {
    const { member } = await seedTenant();
    const unknownToken = (await ok(SignIn, { email: member.user.email, password: PASSWORD })).signIn.token;
    await db.session.deleteMany({ where: { tokenDigest: sha256(unknownToken) } });
    const token = mangle(member.token) ?? unknownToken;

    expect(errorOf(await execute(WhoAmI, {}, { token }))).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', reason: 'INVALID' });
  });

  it.each([
    ['a Basic scheme', (token: string) => `Basic ${token}`],
    ['a Bearer without a token', () => 'Bearer'],
    ['a Bearer with two words', (token: string) => `Bearer ${token} extra`],
    ['a Bearer with garbage', () => 'Bearer not-a-keygate-credential'],
  ])('an Authorization header with %s is refused with 401', async (_label, header) => {
    const { member } = await seedTenant();

    const result = await execute(WhoAmI, {}, { headers: { authorization: header(member.token) } });

    expect(errorOf(result)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', reason: 'INVALID' });
  });
});

describe('passwords', () => {
  it('the plaintext password of a created user is stored nowhere in the User row, and the user can sign in with it', async () => {
    const { tenant, admin } = await seedTenant();
    const password = `plain-${unique('secret')}-text`;
    const email = `${unique('new-user')}@example.test`;

    const { createUser } = await ok(CreateUser, { input: { email, password } }, { token: admin.token });

    const row = await db.user.findUniqueOrThrow({ where: { id: createUser.id } });
    expect(row.tenantId).toBe(tenant.id);
    for (const value of Object.values(row)) expect(String(value)).not.toContain(password);
    expect(row.passwordHash).toMatch(/^\$(argon2id|scrypt)/);
    await ok(SignIn, { email, password });
  });
});
