/**
 * `keygate admin reset-password` against a running server on its own database: the new
 * password works at once, the old one and every session of the user stop working, the
 * audit trail records the reset (actor SYSTEM), and a wrong email or tenant changes nothing.
 * Also: KEYGATE_ADMIN_PASSWORD only seeds the first administrator, and says so afterwards.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDb } from '../../../src/db.js';
import { SYSTEM_TENANT_SLUG } from '../../../src/modules/user/bootstrap.js';
import { graphqlOverHttp, startServer, stopServer, until, type ServerProcess } from '../hardening/server-process.js';
import { afterTest, ownDatabaseUrl, runKeygate, stderrLines } from './cli-process.js';

const ADMIN = { email: 'operator@keygate.test', password: 'first-operator-password' };
/** The server caches verified sessions this long; a CLI in another process reaches it by NOTIFY on PostgreSQL, and by this bound on SQLite. */
const SESSION_CACHE_TTL_MS = 1_000;
const SIGN_IN = `mutation CliSignIn($email: String!, $password: String!) { signIn(email: $email, password: $password) { token } }`;

async function signIn(server: ServerProcess, password: string) {
  return graphqlOverHttp<{ signIn: { token: string } }>(server, SIGN_IN, { email: ADMIN.email, password });
}

async function viewerKind(server: ServerProcess, token: string) {
  return graphqlOverHttp<{ viewer: { kind: string } }>(server, '{ viewer { kind } }', {}, { authorization: `Bearer ${token}` });
}

/** A server with its administrator signed in twice (two sessions), and a client on its database. */
async function serverWithAdminSessions() {
  const databaseUrl = ownDatabaseUrl();
  const server = await startServer({
    DATABASE_URL: databaseUrl,
    KEYGATE_ADMIN_EMAIL: ADMIN.email,
    KEYGATE_ADMIN_PASSWORD: ADMIN.password,
    KEYGATE_SESSION_CACHE_TTL_MS: String(SESSION_CACHE_TTL_MS),
  });
  const tokens = [(await signIn(server, ADMIN.password)).data!.signIn.token, (await signIn(server, ADMIN.password)).data!.signIn.token];
  const store = createDb(databaseUrl);
  afterTest(() => store.$disconnect());
  const admin = await store.user.findFirstOrThrow({ where: { email: ADMIN.email }, include: { tenant: true } });
  return { databaseUrl, server, tokens, store, admin };
}

describe('the first administrator', { timeout: 120_000 }, () => {
  it('seeded from a mixed-case KEYGATE_ADMIN_EMAIL is stored lower-cased: signs in with any case, and reset-password finds it', async () => {
    const databaseUrl = ownDatabaseUrl();
    const server = await startServer({ DATABASE_URL: databaseUrl, KEYGATE_ADMIN_EMAIL: 'Boss@Example.TEST', KEYGATE_ADMIN_PASSWORD: 'boss-password-123' });
    afterTest(async () => void (await stopServer(server)));
    for (const email of ['Boss@Example.TEST', 'boss@example.test']) {
      const signedIn = await graphqlOverHttp<{ signIn: { token: string } }>(server, SIGN_IN, { email, password: 'boss-password-123' });
      expect(signedIn.data?.signIn.token, JSON.stringify(signedIn.errors)).toBeTruthy();
    }
    const store = createDb(databaseUrl);
    afterTest(() => store.$disconnect());
    expect((await store.user.findMany({ where: { role: 'PLATFORM_ADMIN' } })).map((user) => user.email)).toEqual(['boss@example.test']);
    const reset = await runKeygate(['admin', 'reset-password', 'BOSS@example.test'], { DATABASE_URL: databaseUrl, KEYGATE_NEW_PASSWORD: 'boss-password-456' });
    expect(reset.code, reset.stderr).toBe(0);
  });
});

