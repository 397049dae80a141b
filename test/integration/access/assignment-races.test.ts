/**
 * Assignments racing deletions and edits racing revokes, sent together many times (on
 * PostgreSQL they run in parallel; db/row-locks.ts): whichever wins, the other is a clear
 * BAD_USER_INPUT, never "Unexpected error.", and what is stored is never an active key or
 * user in a deleted group, a key bound to a deleted organization, or a revoked key edited.
 */
import { describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { createAuthorizationGroup } from '../../../src/modules/authorization-group/authorization-group.service.js';
import { createOrganization } from '../../../src/modules/organization/organization.service.js';
import { errorOf, execute, type Result } from '../../helpers/app.js';
import { seedTenant, unique, type Seed } from '../../helpers/seed.js';

const ROUNDS = 12;
const CREATE_KEY = 'mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } } }';
const UPDATE_KEY = 'mutation ($id: ID!, $input: UpdateApiKeyInput!) { updateApiKey(id: $id, input: $input) { id status name } }';
const REVOKE_KEY = 'mutation ($id: ID!) { revokeApiKey(id: $id) { id } }';
const CREATE_USER = 'mutation ($input: CreateUserInput!) { createUser(input: $input) { id } }';
const DELETE_GROUP = 'mutation ($id: ID!) { deleteAuthorizationGroup(id: $id) }';
const DELETE_ORGANIZATION = 'mutation ($id: ID!) { deleteOrganization(id: $id) }';

function group(seed: Seed, type: 'USER' | 'TENANT_API_KEY') {
  return createAuthorizationGroup(seed.platform.principal, { tenantId: seed.tenant.id, name: unique('Racing'), type, permissions: ['projects:read'] });
}

/** Each result either succeeded or was refused as the caller's input: nothing unexpected. */
function expectWonOrRefused(results: Result<unknown>[]) {
  for (const result of results) if (result.errors) expect(errorOf(result).code, errorOf(result).message).toBe('BAD_USER_INPUT');
}

describe('assignments racing deletions', () => {
  it('a group deleted while a key or a user is given it: never an active key or user in a deleted group', async () => {
    const seed = await seedTenant();
    const asAdmin = { token: seed.admin.token };
    for (let round = 0; round < ROUNDS; round++) {
      const [keyGroup, userGroup] = await Promise.all([group(seed, 'TENANT_API_KEY'), group(seed, 'USER')]);
      const results = await Promise.all([
        execute(CREATE_KEY, { input: { name: 'Racing key', authorizationGroupId: keyGroup.id } }, asAdmin),
        execute(DELETE_GROUP, { id: keyGroup.id }, asAdmin),
        execute(CREATE_USER, { input: { email: `${unique('racer')}@example.test`, password: 'long-enough-password', authorizationGroupId: userGroup.id } }, asAdmin),
        execute(DELETE_GROUP, { id: userGroup.id }, asAdmin),
      ]);
      expectWonOrRefused(results);
    }
    const inDeletedGroups = await db.apiKey.count({ where: { tenantId: seed.tenant.id, status: 'ACTIVE', authorizationGroup: { deletedAt: { not: null } } } });
    const usersInDeletedGroups = await db.user.count({ where: { tenantId: seed.tenant.id, deactivatedAt: null, authorizationGroup: { deletedAt: { not: null } } } });
    expect({ inDeletedGroups, usersInDeletedGroups }).toEqual({ inDeletedGroups: 0, usersInDeletedGroups: 0 });
  });

  it('an organization deleted while a key is bound to it: the key or the deletion is refused, never an unexpected error', async () => {
    const seed = await seedTenant();
    const asAdmin = { token: seed.admin.token };
    for (let round = 0; round < ROUNDS; round++) {
      const organization = await createOrganization(seed.platform.principal, { tenantId: seed.tenant.id, name: unique('Racing organization') });
      const results = await Promise.all([
        execute(CREATE_KEY, { input: { name: 'Bound key', authorizationGroupId: seed.keyGroup.id, organizationId: organization.id } }, asAdmin),
        execute(DELETE_ORGANIZATION, { id: organization.id }, asAdmin),
      ]);
      expectWonOrRefused(results);
      expect(results.filter((result) => !result.errors)).toHaveLength(1);
    }
  });
});

describe('an edit racing a revoke', () => {
  it('a revoked key is never edited: an edit that succeeds saw the key ACTIVE, one that comes after is refused', async () => {
    const seed = await seedTenant();
    const asAdmin = { token: seed.admin.token };
    for (let round = 0; round < ROUNDS; round++) {
      const key = await seed.createKey({ name: 'Before' });
      const [edit, revoke] = await Promise.all([
        execute<{ updateApiKey: { status: string } }, unknown>(UPDATE_KEY, { id: key.id, input: { name: 'After', ipAllowlist: ['10.1.1.1'] } }, asAdmin),
        execute(REVOKE_KEY, { id: key.id }, asAdmin),
      ]);
      expect(revoke.errors).toBeUndefined();
      expectWonOrRefused([edit]);
      const row = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });
      expect(row.status).toBe('REVOKED');
      if (edit.errors) expect(row.name).toBe('Before');
      else expect(edit.data?.updateApiKey.status).toBe('ACTIVE');
    }
  });
});
