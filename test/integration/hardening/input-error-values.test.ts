/**
 * A value of the wrong type is BAD_USER_INPUT naming the variable or field, and its message
 * never quotes the value: a secret or a password sent as a list or an unquoted literal would
 * otherwise come back in the error (src/security/input-errors.ts).
 */
import { describe, expect, it } from 'vitest';
import { seedTenant } from '../../helpers/seed.js';
import { appWith, postQuery } from './support.js';

const app = appWith({});

describe('input errors do not quote the value', () => {
  it('a secret or password in a variable of the wrong type', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const admin = { authorization: `Bearer ${seed.admin.token}` };
    const cases: [string, Record<string, unknown>, Record<string, string>, string, string][] = [
      // extensions.field names the argument the variable is passed to, not the variable.
      ['mutation ($s: String!) { reportLeakedApiKey(secret: $s) { action } }', { s: [key.secret] }, admin, key.secret, 'secret'],
      ['mutation ($s: String!) { reportLeakedApiKey(secret: $s) { action } }', { s: { nested: key.secret } }, admin, key.secret, 'secret'],
      ['mutation ($p: String!) { signIn(email: "x@example.test", password: $p) { token } }', { p: ['tenant-password-123'] }, {}, 'tenant-password-123', 'password'],
      ['mutation ($p: String!) { signIn(email: "x@example.test", password: $p) { token } }', { p: 987654321098765 }, {}, '987654321098765', 'password'],
      ['mutation ($input: CreateUserInput!) { createUser(input: $input) { id } }', { input: { email: 'a@example.test', password: ['secret-password-456'] } }, admin, 'secret-password-456', 'password'],
      // A scalar that prints the value it refuses without quotes (graphql-scalars' DateTime).
      [
        'mutation ($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret } }',
        { i: { name: 'Pasted', authorizationGroupId: seed.keyGroup.id, expiresAt: key.secret } },
        admin,
        key.secret,
        'expiresAt',
      ],
      ['mutation ($i: RotateApiKeyInput) { rotateApiKey(id: "x", input: $i) { secret } }', { i: { expiresAt: seed.admin.token } }, admin, seed.admin.token, 'expiresAt'],
    ];
    for (const [query, variables, headers, secret, field] of cases) {
      const result = await postQuery(app, query, { variables, headers });
      expect(result.errors?.[0]?.extensions, query).toMatchObject({ code: 'BAD_USER_INPUT', field });
      expect(JSON.stringify(result), query).not.toContain(secret);
    }
  });

  it('extensions.field names the input field: the argument a variable feeds, or the unknown field of an input object', async () => {
    const seed = await seedTenant();
    const admin = { authorization: `Bearer ${seed.admin.token}` };
    const cases: [string, Record<string, unknown>, string][] = [
      ['query ($f: Int) { apiKeys(first: $f) { totalCount } }', { f: '5' }, 'first'],
      ['query ($org: ID) { apiKeys(first: 1) { totalCount } webhookEndpoints(organizationId: $org) { id } }', { org: { id: 1 } }, 'organizationId'],
      ['mutation ($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret } }', { i: { name: 'Typo', authorizationGroupId: seed.keyGroup.id, bogus: 1 } }, 'bogus'],
      ['mutation ($n: String!) { createOrganization(input: { name: $n }) { id } }', { n: 5 }, 'name'],
    ];
    for (const [query, variables, field] of cases) {
      const result = await postQuery(app, query, { variables, headers: admin });
      expect(result.errors?.[0]?.extensions, query).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
  });

  it('a secret or password written as a literal of the wrong type', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const admin = { authorization: `Bearer ${seed.admin.token}` };
    for (const [query, secret] of [
      [`mutation { reportLeakedApiKey(secret: ${key.secret}) { action } }`, key.secret],
      [`mutation { reportLeakedApiKey(secret: ["${key.secret}"]) { action } }`, key.secret],
      ['mutation { signIn(email: "x@example.test", password: ["tenant-password-123"]) { token } }', 'tenant-password-123'],
      [`mutation { rotateApiKey(id: "x", input: { expiresAt: "${seed.admin.token}" }) { secret } }`, seed.admin.token],
    ] as const) {
      const result = await postQuery(app, query, { headers: admin });
      expect(result.errors?.length, query).toBeGreaterThan(0);
      expect(JSON.stringify(result), query).not.toContain(secret);
    }
  });
});
