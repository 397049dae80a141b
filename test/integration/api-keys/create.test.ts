import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { app, errorOf, execute, logLines, ok } from '../../helpers/app.js';
import { seedTenant } from '../../helpers/seed.js';
import { CreateKey, everyField, expectSecretStoredNowhere, KeyViewer } from './documents.js';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('createApiKey', () => {
  it('createApiKey: returns { secret, apiKey } to a tenant admin and stores only the SHA-256 digest', async () => {
    const seed = await seedTenant();
    const before = new Date();
    const { createApiKey } = await ok(
      CreateKey,
      { input: { name: '  Billing sync  ', description: 'Pushes invoices', authorizationGroupId: seed.keyGroup.id } },
      { token: seed.admin.token },
    );
    const { secret, apiKey } = createApiKey;

    expect(secret).toMatch(/^kg_[0-9A-Za-z]{46}$/);
    expect(apiKey).toMatchObject({
      name: 'Billing sync',
      description: 'Pushes invoices',
      prefix: secret.slice(0, 16),
      role: 'API_USER',
      status: 'ACTIVE',
      expirationState: 'VALID',
      projectAccess: 'ALL',
      ipAllowlist: [],
      expiresAt: null,
      lastUsedAt: null,
      revokedAt: null,
      rotatedAt: null,
      revokedBy: null,
      organization: null,
      projects: [],
      tenant: { id: seed.tenant.id },
      authorizationGroup: { id: seed.keyGroup.id },
      createdBy: { id: seed.admin.user.id },
    });
    expect(new Date(apiKey.createdAt).getTime()).toBeGreaterThanOrEqual(before.getTime() - 1000);

    const row = await db.apiKey.findUniqueOrThrow({ where: { id: apiKey.id } });
    expect(row.secretDigest).toBe(sha256(secret));
    expect(row.prefix).toBe(secret.slice(0, 16));
    expect(row.tenantId).toBe(seed.tenant.id);
    // Nothing past the display prefix is stored: no column holds the secret or its tail.
    const rowText = JSON.stringify(row);
    expect(rowText).not.toContain(secret);
    expect(rowText).not.toContain(secret.slice(16));

    const audits = await db.auditEvent.findMany({ where: { tenantId: seed.tenant.id } });
    expect(audits.some((event) => event.targetId === apiKey.id)).toBe(true);
    expect(JSON.stringify(audits)).not.toContain(secret.slice(16));
  });

  it('createApiKey: the secret authenticates as the new key', async () => {
    const seed = await seedTenant();
    const { createApiKey } = await ok(CreateKey, { input: { name: 'Works', authorizationGroupId: seed.keyGroup.id } }, { token: seed.admin.token });
    const { viewer } = await ok(KeyViewer, {}, { apiKey: createApiKey.secret });
    expect(viewer).toMatchObject({ kind: 'API_KEY', crossTenant: false, apiKey: { id: createApiKey.apiKey.id } });
    expect(new Set(viewer.permissions)).toEqual(new Set(['workflows:trigger', 'data:deliver', 'projects:read', 'workspaces:read', 'api_keys:read']));
    const bearer = await ok(KeyViewer, {}, { headers: { authorization: `Bearer ${createApiKey.secret}` } });
    expect(bearer.viewer.apiKey?.id).toBe(createApiKey.apiKey.id);
  });

  it('createApiKey: the secret never appears again, in any field, row, file or log line', async () => {
    const seed = await seedTenant();
    const { createApiKey } = await ok(
      CreateKey,
      { input: { name: 'Shown once', authorizationGroupId: seed.keyGroup.id, ipAllowlist: ['127.0.0.1'] } },
      { token: seed.admin.token },
    );
    const { secret, apiKey } = createApiKey;
    // Used, so the verification cache, the last-used recorder and the IP refusal have seen it.
    await ok(KeyViewer, {}, { apiKey: secret });
    await ok(KeyViewer, {}, { apiKey: secret });
    const refused = await execute(KeyViewer, {}, { apiKey: secret, ip: '10.9.9.9' });
    expect(errorOf(refused)).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    await app.lastUsed.flush();

    const keyFields = everyField('ApiKey');
    const readings = [
      await execute(`query KeyLcEveryFieldOne($id: ID!) { apiKey(id: $id) ${keyFields} }`, { id: apiKey.id }, { token: seed.admin.token }),
      await execute(
        `query KeyLcEveryFieldList { apiKeys(status: [ACTIVE, REVOKED], first: 5) { totalCount edges { cursor node ${keyFields} } } }`,
        {},
        { token: seed.admin.token },
      ),
      await execute(`query KeyLcEveryFieldViewer { viewer ${everyField('Viewer')} }`, {}, { apiKey: secret }),
      await execute(
        `query KeyLcEveryFieldAudit($id: ID!) { auditEvents(targetId: $id, first: 50) { edges { node ${everyField('AuditEvent')} } } }`,
        { id: apiKey.id },
        { token: seed.admin.token },
      ),
    ];
    for (const reading of readings) {
      expect(reading.errors).toBeUndefined();
      const text = JSON.stringify(reading.data);
      expect(text).toContain(apiKey.id);
      expect(text).not.toContain(secret);
      expect(text).not.toContain(sha256(secret));
    }
    expect(JSON.stringify(readings[0]!.data)).toContain(apiKey.prefix);

    await expectSecretStoredNowhere(secret);
  });

  it('createApiKey: a request with a mistyped secret is refused without quoting it', async () => {
    const seed = await seedTenant();
    const { secret } = await seed.createKey();
    const typo = secret.slice(0, 20) + (secret[20] === 'x' ? 'y' : 'x') + secret.slice(21);
    const linesBefore = logLines.length;
    const result = await execute(KeyViewer, {}, { apiKey: typo });
    expect(errorOf(result)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', reason: 'INVALID' });
    expect(JSON.stringify(result.errors)).not.toContain(typo);
    expect(logLines.slice(linesBefore).join('\n')).not.toContain(typo);
  });
});