describe('keygate admin reset-password', { timeout: 120_000 }, () => {
  it('sets KEYGATE_NEW_PASSWORD, ends every session of the user, and records the reset', async () => {
    const { databaseUrl, server, tokens, store, admin } = await serverWithAdminSessions();
    expect((await viewerKind(server, tokens[0]!)).data?.viewer.kind).toBe('SESSION');

    const newPassword = 'recovered-password-2026';
    const result = await runKeygate(['admin', 'reset-password', ADMIN.email.toUpperCase()], { DATABASE_URL: databaseUrl, KEYGATE_NEW_PASSWORD: newPassword });

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`password of ${ADMIN.email} (tenant ${SYSTEM_TENANT_SLUG}) reset; 2 session(s) ended`);
    expect(result.stdout + result.stderr).not.toContain(newPassword);
    for (const token of tokens) {
      await until(server, async () => (await viewerKind(server, token)).status === 401, SESSION_CACHE_TTL_MS + 2_000, 'the ended session refused');
      const rejected = await viewerKind(server, token);
      expect(rejected.status).toBe(401);
      expect(rejected.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
    expect((await signIn(server, ADMIN.password)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const fresh = await signIn(server, newPassword);
    expect((await viewerKind(server, fresh.data!.signIn.token)).data?.viewer.kind).toBe('SESSION');

    expect(await store.session.count({ where: { userId: admin.id } })).toBe(1); // only the new one
    const events = await store.auditEvent.findMany({ where: { action: 'user.password_reset', targetId: admin.id } });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actorKind: 'SYSTEM', actorId: null, tenantId: admin.tenantId, targetType: 'User' });
    expect(JSON.stringify(events[0]!.metadata)).not.toContain(newPassword);
    await stopServer(server);
  });

  it('without KEYGATE_NEW_PASSWORD prints a generated password once, which then signs in', async () => {
    const { databaseUrl, server } = await serverWithAdminSessions();

    const result = await runKeygate(['admin', 'reset-password', ADMIN.email, '--tenant', SYSTEM_TENANT_SLUG], { DATABASE_URL: databaseUrl });

    expect(result.code, result.stderr).toBe(0);
    const generated = /new password: (\S+)/.exec(result.stdout)?.[1];
    expect(generated).toBeDefined();
    expect(generated!.length).toBeGreaterThanOrEqual(20);
    expect(result.stdout.split(generated!)).toHaveLength(2); // printed exactly once
    expect(result.stderr).not.toContain(generated!);
    expect((await signIn(server, generated!)).data?.signIn.token).toMatch(/^kgs_/);
    expect((await signIn(server, ADMIN.password)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    await stopServer(server);
  });

  it('refuses an unknown email, another tenant, or a short password with one line, and changes nothing', async () => {
    const { databaseUrl, server, tokens, store, admin } = await serverWithAdminSessions();
    const settings = { DATABASE_URL: databaseUrl, KEYGATE_NEW_PASSWORD: 'never-applied-password' };

    const refusals = [
      [await runKeygate(['admin', 'reset-password', 'nobody@keygate.test'], settings), 'no user with email nobody@keygate.test'],
      [await runKeygate(['admin', 'reset-password', ADMIN.email, '--tenant', 'acme'], settings), `no user with email ${ADMIN.email} in tenant acme`],
      [await runKeygate(['admin', 'reset-password', ADMIN.email], { ...settings, KEYGATE_NEW_PASSWORD: 'short' }), 'at least 12 characters'],
    ] as const;

    for (const [result, message] of refusals) {
      expect(result.code).toBe(1);
      expect(stderrLines(result)).toEqual([expect.stringContaining(message)]);
    }
    expect((await viewerKind(server, tokens[0]!)).data?.viewer.kind).toBe('SESSION');
    expect((await signIn(server, ADMIN.password)).data?.signIn.token).toBeDefined();
    expect(await store.auditEvent.count({ where: { action: 'user.password_reset', targetId: admin.id } })).toBe(0);
    await stopServer(server);
  });

  it('a DATABASE_URL naming a SQLite file that does not exist is named, and no file is created there', async () => {
    const missing = path.join(mkdtempSync(path.join(tmpdir(), 'keygate-missing-')), 'typo.db');
    const result = await runKeygate(['admin', 'reset-password', ADMIN.email], { DATABASE_URL: `file:${missing}`, KEYGATE_NEW_PASSWORD: 'never-applied-password' });
    expect(result.code).toBe(1);
    expect(stderrLines(result)).toEqual([expect.stringContaining(`${missing}, which does not exist`)]);
    expect(existsSync(missing)).toBe(false);
  });
});

describe('KEYGATE_ADMIN_PASSWORD', { timeout: 120_000 }, () => {
  it('only seeds the first administrator; later starts warn once and point to reset-password', async () => {
    const databaseUrl = ownDatabaseUrl();
    const settings = { DATABASE_URL: databaseUrl, KEYGATE_ADMIN_EMAIL: ADMIN.email, KEYGATE_ADMIN_PASSWORD: ADMIN.password };
    const first = await startServer(settings);
    await stopServer(first);
    expect(first.stderr()).not.toContain('KEYGATE_ADMIN_PASSWORD');

    const second = await startServer({ ...settings, KEYGATE_ADMIN_PASSWORD: 'a-different-password' });
    const warnings = second.stderr().split('\n').filter((line) => line.includes('KEYGATE_ADMIN_PASSWORD'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 'warn', message: expect.stringContaining('keygate admin reset-password') });
    expect((await signIn(second, ADMIN.password)).data?.signIn.token).toBeDefined();
    expect((await signIn(second, 'a-different-password')).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    await stopServer(second);
  });
});
