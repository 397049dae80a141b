/**
 * Rotation with a grace period: the previous secret keeps working until
 * previousSecretExpiresAt (checked on every request, cached or not), its uses are recorded,
 * endRotationGrace and revokeApiKey end it at once. On SQLite and PostgreSQL (this file runs
 * on whichever the suite runs on); across two instances in grace-instances.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { digestSecret } from '../../../src/auth/credentials.js';
import { db } from '../../../src/db.js';
import { app, errorOf, execute, ok } from '../../helpers/app.js';
import { seedTenant } from '../../helpers/seed.js';
import { expectSecretStoredNowhere } from '../api-keys/documents.js';
import { EndGrace, GetKey, MINUTE_MS, Revoke, RotateWithGrace, Viewer } from './documents.js';

afterEach(() => {
  vi.useRealTimers();
});

async function works(secret: string) {
  const result = await execute(Viewer, {}, { apiKey: secret });
  return result.status === 200 && result.data?.viewer.kind === 'API_KEY';
}

describe('rotateApiKey with gracePeriodMinutes', () => {
  it('keeps the previous secret working until previousSecretExpiresAt, then refuses it (401 INVALID) while the new one works', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    expect(await works(key.secret)).toBe(true); // warm in the cache as the current secret
    const before = Date.now();

    const { rotateApiKey } = await ok(RotateWithGrace, { id: key.id, input: { gracePeriodMinutes: 30 } }, { token: seed.admin.token });
    const graceEnd = new Date(rotateApiKey.apiKey.previousSecretExpiresAt!).getTime();
    expect(graceEnd).toBeGreaterThanOrEqual(before + 30 * MINUTE_MS - 1000);
    expect(graceEnd).toBeLessThanOrEqual(Date.now() + 30 * MINUTE_MS);
    expect(await works(rotateApiKey.secret)).toBe(true);
    expect(await works(key.secret)).toBe(true);

    // Stored: the previous secret's digest, never a secret.
    const row = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(row.previousSecretDigest).toBe(digestSecret(key.secret));
    expect(row.secretDigest).toBe(digestSecret(rotateApiKey.secret));
    await expectSecretStoredNowhere(key.secret, { keyRowHasThisSecret: true });
    await expectSecretStoredNowhere(rotateApiKey.secret);

    // One second past the grace (only Date is faked: the database and the cache keep working).
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(graceEnd + 1000);
    const refused = await execute(Viewer, {}, { apiKey: key.secret });
    expect(errorOf(refused)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', reason: 'INVALID' });
    expect(await works(rotateApiKey.secret)).toBe(true);
  });

  it('records the previous secret’s uses in previousSecretLastUsedAt (not the new one’s)', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const { rotateApiKey } = await ok(RotateWithGrace, { id: key.id, input: { gracePeriodMinutes: 10 } }, { token: seed.admin.token });
    expect(rotateApiKey.apiKey.previousSecretLastUsedAt).toBeNull();

    expect(await works(rotateApiKey.secret)).toBe(true);
    await app.lastUsed.flush();
    expect((await ok(GetKey, { id: key.id }, { token: seed.admin.token })).apiKey.previousSecretLastUsedAt).toBeNull();

    const usedAt = Date.now();
    expect(await works(key.secret)).toBe(true);
    await app.lastUsed.flush();
    const { apiKey } = await ok(GetKey, { id: key.id }, { token: seed.admin.token });
    expect(new Date(apiKey.previousSecretLastUsedAt!).getTime()).toBeGreaterThanOrEqual(usedAt - 1000);
    const row = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(row.lastUsedAt!.getTime()).toBeGreaterThanOrEqual(usedAt - 1000);
  });

  it('a use made within the grace is recorded even when endRotationGrace comes before the flush', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    await ok(RotateWithGrace, { id: key.id, input: { gracePeriodMinutes: 10 } }, { token: seed.admin.token });
    const usedAt = Date.now();
    expect(await works(key.secret)).toBe(true); // noted, not yet written
    await ok(EndGrace, { id: key.id }, { token: seed.admin.token });
    await app.lastUsed.flush();
    const row = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(row.previousSecretDigest).toBeNull();
    expect(row.previousSecretLastUsedAt?.getTime()).toBeGreaterThanOrEqual(usedAt - 1000);
    expect(row.previousSecretLastUsedAt!.getTime()).toBeLessThanOrEqual(row.previousSecretExpiresAt!.getTime());
  });

  it('a use of the previous secret written after the grace ended (by a later flush) is not shown for the next secret', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    await ok(RotateWithGrace, { id: key.id, input: { gracePeriodMinutes: 10 } }, { token: seed.admin.token });
    expect(await works(key.secret)).toBe(true); // noted, not yet written
    await ok(RotateWithGrace, { id: key.id, input: {} }, { token: seed.admin.token }); // no grace: the old secrets die
    await app.lastUsed.flush();
    const row = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(row).toMatchObject({ previousSecretDigest: null, previousSecretExpiresAt: null, previousSecretLastUsedAt: null });
  });

  it('endRotationGrace stops the previous secret at once (warm cache notwithstanding); the new one keeps working', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const { rotateApiKey } = await ok(RotateWithGrace, { id: key.id, input: { gracePeriodMinutes: 60 } }, { token: seed.admin.token });
    expect(await works(key.secret)).toBe(true);

    const ended = await ok(EndGrace, { id: key.id }, { token: seed.admin.token });
    expect(new Date(ended.endRotationGrace.previousSecretExpiresAt!).getTime()).toBeLessThanOrEqual(Date.now());
    expect(errorOf(await execute(Viewer, {}, { apiKey: key.secret }))).toMatchObject({ status: 401, reason: 'INVALID' });
    expect(await works(rotateApiKey.secret)).toBe(true);
    const row = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(row.previousSecretDigest).toBeNull();
    const audit = await db.auditEvent.findFirstOrThrow({ where: { targetId: key.id, action: 'api_key.rotation_grace_ended' } });
    expect(audit.tenantId).toBe(seed.tenant.id);

    // Nothing left to end.
    expect(errorOf(await execute(EndGrace, { id: key.id }, { token: seed.admin.token }))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
  });

  it('revokeApiKey ends both secrets', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const { rotateApiKey } = await ok(RotateWithGrace, { id: key.id, input: { gracePeriodMinutes: 60 } }, { token: seed.admin.token });
    expect(await works(key.secret)).toBe(true);
    expect(await works(rotateApiKey.secret)).toBe(true);

    const { revokeApiKey } = await ok(Revoke, { id: key.id }, { token: seed.admin.token });
    expect(revokeApiKey.status).toBe('REVOKED');
    expect(new Date(revokeApiKey.previousSecretExpiresAt!).getTime()).toBeLessThanOrEqual(Date.now());
    for (const secret of [key.secret, rotateApiKey.secret]) {
      expect(errorOf(await execute(Viewer, {}, { apiKey: secret })).status).toBe(401);
    }
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).previousSecretDigest).toBeNull();
  });

  it('rotating again ends the earlier grace; rotating without a grace stops the old secret at once', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const first = await ok(RotateWithGrace, { id: key.id, input: { gracePeriodMinutes: 60 } }, { token: seed.admin.token });
    const second = await ok(RotateWithGrace, { id: key.id, input: { gracePeriodMinutes: 60 } }, { token: seed.admin.token });
    expect(errorOf(await execute(Viewer, {}, { apiKey: key.secret })).status).toBe(401);
    expect(await works(first.rotateApiKey.secret)).toBe(true);
    expect(await works(second.rotateApiKey.secret)).toBe(true);

    const third = await ok(RotateWithGrace, { id: key.id }, { token: seed.admin.token });
    expect(third.rotateApiKey.apiKey.previousSecretExpiresAt).toBeNull();
    expect(errorOf(await execute(Viewer, {}, { apiKey: second.rotateApiKey.secret })).status).toBe(401);
    expect(await works(third.rotateApiKey.secret)).toBe(true);
  });

  it.each([0, 1441, -5])('refuses gracePeriodMinutes %s with BAD_USER_INPUT naming the field, changing nothing', async (minutes) => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const before = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    const result = await execute(RotateWithGrace, { id: key.id, input: { gracePeriodMinutes: minutes } }, { token: seed.admin.token });
    expect(errorOf(result)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'gracePeriodMinutes' });
    expect(await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).toEqual(before);
  });

  it('accepts the bounds 1 and 1440', async () => {
    const seed = await seedTenant();
    for (const minutes of [1, 1440]) {
      const key = await seed.createKey();
      const { rotateApiKey } = await ok(RotateWithGrace, { id: key.id, input: { gracePeriodMinutes: minutes } }, { token: seed.admin.token });
      const left = new Date(rotateApiKey.apiKey.previousSecretExpiresAt!).getTime() - Date.now();
      expect(left).toBeGreaterThan(minutes * MINUTE_MS - 5_000);
      expect(left).toBeLessThanOrEqual(minutes * MINUTE_MS);
    }
  });
});
