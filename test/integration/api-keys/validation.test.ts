import { describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { createAuthorizationGroup } from '../../../src/modules/authorization-group/authorization-group.service.js';
import { createOrganization } from '../../../src/modules/organization/organization.service.js';
import { createProject } from '../../../src/modules/project/project.service.js';
import { createWorkspace } from '../../../src/modules/workspace/workspace.service.js';
import type { CreateApiKeyInput } from '../../gql/graphql.js';
import { errorOf, execute, ok } from '../../helpers/app.js';
import { seedTenant, type Seed } from '../../helpers/seed.js';
import { CreateKey, DAY_MS, KeyViewer, keyCount, RevokeKey } from './documents.js';

/** A tenant plus what the invalid inputs point at: a USER group, another organization, another tenant. */
async function seedWithNeighbours() {
  const seed = await seedTenant();
  const other = await seedTenant();
  const root = seed.platform.principal;
  const userGroup = await createAuthorizationGroup(root, {
    tenantId: seed.tenant.id,
    name: 'Editors',
    type: 'USER',
    permissions: ['projects:read'],
  });
  const secondOrganization = await createOrganization(root, { tenantId: seed.tenant.id, name: 'Second organization' });
  const secondWorkspace = await createWorkspace(root, { organizationId: secondOrganization.id, name: 'Second workspace' });
  const secondProject = await createProject(root, { workspaceId: secondWorkspace.id, name: 'Second project' }, null);
  return { seed, other, userGroup, secondOrganization, secondProject };
}

type World = Awaited<ReturnType<typeof seedWithNeighbours>>;

const invalidInputs: [string, string, (world: World) => Partial<CreateApiKeyInput>, RegExp?][] = [
  ['name shorter than 2 characters', 'name', () => ({ name: 'a' })],
  ['name longer than 200 characters', 'name', () => ({ name: 'n'.repeat(201) })],
  ['name of whitespace only', 'name', () => ({ name: '      ' })],
  ['name under 2 characters once trimmed', 'name', () => ({ name: '  a  ' })],
  ['name of one character outside the BMP (one character, two UTF-16 units)', 'name', () => ({ name: '🔑' })],
  ['name of invisible characters only', 'name', () => ({ name: '\u200b\u200b' }), /visible character/],
  ['name of default-ignorable characters only (combining grapheme joiner, variation selector, Hangul filler)', 'name', () => ({ name: '\u034f\ufe0f\u3164' }), /visible character/],
  ['name of combining marks alone', 'name', () => ({ name: '\u0301\u0301' }), /visible character/],
  ['name of 201 characters outside the BMP', 'name', () => ({ name: '🔑'.repeat(201) })],
  ['description longer than 1000 characters', 'description', () => ({ description: 'd'.repeat(1001) })],
  ['authorizationGroupId of a USER group', 'authorizationGroupId', (w) => ({ authorizationGroupId: w.userGroup.id })],
  ["authorizationGroupId of another tenant's group", 'authorizationGroupId', (w) => ({ authorizationGroupId: w.other.keyGroup.id })],
  ['authorizationGroupId that does not exist', 'authorizationGroupId', () => ({ authorizationGroupId: 'no-such-group' })],
  ['role ADMIN in a non-system tenant', 'role', () => ({ role: 'ADMIN' })],
  ['expiresAt in the past', 'expiresAt', () => ({ expiresAt: new Date(Date.now() - 60_000).toISOString() })],
  ['expiresAt together with expiresIn', 'expiresIn', () => ({ expiresAt: new Date(Date.now() + DAY_MS).toISOString(), expiresIn: 'DAYS_30' })],
  ['ipAllowlist entry 10.0.0.0/33', 'ipAllowlist', () => ({ ipAllowlist: ['10.0.0.0/33'] }), /10\.0\.0\.0\/33/],
  ['ipAllowlist entry not-an-ip', 'ipAllowlist', () => ({ ipAllowlist: ['not-an-ip'] }), /not-an-ip/],
  ['ipAllowlist entry 1.2.3', 'ipAllowlist', () => ({ ipAllowlist: ['1.2.3'] }), /"1\.2\.3"/],
  ['ipAllowlist with an empty entry (dropping it would allow any address)', 'ipAllowlist', () => ({ ipAllowlist: [''] }), /entry 1 is empty/],
  ['ipAllowlist with a blank entry among good ones', 'ipAllowlist', () => ({ ipAllowlist: ['10.0.0.0/8', '   '] }), /entry 2 is empty/],
  ['ipAllowlist with one bad entry among good ones', 'ipAllowlist', () => ({ ipAllowlist: ['10.0.0.0/8', '2001:db8::/32', '1.2.3'] }), /"1\.2\.3"/],
  ["organizationId of another tenant's organization", 'organizationId', (w) => ({ organizationId: w.other.organization.id })],
  ['organizationId empty (never read as none, which would reach the whole tenant)', 'organizationId', () => ({ organizationId: '' })],
  ['projectAccess SELECTED with no projects', 'projectIds', () => ({ projectAccess: 'SELECTED' })],
  ['projectAccess SELECTED with an empty project list', 'projectIds', () => ({ projectAccess: 'SELECTED', projectIds: [] })],
  ["projectAccess SELECTED with another tenant's project", 'projectIds', (w) => ({ projectAccess: 'SELECTED', projectIds: [w.other.project.id] })],
  [
    "projectAccess SELECTED with a project outside the key's organization",
    'projectIds',
    (w) => ({ organizationId: w.seed.organization.id, projectAccess: 'SELECTED', projectIds: [w.seed.project.id, w.secondProject.id] }),
  ],
  ['projectIds with projectAccess ALL', 'projectIds', (w) => ({ projectAccess: 'ALL', projectIds: [w.seed.project.id] })],
  ['projectIds without projectAccess (default ALL)', 'projectIds', (w) => ({ projectIds: [w.seed.project.id] })],
];

function validInput(seed: Seed, overrides: Partial<CreateApiKeyInput> = {}): CreateApiKeyInput {
  return { name: 'Valid key', authorizationGroupId: seed.keyGroup.id, ...overrides };
}

describe('createApiKey: validation', () => {
  it.each(invalidInputs)('createApiKey: refuses %s, naming field %s, and writes nothing', async (_label, field, overrides, message) => {
    const world = await seedWithNeighbours();
    const { seed } = world;
    const before = await keyCount(seed.tenant.id);
    const result = await execute(CreateKey, { input: validInput(seed, overrides(world)) }, { token: seed.admin.token });
    expect(result.data).toBeNull();
    expect(errorOf(result)).toMatchObject({ code: 'BAD_USER_INPUT', field });
    if (message) expect(errorOf(result).message).toMatch(message);
    expect(await keyCount(seed.tenant.id)).toEqual(before);
    expect(await db.apiKey.count({ where: { tenantId: world.other.tenant.id } })).toBe(0);
  });

  it('an empty tenantId names no tenant: never read as the caller’s own (the system tenant, for a platform admin)', async () => {
    const seed = await seedTenant();
    const name = `Nowhere ${seed.tenant.id}`;
    for (const token of [seed.platform.token, seed.admin.token]) {
      const created = await execute(CreateKey, { input: { ...validInput(seed, { name }), tenantId: '' } }, { token });
      expect(errorOf(created)).toMatchObject({ code: 'NOT_FOUND' });
      const listed = await execute('{ apiKeys(tenantId: "") { totalCount } }', {}, { token });
      expect(errorOf(listed)).toMatchObject({ code: 'NOT_FOUND' });
    }
    expect(await db.apiKey.count({ where: { name } })).toBe(0);
  });

  it('a platform administrator’s tenantId that names no tenant is NOT_FOUND on the lists too, not an empty tenant', async () => {
    const seed = await seedTenant();
    const nowhere = 'cmx9zzzzzzzzzzzzzzzzzzzzz';
    for (const query of ['{ apiKeys(tenantId: "cmx9zzzzzzzzzzzzzzzzzzzzz") { totalCount } }', '{ users(tenantId: "cmx9zzzzzzzzzzzzzzzzzzzzz") { totalCount } }', '{ organizations(tenantId: "cmx9zzzzzzzzzzzzzzzzzzzzz") { totalCount } }']) {
      const result = await execute(query, {}, { token: seed.platform.token });
      expect(errorOf(result), query).toMatchObject({ code: 'NOT_FOUND' });
      expect(result.data ?? null).toBeNull();
    }
    const byVariable = await execute('query($t: ID) { auditEvents(tenantId: $t, first: 5) { edges { node { id } } } }', { t: nowhere }, { token: seed.platform.token });
    expect(errorOf(byVariable)).toMatchObject({ code: 'NOT_FOUND' });
    // A tenant that exists is listed as before.
    expect((await ok<{ apiKeys: { totalCount: number } }, unknown>('query($t: ID) { apiKeys(tenantId: $t) { totalCount } }', { t: seed.tenant.id }, { token: seed.platform.token })).apiKeys.totalCount).toBe(0);
  });

  it('createApiKey: accepts names of exactly 2 and 200 characters and a 1000-character description, trimmed', async () => {
    const seed = await seedTenant();
    const short = await ok(CreateKey, { input: validInput(seed, { name: ' ab ' }) }, { token: seed.admin.token });
    expect(short.createApiKey.apiKey.name).toBe('ab');
    const long = await ok(
      CreateKey,
      { input: validInput(seed, { name: 'n'.repeat(200), description: ` ${'d'.repeat(1000)} ` }) },
      { token: seed.admin.token },
    );
    expect(long.createApiKey.apiKey.name).toHaveLength(200);
    // Counted in characters, not UTF-16 units: 200 emoji are 200 characters.
    const emoji = await ok(CreateKey, { input: validInput(seed, { name: '🔑'.repeat(200) }) }, { token: seed.admin.token });
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: emoji.createApiKey.apiKey.id } })).name).toBe('🔑'.repeat(200));
    expect(long.createApiKey.apiKey.description).toBe('d'.repeat(1000));
    const row = await db.apiKey.findUniqueOrThrow({ where: { id: short.createApiKey.apiKey.id } });
    expect(row.name).toBe('ab');
  });

  it('createApiKey: stores IPv4/IPv6 addresses and CIDR ranges of the allowlist', async () => {
    const seed = await seedTenant();
    const entries = ['10.0.0.0/8', '192.168.1.7', '2001:db8::/32', '::1'];
    const { createApiKey } = await ok(CreateKey, { input: validInput(seed, { ipAllowlist: entries }) }, { token: seed.admin.token });
    expect(createApiKey.apiKey.ipAllowlist).toEqual(entries);
    const row = await db.apiKey.findUniqueOrThrow({ where: { id: createApiKey.apiKey.id } });
    expect(row.ipAllowlist).toEqual(entries);
  });

  it('createApiKey: binds a key to an organization and its SELECTED projects', async () => {
    const seed = await seedTenant();
    const { createApiKey } = await ok(
      CreateKey,
      { input: validInput(seed, { organizationId: seed.organization.id, projectAccess: 'SELECTED', projectIds: [seed.project.id] }) },
      { token: seed.admin.token },
    );
    expect(createApiKey.apiKey).toMatchObject({
      organization: { id: seed.organization.id },
      projectAccess: 'SELECTED',
      projects: [{ id: seed.project.id }],
    });
    const links = await db.apiKeyProject.findMany({ where: { apiKeyId: createApiKey.apiKey.id } });
    expect(links.map((link) => link.projectId)).toEqual([seed.project.id]);
  });

  it.each([
    ['DAYS_7', 7],
    ['DAYS_30', 30],
    ['DAYS_60', 60],
    ['DAYS_90', 90],
  ] as const)('createApiKey: expiresIn %s sets expiresAt %i days ahead', async (expiresIn, days) => {
    const seed = await seedTenant();
    const before = Date.now();
    const { createApiKey } = await ok(CreateKey, { input: validInput(seed, { expiresIn }) }, { token: seed.admin.token });
    const after = Date.now();
    const row = await db.apiKey.findUniqueOrThrow({ where: { id: createApiKey.apiKey.id } });
    expect(row.expiresAt).not.toBeNull();
    expect(row.expiresAt!.getTime()).toBeGreaterThanOrEqual(before + days * DAY_MS - 1000);
    expect(row.expiresAt!.getTime()).toBeLessThanOrEqual(after + days * DAY_MS + 1000);
    expect(new Date(createApiKey.apiKey.expiresAt!).getTime()).toBe(row.expiresAt!.getTime());
    expect(createApiKey.apiKey.expirationState).toBe(days <= 7 ? 'EXPIRING_SOON' : 'VALID');
  });

  it('createApiKey: expiresIn NEVER, or no expiration at all, leaves expiresAt null', async () => {
    const seed = await seedTenant();
    const never = await ok(CreateKey, { input: validInput(seed, { expiresIn: 'NEVER' }) }, { token: seed.admin.token });
    const unset = await ok(CreateKey, { input: validInput(seed) }, { token: seed.admin.token });
    for (const { createApiKey } of [never, unset]) {
      expect(createApiKey.apiKey.expiresAt).toBeNull();
      expect((await db.apiKey.findUniqueOrThrow({ where: { id: createApiKey.apiKey.id } })).expiresAt).toBeNull();
    }
  });

  it('createApiKey: a future expiresAt is stored as given', async () => {
    const seed = await seedTenant();
    const expiresAt = new Date(Date.now() + 45 * DAY_MS);
    expiresAt.setMilliseconds(0);
    const { createApiKey } = await ok(CreateKey, { input: validInput(seed, { expiresAt: expiresAt.toISOString() }) }, { token: seed.admin.token });
    const row = await db.apiKey.findUniqueOrThrow({ where: { id: createApiKey.apiKey.id } });
    expect(row.expiresAt?.getTime()).toBe(expiresAt.getTime());
  });

  it('createApiKey: a platform admin creates an ADMIN key in the system tenant, which acts across tenants', async () => {
    const seed = await seedTenant();
    const systemGroup = await createAuthorizationGroup(seed.platform.principal, {
      tenantId: seed.platform.tenant.id,
      name: `Platform automation ${seed.tenant.id}`,
      type: 'TENANT_API_KEY',
      permissions: ['api_keys:read'],
    });
    const { createApiKey } = await ok(
      CreateKey,
      { input: { name: 'Platform admin key', authorizationGroupId: systemGroup.id, role: 'ADMIN' } },
      { token: seed.platform.token },
    );
    // The system tenant is shared by every test: give its slot back.
    try {
      expect(createApiKey.apiKey).toMatchObject({ role: 'ADMIN', tenant: { id: seed.platform.tenant.id } });
      const { viewer } = await ok(KeyViewer, {}, { apiKey: createApiKey.secret });
      expect(viewer).toMatchObject({ kind: 'API_KEY', crossTenant: true });
    } finally {
      await ok(RevokeKey, { id: createApiKey.apiKey.id }, { token: seed.platform.token });
    }
  });

  it("createApiKey: a platform admin cannot create an ADMIN key in a customer tenant", async () => {
    const seed = await seedTenant();
    const before = await keyCount(seed.tenant.id);
    const result = await execute(
      CreateKey,
      { input: validInput(seed, { tenantId: seed.tenant.id, role: 'ADMIN' }) },
      { token: seed.platform.token },
    );
    expect(errorOf(result)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'role' });
    expect(await keyCount(seed.tenant.id)).toEqual(before);
  });
});
