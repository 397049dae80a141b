/**
 * Usage counts (ApiKey.usage): exact after a known load, with rejected requests by reason
 * (forbidden, IP address, rate limit), written as one row per key and hour whatever the
 * number of flushes, read per hour and per day, flushed on SIGTERM by a real server process,
 * pruned after 90 days.
 */
import { describe, expect, it } from 'vitest';
import { createApp } from '../../../src/app.js';
import { db } from '../../../src/db.js';
import { HOUR_MS, hourStart, pruneUsage } from '../../../src/auth/usage.js';
import { app, errorOf, execute, executeWith, ok } from '../../helpers/app.js';
import { seedTenant } from '../../helpers/seed.js';
import { graphqlOverHttp, startServerOnThisDatabase, stopServer } from '../hardening/server-process.js';
import { DAY_MS, RotateWithGrace, Usage, Viewer } from './documents.js';

const FORBIDDEN_QUERY = 'query { auditEvents(first: 1) { edges { node { id } } } }'; // the key lacks audit:read

type Totals = { accepted: number; acceptedWithPreviousSecret: number; rejected: number; forbidden: number; ipAddress: number; rateLimit: number };

/** The key's counts over the last and the next hour, summed (the load may straddle an hour). */
async function usageTotals(keyId: string, token: string, interval: 'HOUR' | 'DAY' = 'HOUR'): Promise<Totals> {
  const now = Date.now();
  const { apiKey } = await ok(Usage, { id: keyId, from: new Date(now - 2 * HOUR_MS).toISOString(), to: new Date(now + HOUR_MS).toISOString(), interval }, { token });
  return apiKey.usage.reduce(
    (sum, b) => ({
      accepted: sum.accepted + b.accepted,
      acceptedWithPreviousSecret: sum.acceptedWithPreviousSecret + b.acceptedWithPreviousSecret,
      rejected: sum.rejected + b.rejected,
      forbidden: sum.forbidden + b.rejectedBy.forbidden,
      ipAddress: sum.ipAddress + b.rejectedBy.ipAddress,
      rateLimit: sum.rateLimit + b.rejectedBy.rateLimit,
    }),
    { accepted: 0, acceptedWithPreviousSecret: 0, rejected: 0, forbidden: 0, ipAddress: 0, rateLimit: 0 },
  );
}

