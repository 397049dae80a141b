/**
 * Leak response: POST /leaks/report in GitHub's secret-scanning partner format, signed with
 * a test ECDSA key pair; true and false positives; the tenant policy REVOKE vs NOTIFY; the
 * admin mutation reportLeakedApiKey. The reported tokens are never logged or stored.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../../src/app.js';
import { generateKey } from '../../../src/auth/credentials.js';
import { ConfigError, loadConfig } from '../../../src/config.js';
import { db } from '../../../src/db.js';
import { parseLeakReportPublicKeys } from '../../../src/lib/leak-report-keys.js';
import { createLogger } from '../../../src/lib/logger.js';
import { app, errorOf, execute, logLines, ok } from '../../helpers/app.js';
import { seedTenant } from '../../helpers/seed.js';
import { expectSecretStoredNowhere, withOneCharacterChangedFor } from './support.js';
import { ReportLeak, RotateWithGrace, UpdatePolicy, Viewer } from './documents.js';

function keyPair() {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), privateKey };
}

const github = keyPair();
const other = keyPair();
const KEY_ID = 'bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c';
const githubDocument = JSON.stringify({ public_keys: [{ key_identifier: KEY_ID, key: github.publicPem, is_current: true }] });

const leakLog: string[] = [];
const leakApp = createApp({
  config: { ...app.config, leakReportPublicKeys: parseLeakReportPublicKeys(githubDocument) },
  logger: createLogger('debug', (line) => leakLog.push(line)),
});

type Answer = { token_raw: string; token_type: string; label: 'true_positive' | 'false_positive' };

async function report(tokens: { token: string; type?: string; url?: string; source?: string }[], options: { signer?: KeyObject; keyId?: string; body?: string; target?: typeof leakApp } = {}) {
  const body = options.body ?? JSON.stringify(tokens.map((t) => ({ type: 'keygate_api_key', url: 'https://github.com/acme/app/blob/main/.env', source: 'content', ...t })));
  const signature = sign('sha256', Buffer.from(body), options.signer ?? github.privateKey).toString('base64');
  const response = await (options.target ?? leakApp).yoga.fetch('http://keygate.test/leaks/report', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'github-public-key-identifier': options.keyId ?? KEY_ID, 'github-public-key-signature': signature },
    body,
  });
  return { status: response.status, body: (await response.json()) as Answer[] | { error: string } };
}

describe('POST /leaks/report (GitHub secret scanning)', () => {
  it('a reported key of a REVOKE tenant: true_positive, revoked at once, an api_key.leaked audit event; unknown and look-alike tokens: false_positive', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const unknown = generateKey(app.config.keyFormat, seed.tenant.id);
    const badChecksum = withOneCharacterChangedFor(key.secret);
    expect((await execute(Viewer, {}, { apiKey: key.secret })).data?.viewer.kind).toBe('API_KEY');
    const { activeApiKeyCount: activeBefore } = await db.tenant.findUniqueOrThrow({ where: { id: seed.tenant.id } });

    const { status, body } = await report([{ token: key.secret }, { token: unknown }, { token: badChecksum }, { token: 'not a key at all', type: 'other' }]);
    expect(status).toBe(200);
    expect(body).toEqual([
      { token_raw: key.secret, token_type: 'keygate_api_key', label: 'true_positive' },
      { token_raw: unknown, token_type: 'keygate_api_key', label: 'false_positive' },
      { token_raw: badChecksum, token_type: 'keygate_api_key', label: 'false_positive' },
      { token_raw: 'not a key at all', token_type: 'other', label: 'false_positive' },
    ]);

    const row = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(row.status).toBe('REVOKED');
    expect((await db.tenant.findUniqueOrThrow({ where: { id: seed.tenant.id } })).activeApiKeyCount).toBe(activeBefore - 1);
    expect(errorOf(await execute(Viewer, {}, { apiKey: key.secret }))).toMatchObject({ status: 401, reason: 'REVOKED' });
    const audit = await db.auditEvent.findFirstOrThrow({ where: { targetId: key.id, action: 'api_key.leaked' } });
    expect(audit).toMatchObject({ tenantId: seed.tenant.id, actorKind: 'SYSTEM' });
    expect(audit.metadata).toMatchObject({
      prefix: key.prefix,
      response: 'REVOKE',
      action: 'REVOKED',
      source: 'report',
      reporterKey: KEY_ID,
      url: 'https://github.com/acme/app/blob/main/.env',
    });
    // The webhook events, in the outbox: api_key.leaked (what was done) and api_key.revoked.
    const events = await db.webhookMessage.findMany({ where: { tenantId: seed.tenant.id, eventType: { in: ['api_key.leaked', 'api_key.revoked'] } } });
    const leaked = events.find((e) => e.eventType === 'api_key.leaked');
    expect(leaked?.payload).toMatchObject({ type: 'api_key.leaked', data: { apiKey: { id: key.id, prefix: key.prefix, status: 'REVOKED' }, leak: { action: 'REVOKED', response: 'REVOKE' } } });
    expect(events.filter((e) => e.eventType === 'api_key.revoked').map((e) => (e.payload as { data: { apiKey: { id: string } } }).data.apiKey.id)).toContain(key.id);
    expect(JSON.stringify(events)).not.toContain(key.secret);
    // The reported tokens went back to the reporter and nowhere else.
    await expectSecretStoredNowhere(key.secret);
    for (const token of [key.secret, unknown, badChecksum]) {
      expect(leakLog.filter((line) => line.includes(token))).toEqual([]);
      expect(logLines.filter((line) => line.includes(token))).toEqual([]);
    }
    expect(leakLog.some((line) => line.includes('leak report handled'))).toBe(true);
  });

  it('NOTIFY tenant: true_positive, the key keeps working, the audit event says NOTIFIED', async () => {
    const seed = await seedTenant();
    await ok(UpdatePolicy, { tenantId: seed.tenant.id, input: { leakResponse: 'NOTIFY' } }, { token: seed.admin.token });
    const key = await seed.createKey();

    const { status, body } = await report([{ token: key.secret }]);
    expect(status).toBe(200);
    expect(body).toEqual([{ token_raw: key.secret, token_type: 'keygate_api_key', label: 'true_positive' }]);
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).status).toBe('ACTIVE');
    expect((await execute(Viewer, {}, { apiKey: key.secret })).data?.viewer.kind).toBe('API_KEY');
    const audit = await db.auditEvent.findFirstOrThrow({ where: { targetId: key.id, action: 'api_key.leaked' } });
    expect(audit.metadata).toMatchObject({ response: 'NOTIFY', action: 'NOTIFIED' });
    const event = await db.webhookMessage.findFirstOrThrow({ where: { tenantId: seed.tenant.id, eventType: 'api_key.leaked' } });
    expect(event.payload).toMatchObject({ data: { apiKey: { id: key.id, status: 'ACTIVE' }, leak: { action: 'NOTIFIED' } } });
    await expectSecretStoredNowhere(key.secret);
  });

  it('the previous secret of a rotation grace leaks: the grace ends, the current secret keeps working', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const { rotateApiKey } = await ok(RotateWithGrace, { id: key.id, input: { gracePeriodMinutes: 60 } }, { token: seed.admin.token });
    expect((await execute(Viewer, {}, { apiKey: key.secret })).status).toBe(200);

    const { body } = await report([{ token: key.secret }]);
    expect(body).toEqual([expect.objectContaining({ label: 'true_positive' })]);
    expect(errorOf(await execute(Viewer, {}, { apiKey: key.secret })).status).toBe(401);
    expect((await execute(Viewer, {}, { apiKey: rotateApiKey.secret })).data?.viewer.kind).toBe('API_KEY');
    const row = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(row).toMatchObject({ status: 'ACTIVE', previousSecretDigest: null });
    const audit = await db.auditEvent.findFirstOrThrow({ where: { targetId: key.id, action: 'api_key.leaked' } });
    expect(audit.metadata).toMatchObject({ action: 'GRACE_ENDED', secret: 'PREVIOUS' });
  });

  it('a previous secret whose grace ran out is no key’s, even before the hourly clean-up forgets its digest: false_positive, nothing done', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    await ok(RotateWithGrace, { id: key.id, input: { gracePeriodMinutes: 60 } }, { token: seed.admin.token });
    // The grace ran out a minute ago; its digest is still stored (pruneUsage forgets it hourly).
    await db.apiKey.update({ where: { id: key.id }, data: { previousSecretExpiresAt: new Date(Date.now() - 60_000) } });
    const { body } = await report([{ token: key.secret }]);
    expect(body).toEqual([expect.objectContaining({ label: 'false_positive' })]);
    const asAdmin = await execute('mutation($s: String!) { reportLeakedApiKey(secret: $s) { action } }', { s: key.secret }, { token: seed.admin.token });
    expect(errorOf(asAdmin)).toMatchObject({ code: 'NOT_FOUND' });
    expect(await db.auditEvent.count({ where: { targetId: key.id, action: 'api_key.leaked' } })).toBe(0);
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).status).toBe('ACTIVE');
  });

  it('refuses (401) a report signed by another key, under an unknown key id, or without a signature; nothing changes', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    expect((await report([{ token: key.secret }], { signer: other.privateKey })).status).toBe(401);
    expect((await report([{ token: key.secret }], { keyId: 'unknown-key-id' })).status).toBe(401);
    const tampered = JSON.stringify([{ token: key.secret, type: 'keygate_api_key' }]);
    const signature = sign('sha256', Buffer.from(tampered.replace('keygate', 'other')), github.privateKey).toString('base64');
    const forged = await leakApp.yoga.fetch('http://keygate.test/leaks/report', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'github-public-key-identifier': KEY_ID, 'github-public-key-signature': signature },
      body: tampered,
    });
    expect(forged.status).toBe(401);
    const unsigned = await leakApp.yoga.fetch('http://keygate.test/leaks/report', { method: 'POST', body: tampered, headers: { 'content-type': 'application/json' } });
    expect(unsigned.status).toBe(401);
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).status).toBe('ACTIVE');
    expect(await db.auditEvent.count({ where: { targetId: key.id, action: 'api_key.leaked' } })).toBe(0);
  });

  it('answers 400 to a signed body that is not a token list, and 404 where no public keys are configured', async () => {
    expect((await report([], { body: '{"token":"x"}' })).status).toBe(400);
    expect((await report([], { body: '[{"type":"x"}]' })).status).toBe(400);
    expect((await report([], { target: app })).status).toBe(404);
  });
});

describe('reportLeakedApiKey', () => {
  it('a tenant admin reports a secret of their tenant: REVOKED; the same secret from another tenant’s admin is NOT_FOUND; a non-key is BAD_USER_INPUT', async () => {
    const seed = await seedTenant();
    const otherTenant = await seedTenant();
    const key = await seed.createKey();

    const foreign = await execute(ReportLeak, { secret: key.secret }, { token: otherTenant.admin.token });
    expect(errorOf(foreign)).toMatchObject({ code: 'NOT_FOUND' });
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).status).toBe('ACTIVE');

    const malformed = await execute(ReportLeak, { secret: `${key.secret}x` }, { token: seed.admin.token });
    expect(errorOf(malformed)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'secret' });
    expect(malformed.errors?.[0]?.message).not.toContain(key.secret);

    const { reportLeakedApiKey } = await ok(ReportLeak, { secret: key.secret }, { token: seed.admin.token });
    expect(reportLeakedApiKey).toEqual({ action: 'REVOKED', apiKey: { id: key.id, status: 'REVOKED' } });
    const audit = await db.auditEvent.findFirstOrThrow({ where: { targetId: key.id, action: 'api_key.leaked' } });
    expect(audit).toMatchObject({ actorKind: 'USER', actorId: seed.admin.user.id });
    expect(audit.metadata).toMatchObject({ source: 'admin', action: 'REVOKED' });

    // Reported again: nothing left to do, still recorded.
    expect((await ok(ReportLeak, { secret: key.secret }, { token: seed.admin.token })).reportLeakedApiKey.action).toBe('NONE');
    await expectSecretStoredNowhere(key.secret);
  });
});

describe('KEYGATE_LEAK_REPORT_PUBLIC_KEYS', () => {
  it('takes GitHub’s key document inline or from a file, and names the setting when it is unusable', () => {
    expect(parseLeakReportPublicKeys(githubDocument).map((k) => k.identifier)).toEqual([KEY_ID]);
    const dir = mkdtempSync(path.join(tmpdir(), 'keygate-leak-keys-'));
    try {
      const file = path.join(dir, 'keys.json');
      writeFileSync(file, githubDocument);
      expect(loadConfig({ KEYGATE_LEAK_REPORT_PUBLIC_KEYS: file }).leakReportPublicKeys).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const { publicKey: rsa } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const rsaDocument = JSON.stringify([{ key_identifier: 'rsa', key: rsa.export({ type: 'spki', format: 'pem' }) }]);
    for (const bad of ['{"public_keys":[]}', 'not-json-and-no-such-file', '[{"key_identifier":"x","key":"garbage"}]', rsaDocument]) {
      expect(() => loadConfig({ KEYGATE_LEAK_REPORT_PUBLIC_KEYS: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ KEYGATE_LEAK_REPORT_PUBLIC_KEYS: bad })).toThrow(/KEYGATE_LEAK_REPORT_PUBLIC_KEYS/);
    }
  });
});
