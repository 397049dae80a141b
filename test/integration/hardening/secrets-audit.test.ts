/**
 * Secrets audit (product.md §2 "Secret shown once", §4 "logged server-side without
 * secrets"): a full key lifecycle through the API, with the test app logging at debug
 * level, then a search for every secret it handled: API key secrets (old and rotated),
 * session tokens, the bootstrap administrator's password and users' passwords, including
 * wrong ones. None may appear in a log line, in an error message returned to a client, in
 * any row of any table, or in an audit event.
 *
 * The display prefix (the first characters of a key) is stored on purpose, so the search
 * is for the secret and for its tail, which no legitimate place holds.
 */
import { describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { graphql } from '../../gql/index.js';
import { app, errorOf, execute, logLines, type Result } from '../../helpers/app.js';
import { PASSWORD, platformAdmin, seedTenant } from '../../helpers/seed.js';

const SignIn = graphql(`
  mutation HardeningAuditSignIn($email: String!, $password: String!) {
    signIn(email: $email, password: $password) {
      token
      expiresAt
    }
  }
`);

const SignOut = graphql(`
  mutation HardeningAuditSignOut {
    signOut
  }
`);

const CreateKey = graphql(`
  mutation HardeningAuditCreateKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      secret
      apiKey {
        id
        prefix
      }
    }
  }
`);

const RotateKey = graphql(`
  mutation HardeningAuditRotateKey($id: ID!) {
    rotateApiKey(id: $id) {
      secret
      apiKey {
        id
      }
    }
  }
`);

const RevokeKey = graphql(`
  mutation HardeningAuditRevokeKey($id: ID!) {
    revokeApiKey(id: $id) {
      id
      status
    }
  }
`);

const Viewer = graphql(`
  query HardeningAuditViewer {
    viewer {
      kind
      apiKey {
        id
        prefix
        lastUsedIp
      }
    }
  }
`);

const Deliver = graphql(`
  mutation HardeningAuditDeliver($input: DeliverDataInput!) {
    deliverData(input: $input) {
      id
    }
  }
`);

const AuditEvents = graphql(`
  query HardeningAuditEvents($tenantId: ID) {
    auditEvents(tenantId: $tenantId, first: 100) {
      edges {
        node {
          action
          targetType
          targetId
          metadata
        }
      }
    }
  }
`);

/**
 * Every table's rows as JSON text, each column read as the database's own text form (so a
 * value is searched as stored, and no column type needs decoding).
 */
async function dumpDatabase(): Promise<Record<string, string>> {
  const sqlite = process.env.DATABASE_URL!.startsWith('file:');
  const tables = await db.$queryRawUnsafe<{ name: string }[]>(
    sqlite ? `SELECT name FROM sqlite_master WHERE type = 'table'` : `SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()`,
  );
  const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;
  const dump: Record<string, string> = {};
  for (const { name } of tables) {
    const columns = sqlite
      ? (await db.$queryRawUnsafe<{ name: string }[]>(`SELECT name FROM pragma_table_info('${name.replaceAll("'", "''")}')`)).map((c) => c.name)
      : (
          await db.$queryRawUnsafe<{ name: string }[]>(
            `SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`,
            name,
          )
        ).map((c) => c.name);
    const select = columns.map((column) => `CAST(${quote(column)} AS TEXT) AS ${quote(column)}`).join(', ');
    dump[name] = JSON.stringify(await db.$queryRawUnsafe<unknown[]>(`SELECT ${select} FROM ${quote(name)}`));
  }
  return dump;
}

describe('secrets audit', () => {
  it('after a full key lifecycle, no secret, token or password is in the log, an error, a row or an audit event', async () => {
    const responses: Result<unknown>[] = [];
    const call = async <T>(result: Promise<Result<T>>) => {
      const done = await result;
      responses.push(done);
      return done;
    };
    const data = <T>(result: Result<T>) => {
      if (result.errors || !result.data) throw new Error(`expected success, got ${result.status}: ${JSON.stringify(result.errors)}`);
      return result.data;
    };

    await platformAdmin(); // the bootstrap administrator exists
    const seed = await seedTenant();
    const adminPassword = app.config.adminPassword!;
    const wrongPassword = 'wrong-password-Z9q8X7w6V5';

    // Sign in: the bootstrap administrator, the tenant admin, and a failed attempt (also inline).
    const platformToken = data(await call(execute(SignIn, { email: app.config.adminEmail, password: adminPassword }))).signIn.token;
    const adminToken = data(await call(execute(SignIn, { email: seed.admin.user.email, password: PASSWORD }))).signIn.token;
    expect(errorOf(await call(execute(SignIn, { email: seed.admin.user.email, password: wrongPassword })))).toMatchObject({ status: 401 });
    const inline = await call(
      execute(`mutation HardeningAuditInline { signIn(email: "${seed.admin.user.email}", password: "${wrongPassword}-inline") { token } }`),
    );
    expect(errorOf(inline).status).toBe(401);

    // Create a key with the session, use it, rotate it, use both secrets, revoke it.
    const created = data(
      await call(execute(CreateKey, { input: { name: 'Audited key', authorizationGroupId: seed.keyGroup.id, description: 'lifecycle' } }, { token: adminToken })),
    ).createApiKey;
    const first = created.secret;
    expect(data(await call(execute(Viewer, {}, { apiKey: first, ip: '198.51.100.77' }))).viewer.kind).toBe('API_KEY');
    data(await call(execute(Deliver, { input: { projectId: seed.project.id, source: 'audit', payload: { ok: true } } }, { apiKey: first })));

    const second = data(await call(execute(RotateKey, { id: created.apiKey.id }, { token: adminToken }))).rotateApiKey.secret;
    expect(errorOf(await call(execute(Viewer, {}, { apiKey: first })))).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    expect(errorOf(await call(execute(Viewer, {}, { token: first })))).toMatchObject({ status: 401 });
    expect(data(await call(execute(Viewer, {}, { apiKey: second, ip: '198.51.100.78' }))).viewer.apiKey?.id).toBe(created.apiKey.id);

    // A key cannot manage keys: the refusal must not quote the key either.
    expect(errorOf(await call(execute(RotateKey, { id: created.apiKey.id }, { apiKey: second }))).code).toBe('FORBIDDEN');

    data(await call(execute(RevokeKey, { id: created.apiKey.id }, { token: adminToken })));
    expect(errorOf(await call(execute(Viewer, {}, { apiKey: second })))).toMatchObject({ status: 401, reason: 'REVOKED' });
    // A typo of the secret (broken checksum) and two credentials at once are refused without an echo.
    const typo = second.slice(0, -1) + (second.endsWith('a') ? 'b' : 'a');
    expect(errorOf(await call(execute(Viewer, {}, { apiKey: typo })))).toMatchObject({ status: 401 });
    expect(errorOf(await call(execute(Viewer, {}, { apiKey: second, token: adminToken })))).toMatchObject({ status: 401 });

    const audit = data(await call(execute(AuditEvents, { tenantId: seed.tenant.id }, { token: platformToken }))).auditEvents.edges;
    expect(audit.map((edge) => edge.node.action)).toEqual(expect.arrayContaining(['api_key.created', 'api_key.rotated', 'api_key.revoked']));

    data(await call(execute(SignOut, {}, { token: adminToken })));
    expect(errorOf(await call(execute(Viewer, {}, { token: adminToken })))).toMatchObject({ status: 401 });
    await app.lastUsed.flush();

    const secrets = {
      'first key secret': first,
      'rotated key secret': second,
      'typo of the key': typo,
      'platform admin session token': platformToken,
      'tenant admin session token': adminToken,
      'admin password': adminPassword,
      'user password': PASSWORD,
      'wrong password': wrongPassword,
    };
    // A key's tail and a token's tail: the part no display prefix covers.
    const needles = Object.entries(secrets).flatMap(([what, secret]): [string, string][] => [
      [what, secret],
      [`${what} (tail)`, secret.slice(-20)],
    ]);

    const errorsReturned = responses.flatMap((r) => r.errors ?? []).map((error) => JSON.stringify(error));
    expect(errorsReturned.length).toBeGreaterThanOrEqual(8);
    const database = await dumpDatabase();
    expect(Object.keys(database)).toEqual(expect.arrayContaining(['ApiKey', 'Session', 'AuditEvent', 'User']));
    const auditText = JSON.stringify(audit);
    const logText = logLines.join('\n');

    const found: string[] = [];
    for (const [what, needle] of needles) {
      if (logText.includes(needle)) found.push(`${what} in the log`);
      for (const error of errorsReturned) if (error.includes(needle)) found.push(`${what} in an error: ${error}`);
      for (const [table, rows] of Object.entries(database)) if (rows.includes(needle)) found.push(`${what} in table ${table}`);
      if (auditText.includes(needle)) found.push(`${what} in an audit event`);
    }
    expect(found).toEqual([]);

    // The search is not vacuous: the stored key does carry the rotated secret's display prefix.
    expect(database.ApiKey).toContain(second.slice(0, app.config.keyPrefixLength));
    const row = await db.apiKey.findUniqueOrThrow({ where: { id: created.apiKey.id } });
    expect(row.status).toBe('REVOKED');
    expect(row.lastUsedAt).not.toBeNull();
  });
});