describe('ApiKey.usage', () => {
  it('counts a known load exactly: accepted, forbidden, wrong address; one row per key and hour across flushes', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey({ ipAllowlist: ['127.0.0.0/8'] });

    for (let i = 0; i < 7; i++) expect((await execute(Viewer, {}, { apiKey: key.secret })).status).toBe(200);
    await app.usage.flush();
    for (let i = 0; i < 3; i++) expect(errorOf(await execute(FORBIDDEN_QUERY, {}, { apiKey: key.secret })).code).toBe('FORBIDDEN');
    for (let i = 0; i < 2; i++) expect((await execute(Viewer, {}, { apiKey: key.secret, ip: '198.51.100.9' })).status).toBe(403);
    for (let i = 0; i < 4; i++) expect((await execute(Viewer, {}, { apiKey: key.secret })).status).toBe(200);
    // Session requests and bad keys count for no key.
    await execute(Viewer, {}, { token: seed.admin.token });
    await app.usage.flush();

    expect(await usageTotals(key.id, seed.admin.token)).toEqual({ accepted: 11, acceptedWithPreviousSecret: 0, rejected: 5, forbidden: 3, ipAddress: 2, rateLimit: 0 });
    expect(await usageTotals(key.id, seed.admin.token, 'DAY')).toMatchObject({ accepted: 11, rejected: 5 });
    // Two flushes, one row per hour (two only if the load straddled an hour).
    const rows = await db.apiKeyUsageCount.findMany({ where: { apiKeyId: key.id } });
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows.length).toBeLessThanOrEqual(2);
    for (const row of rows) expect(row.start.getTime() % HOUR_MS).toBe(0);
  });

  it('counts rate-limited requests and previous-secret requests', async () => {
    const seed = await seedTenant();
    const limited = createApp({ config: { ...app.config, rateLimits: { ...app.config.rateLimits, perKey: 3, windowSeconds: 3600 } } });
    const key = await seed.createKey();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await executeWith(limited, Viewer, {}, { apiKey: key.secret })).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    await limited.usage.flush();

    const { rotateApiKey } = await ok(RotateWithGrace, { id: key.id, input: { gracePeriodMinutes: 10 } }, { token: seed.admin.token });
    await execute(Viewer, {}, { apiKey: key.secret });
    await execute(Viewer, {}, { apiKey: key.secret });
    await execute(Viewer, {}, { apiKey: rotateApiKey.secret });
    await app.usage.flush();
    expect(await usageTotals(key.id, seed.admin.token)).toEqual({ accepted: 6, acceptedWithPreviousSecret: 2, rejected: 2, forbidden: 0, ipAddress: 0, rateLimit: 2 });
    await limited.close();
  });

  it('counts each operation of a batch on its own, as the rate limit does: served ones accepted, refused ones by reason', async () => {
    const seed = await seedTenant();
    const limited = createApp({ config: { ...app.config, rateLimits: { ...app.config.rateLimits, perKey: 5, windowSeconds: 3600 } } });
    const key = await seed.createKey();
    const batch = [...Array.from({ length: 6 }, () => ({ query: '{ viewer { kind } }' })), { query: FORBIDDEN_QUERY }];
    const response = await limited.yoga.fetch('http://keygate.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key.secret },
      body: JSON.stringify(batch),
    });
    const results = (await response.json()) as { data?: unknown; errors?: { extensions: { code: string } }[] }[];
    expect(results.map((r) => r.errors?.[0]?.extensions.code ?? 'served')).toEqual(['served', 'served', 'served', 'served', 'served', 'RATE_LIMITED', 'RATE_LIMITED']);
    await limited.usage.flush();
    const stored = await db.apiKeyUsageCount.findMany({ where: { apiKeyId: key.id } });
    expect(stored.reduce((sum, row) => sum + row.accepted, 0)).toBe(5);
    expect(stored.reduce((sum, row) => sum + row.rejectedRateLimit, 0)).toBe(2);
    await limited.close();
  });

  it('returns every bucket of the range, zeros included, hourly or daily; refuses a range beyond 90 days', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const now = Date.now();
    const hourly = await ok(Usage, { id: key.id, from: new Date(now - 5 * HOUR_MS).toISOString(), to: new Date(now).toISOString(), interval: 'HOUR' }, { token: seed.member.token });
    expect(hourly.apiKey.usage).toHaveLength(6);
    expect(new Date(hourly.apiKey.usage[0]!.start).getTime()).toBe(hourStart(now - 5 * HOUR_MS));
    expect(hourly.apiKey.usage.every((b) => b.accepted === 0 && b.rejected === 0)).toBe(true);
    const daily = await ok(Usage, { id: key.id, from: new Date(now - 30 * DAY_MS).toISOString(), to: new Date(now).toISOString(), interval: 'DAY' }, { token: seed.member.token });
    expect(daily.apiKey.usage).toHaveLength(31);
    const tooLong = await execute(Usage, { id: key.id, from: new Date(now - 120 * DAY_MS).toISOString(), to: new Date(now).toISOString() }, { token: seed.member.token });
    expect(errorOf(tooLong)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'from' });
    const justOver = await execute(Usage, { id: key.id, from: new Date(now - 91 * DAY_MS).toISOString(), to: new Date(now).toISOString(), interval: 'DAY' }, { token: seed.member.token });
    expect(errorOf(justOver)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'from' });
    const ninety = await ok(Usage, { id: key.id, from: new Date(now - 90 * DAY_MS).toISOString(), to: new Date(now).toISOString(), interval: 'DAY' }, { token: seed.member.token });
    expect(ninety.apiKey.usage).toHaveLength(91); // 90 days from mid-day: the first bucket starts at midnight
    const backwards = await execute(Usage, { id: key.id, from: new Date(now).toISOString(), to: new Date(now - HOUR_MS).toISOString() }, { token: seed.member.token });
    expect(errorOf(backwards)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'to' });
    // Within one bucket too: `to` before `from` is refused, not answered with that bucket.
    const withinBucket = await execute(Usage, { id: key.id, from: '2026-12-04T10:30:00Z', to: '2026-12-04T10:10:00Z', interval: 'HOUR' }, { token: seed.member.token });
    expect(errorOf(withinBucket)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'to' });
    // Before 1970 too, the first bucket is the one holding `from`.
    const epoch = await ok(Usage, { id: key.id, from: '1969-12-31T23:30:00Z', to: '1970-01-01T01:00:00Z', interval: 'HOUR' }, { token: seed.member.token });
    expect(epoch.apiKey.usage.map((bucket) => new Date(bucket.start).toISOString())).toEqual(['1969-12-31T23:00:00.000Z', '1970-01-01T00:00:00.000Z']);
  });

  it('keeps 90 days: older rows are pruned, as are previous-secret digests whose grace is over', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const old = new Date(hourStart(Date.now() - 91 * DAY_MS));
    const recent = new Date(hourStart(Date.now() - 89 * DAY_MS));
    await db.apiKeyUsageCount.createMany({ data: [{ apiKeyId: key.id, start: old, accepted: 5 }, { apiKeyId: key.id, start: recent, accepted: 7 }] });
    await db.apiKey.update({ where: { id: key.id }, data: { previousSecretDigest: 'f'.repeat(64), previousSecretExpiresAt: new Date(Date.now() - 1000) } });
    await pruneUsage(db);
    expect((await db.apiKeyUsageCount.findMany({ where: { apiKeyId: key.id } })).map((r) => r.accepted)).toEqual([7]);
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).previousSecretDigest).toBeNull();
  });
});

describe('usage counts and SIGTERM', () => {
  it('a real server counts in memory only (flush interval longer than the test) and writes the counts when stopped with SIGTERM', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const server = await startServerOnThisDatabase({
      KEYGATE_LAST_USED_FLUSH_MS: '60000',
    });
    const headers = { 'x-api-key': key.secret };
    for (let i = 0; i < 6; i++) expect((await graphqlOverHttp(server, 'query { viewer { kind } }', {}, headers)).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await graphqlOverHttp(server, FORBIDDEN_QUERY, {}, headers)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await db.apiKeyUsageCount.count({ where: { apiKeyId: key.id } })).toBe(0);

    const exit = await stopServer(server);
    expect(exit.code).toBe(0);
    expect(await usageTotals(key.id, seed.admin.token)).toEqual({ accepted: 6, acceptedWithPreviousSecret: 0, rejected: 2, forbidden: 2, ipAddress: 0, rateLimit: 0 });
  });
});
