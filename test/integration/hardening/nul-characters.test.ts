/**
 * The NUL character (U+0000) in any string of a request, written in the document, sent as a
 * variable, or hidden in a cursor, is the client's error (BAD_USER_INPUT naming the field),
 * never an unexpected one: PostgreSQL's text cannot hold it, and an anonymous caller must not
 * be able to write error lines into the log with it. The same on SQLite.
 */
import { describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { seedTenant } from '../../helpers/seed.js';
import { appWith, postQuery } from './support.js';

const logLines: string[] = [];
const app = appWith({ logLevel: 'info' }, logLines);
const errorLines = () => logLines.filter((line) => JSON.parse(line).level === 'error');
const cursor = (text: string) => Buffer.from(text).toString('base64');

describe('NUL characters', () => {
  it('in a literal or a variable: BAD_USER_INPUT naming the field, anonymous or not, and nothing written', async () => {
    const seed = await seedTenant();
    const admin = { authorization: `Bearer ${seed.admin.token}` };
    const usersBefore = await db.user.count({ where: { tenantId: seed.tenant.id } });
    const cases: [string, Record<string, unknown> | undefined, Record<string, string>, string][] = [
      ['mutation { signIn(email: "a\\u0000b@acme.test", password: "x") { token } }', undefined, {}, 'email'],
      // A variable is named by the argument it feeds, as a type error names it.
      ['mutation ($e: String!) { signIn(email: $e, password: "x") { token } }', { e: 'a\u0000b@acme.test' }, {}, 'email'],
      ['mutation ($t: String) { signIn(email: "a@acme.test", password: "x", tenant: $t) { token } }', { t: 'ac\u0000me' }, {}, 'tenant'],
      // In a JSON payload's key: the payload is named, not the key.
      [
        'mutation ($p: JSON!, $project: ID!) { deliverData(input: { projectId: $project, source: "erp", payload: $p }) { id } }',
        { p: { 'a\u0000b': 1 }, project: seed.project.id },
        admin,
        'payload',
      ],
      ['mutation ($input: CreateUserInput!) { createUser(input: $input) { id } }', { input: { email: 'a\u0000b@acme.test', password: 'long-enough-password' } }, admin, 'email'],
      ['{ user(id: "a\\u0000b") { id } }', undefined, admin, 'id'],
    ];
    for (const [query, variables, headers, field] of cases) {
      const result = await postQuery(app, query, { variables, headers });
      expect(result.errors?.[0]?.extensions, query).toMatchObject({ code: 'BAD_USER_INPUT', field });
      expect(result.errors?.[0]?.message, query).toContain('NUL');
    }
    expect(await db.user.count({ where: { tenantId: seed.tenant.id } })).toBe(usersBefore);
    expect(errorLines()).toEqual([]);
  });

  it('in a cursor: BAD_USER_INPUT on after, like any cursor of no row', async () => {
    const seed = await seedTenant();
    const admin = { authorization: `Bearer ${seed.admin.token}` };
    for (const after of [cursor('GPC:S:a\u0000b'), cursor('GPC:S:\u0000')]) {
      const result = await postQuery(app, 'query ($after: String) { users(first: 2, after: $after) { edges { node { id } } } }', { variables: { after }, headers: admin });
      expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    }
    expect(errorLines()).toEqual([]);
  });

  it('a control character in an email is refused like one in a name', async () => {
    const seed = await seedTenant();
    const result = await postQuery(app, 'mutation ($input: CreateUserInput!) { createUser(input: $input) { id } }', {
      variables: { input: { email: 'bell\u0007@acme.test', password: 'long-enough-password' } },
      headers: { authorization: `Bearer ${seed.admin.token}` },
    });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'email' });
  });
});
