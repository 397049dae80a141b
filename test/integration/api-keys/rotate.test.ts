import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { errorOf, execute, ok } from '../../helpers/app.js';
import { seedTenant } from '../../helpers/seed.js';
import { DAY_MS, expectSecretStoredNowhere, GetKey, KeyViewer, RevokeKey, RotateKey } from './documents.js';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('rotateApiKey', () => {
  it('two rotations at the same time: one wins, the other is refused, and the secret returned is the key’s', async () => {
    for (const input of [{}, { gracePeriodMinutes: 10 }]) {
      const seed = await seedTenant();
      const key = await seed.createKey();
      const ROTATE = `mutation Rotate($id: ID!, $input: RotateApiKeyInput) { rotateApiKey(id: $id, input: $input) { secret } }`;
      const results = await Promise.all([1, 2].map(() => execute<{ rotateApiKey: { secret: string } }, unknown>(ROTATE, { id: key.id, input }, { token: seed.admin.token })));
      const won = results.filter((result) => result.data?.rotateApiKey);
      const lost = results.filter((result) => result.errors);
      expect([won.length, lost.length]).toEqual([1, 1]);
      expect(errorOf(lost[0]!)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
      const secret = won[0]!.data!.rotateApiKey.secret;
      expect((await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).secretDigest).toBe(sha256(secret));
      expect((await ok(KeyViewer, {}, { apiKey: secret })).viewer).toBeTruthy();
      expect(await db.auditEvent.count({ where: { targetId: key.id, action: 'api_key.rotated' } })).toBe(1);
    }
  });

  it('rotateApiKey: returns a new secret once for the same key; new digest, prefix and rotatedAt in the database', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey({ name: 'Rotating', ipAllowlist: ['127.0.0.1'], expiresAt: new Date(Date.now() + 30 * DAY_MS) });
    const before = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    const started = Date.now();

    const { rotateApiKey } = await ok(RotateKey, { id: key.id }, { token: seed.admin.token });
    expect(rotateApiKey.secret).toMatch(/^kg_[0-9A-Za-z]{46}$/);
    expect(rotateApiKey.secret).not.toBe(key.secret);
    expect(rotateApiKey.apiKey).toMatchObject({
      id: key.id,
      name: 'Rotating',
      status: 'ACTIVE',
      prefix: rotateApiKey.secret.slice(0, 16),
      ipAllowlist: ['127.0.0.1'],
      createdBy: null, // a platform administrator made it: outside the tenant admin's reach
    });
    expect(rotateApiKey.apiKey.rotatedAt).not.toBeNull();

    const after = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(after.secretDigest).toBe(sha256(rotateApiKey.secret));
    expect(after.secretDigest).not.toBe(before.secretDigest);
    expect(after.prefix).toBe(rotateApiKey.secret.slice(0, 16));
    expect(after.rotatedAt!.getTime()).toBeGreaterThanOrEqual(started - 1000);
    // Same key: configuration and history are kept.
    expect(after).toMatchObject({
      createdAt: before.createdAt,
      expiresAt: before.expiresAt,
      authorizationGroupId: before.authorizationGroupId,
      ipAllowlist: before.ipAllowlist,
      name: before.name,
      tenantId: before.tenantId,
    });
    expect(await db.apiKey.count({ where: { tenantId: seed.tenant.id } })).toBe(1);
    expect((await db.tenant.findUniqueOrThrow({ where: { id: seed.tenant.id } })).activeApiKeyCount).toBe(1);

    const reread = await ok(GetKey, { id: key.id }, { token: seed.admin.token });
    expect(JSON.stringify(reread)).not.toContain(rotateApiKey.secret);
    await expectSecretStoredNowhere(rotateApiKey.secret);
    await expectSecretStoredNowhere(key.secret, { keyRowHasThisSecret: false });
  });

  it('rotateApiKey: the old secret gets 401 immediately and the new one works', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    // The old secret is in the verification cache: rotation must evict it.
    expect((await ok(KeyViewer, {}, { apiKey: key.secret })).viewer.apiKey?.id).toBe(key.id);

    const { rotateApiKey } = await ok(RotateKey, { id: key.id }, { token: seed.admin.token });

    const old = await execute(KeyViewer, {}, { apiKey: key.secret });
    expect(errorOf(old)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', reason: 'INVALID' });
    expect(old.data ?? null).toBeNull();
    const fresh = await ok(KeyViewer, {}, { apiKey: rotateApiKey.secret });
    expect(fresh.viewer).toMatchObject({ kind: 'API_KEY', apiKey: { id: key.id } });
  });

  it('rotateApiKey: rotating twice leaves only the latest secret working', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const first = (await ok(RotateKey, { id: key.id }, { token: seed.admin.token })).rotateApiKey.secret;
    await ok(KeyViewer, {}, { apiKey: first });
    const second = (await ok(RotateKey, { id: key.id }, { token: seed.admin.token })).rotateApiKey.secret;
    expect(new Set([key.secret, first, second]).size).toBe(3);
    expect((await execute(KeyViewer, {}, { apiKey: key.secret })).status).toBe(401);
    expect((await execute(KeyViewer, {}, { apiKey: first })).status).toBe(401);
    expect((await ok(KeyViewer, {}, { apiKey: second })).viewer.apiKey?.id).toBe(key.id);
  });

  it('rotateApiKey: a revoked key cannot be rotated', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    await ok(RevokeKey, { id: key.id }, { token: seed.admin.token });
    const before = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });

    const result = await execute(RotateKey, { id: key.id }, { token: seed.admin.token });
    expect(result.data).toBeNull();
    expect(errorOf(result)).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(errorOf(result).message).toMatch(/revoked/);
    expect(await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).toEqual(before);
  });

  it('rotateApiKey: an expired key cannot be rotated', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey({ expiresAt: new Date(Date.now() + DAY_MS) });
    await db.apiKey.update({ where: { id: key.id }, data: { expiresAt: new Date(Date.now() - 60_000) } });
    const before = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });

    const result = await execute(RotateKey, { id: key.id }, { token: seed.admin.token });
    expect(result.data).toBeNull();
    expect(errorOf(result)).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(errorOf(result).message).toMatch(/expired/);
    expect(await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).toEqual(before);
    expect(errorOf(await execute(KeyViewer, {}, { apiKey: key.secret }))).toMatchObject({ status: 401, reason: 'EXPIRED' });
  });
});
