/**
 * `KEYGATE_BENCH_PG_URL=… npx tsx bench/last-used-flush.ts`: one last-used flush of 1,000
 * keys on PostgreSQL (a temp database with 20,000 keys), written the old way (one Prisma
 * `updateMany` per key, as last-used.ts did) and the new way (db/last-used-writes.ts), three
 * times each: wall time and this process's CPU time.
 */
import { tempPostgres } from './lib/databases.js';
import { seedScale, keyId } from '../scripts/seed-scale.js';
const database = await tempPostgres(process.env.KEYGATE_BENCH_PG_URL!, 'flush');
try {
  await seedScale(database.url, { keys: 20_000, tenants: 2, bigTenantKeys: 10_000, verifiable: 10 }, () => {});
  process.env.DATABASE_URL = database.url;
  const { db } = await import('../src/db.js');
  const { createKeyUseWriter } = await import('../src/db/last-used-writes.js');
  const write = createKeyUseWriter(database.url, db);
  const uses = Array.from({ length: 1000 }, (_, i) => ({ id: keyId(i + 1), at: new Date(), ip: '198.51.100.1' }));
  const time = async (label: string, work: () => Promise<unknown>) => {
    const cpu = process.cpuUsage(); const t = performance.now();
    await work();
    const used = process.cpuUsage(cpu);
    console.log(`${label}: wall ${(performance.now() - t).toFixed(0)} ms, CPU ${((used.user + used.system) / 1000).toFixed(0)} ms`);
  };
  for (let round = 0; round < 3; round++) {
    await time('old: 1,000 × updateMany', async () => { for (const u of uses) await db.apiKey.updateMany({ where: { id: u.id }, data: { lastUsedAt: u.at, lastUsedIp: u.ip } }); });
    await time('new: batched UPDATE     ', () => write(uses));
  }
  await db.$disconnect();
} finally {
  await database.drop();
}
