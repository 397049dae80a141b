/**
 * Seeds a PostgreSQL database with many keys, for the scale benchmark (bench/scale.ts):
 * by default 1,000,000 keys across 1,000 tenants, of which tenant `scale-0000` holds
 * 100,000 (the "one big tenant" whose listing and verification are measured).
 *
 *   DATABASE_URL=postgresql://… npx tsx scripts/seed-scale.ts [--keys N] [--tenants N]
 *     [--big-tenant-keys N] [--verifiable N]
 *
 * Speed: every row is made inside PostgreSQL by INSERT … SELECT over generate_series, in
 * chunks (so progress shows and no statement holds a huge snapshot), with
 * synchronous_commit off for this session only. Most rows get the SHA-256 of a string that
 * is not a key (nobody holds a secret for them; the unique digest index is still full
 * size). `--verifiable` keys of the big tenant get real secrets instead, derived from their
 * number (`scaleSecret(i)`), so the benchmark can present them without storing secrets
 * anywhere. Every 10th key is REVOKED, so the listing's status filter has work to do.
 */
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { applyMigrations } from '../src/db/migrate.js';
import { checksum } from '../src/auth/credentials.js';

export type ScaleOptions = {
  keys: number;
  tenants: number;
  bigTenantKeys: number;
  verifiable: number;
  /** Keys 1..cacheFill of the big tenant (any status) get derived secrets too, to fill a key cache with (bench --scale). */
  cacheFill?: number;
};
export type ScaleSeed = {
  bigTenantId: string;
  /** Keys of the big tenant whose secrets are known (all ACTIVE). */
  verifiable: { id: string; secret: string }[];
  /** Seconds per stage; empty when the database was already seeded. */
  timings: Record<string, number>;
  alreadySeeded: boolean;
};

export const SCALE_DEFAULTS: ScaleOptions = { keys: 1_000_000, tenants: 1_000, bigTenantKeys: 100_000, verifiable: 1_000 };
const CHUNK = 100_000;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

const tenantId = (n: number) => `scale-t-${String(n).padStart(4, '0')}`;
export const keyId = (i: number) => `scale-k-${String(i).padStart(7, '0')}`;

/**
 * The secret of seeded key number `i`, in keygate's default format `kg_{base62:40}{checksum}`.
 * Derived, not random: these keys exist only in benchmark databases.
 */
export function scaleSecret(i: number): string {
  const bytes = createHash('sha512').update(`keygate-scale-secret:${i}`).digest();
  let body = '';
  for (let j = 0; j < 40; j++) body += BASE62[bytes[j]! % 62];
  return `kg_${body}${checksum(body)}`;
}

/** Key numbers of the verifiable keys: in the big tenant, never a multiple of 10 (those are revoked). */
function verifiableNumbers(options: ScaleOptions): number[] {
  const count = Math.min(options.verifiable, Math.floor(options.bigTenantKeys / 10));
  return Array.from({ length: count }, (_, k) => k * 10 + 1);
}

/**
 * The keys a cache fill presents: `cacheFill` ACTIVE keys (never a multiple of 10, those are
 * revoked: refusals would trip the failed-credential throttle), the big tenant's first, then
 * other tenants'.
 */
export function cacheFillNumbers(options: ScaleOptions): number[] {
  const count = Math.min(options.cacheFill ?? 0, options.keys - Math.floor(options.keys / 10));
  const numbers: number[] = [];
  for (let i = 1; numbers.length < count; i++) if (i % 10 !== 0) numbers.push(i);
  return numbers;
}

export async function seedScale(url: string, options: ScaleOptions = SCALE_DEFAULTS, log: (line: string) => void = console.error): Promise<ScaleSeed> {
  if (options.tenants < 2 || options.bigTenantKeys >= options.keys) throw new Error('need at least 2 tenants and more keys than the big tenant holds');
  await applyMigrations(url);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const verifiable = verifiableNumbers(options).map((i) => ({ id: keyId(i), secret: scaleSecret(i) }));
  const result: ScaleSeed = { bigTenantId: tenantId(0), verifiable, timings: {}, alreadySeeded: false };
  try {
    const existing = await client.query('SELECT count(*)::int AS n FROM "ApiKey" WHERE "tenantId" LIKE $1', ['scale-t-%']);
    if (existing.rows[0].n > 0) {
      log(`already seeded (${existing.rows[0].n} scale keys); reusing`);
      return { ...result, alreadySeeded: true };
    }
    await client.query('SET synchronous_commit = off');
    const stage = async (name: string, work: () => Promise<unknown>) => {
      const started = performance.now();
      await work();
      result.timings[name] = (performance.now() - started) / 1000;
      log(`${name}: ${result.timings[name]!.toFixed(1)} s`);
    };

    await stage('tenants and groups', async () => {
      await client.query(
        `INSERT INTO "Tenant" ("id", "slug", "name", "apiKeyLimit", "updatedAt")
         SELECT 'scale-t-' || lpad(n::text, 4, '0'), 'scale-' || lpad(n::text, 4, '0'), 'Scale tenant ' || n, 2000000, now()
         FROM generate_series(0, $1::int - 1) AS n`,
        [options.tenants],
      );
      await client.query(
        `INSERT INTO "AuthorizationGroup" ("id", "tenantId", "name", "type", "permissions", "updatedAt")
         SELECT 'scale-g-' || lpad(n::text, 4, '0'), 'scale-t-' || lpad(n::text, 4, '0'), 'Scale keys', 'TENANT_API_KEY',
                '["workflows:trigger", "projects:read", "api_keys:read"]'::jsonb, now()
         FROM generate_series(0, $1::int - 1) AS n`,
        [options.tenants],
      );
    });

    await stage(`${options.keys.toLocaleString('en-US')} keys`, async () => {
      for (let from = 1; from <= options.keys; from += CHUNK) {
        const to = Math.min(options.keys, from + CHUNK - 1);
        // Keys 1..bigTenantKeys go to tenant 0; the rest round-robin over tenants 1..n-1.
        // createdAt grows with the key number, so "newest first" is a real ordering.
        await client.query(
          `INSERT INTO "ApiKey" ("id", "tenantId", "authorizationGroupId", "name", "prefix", "secretDigest", "status",
                                 "ipAllowlist", "createdAt", "updatedAt", "revokedAt")
           SELECT 'scale-k-' || lpad(i::text, 7, '0'),
                  'scale-t-' || lpad(n::text, 4, '0'),
                  'scale-g-' || lpad(n::text, 4, '0'),
                  'Scale key ' || i,
                  'kg_scale' || lpad(i::text, 8, '0'),
                  encode(sha256(convert_to('keygate-scale-unverifiable:' || i, 'UTF8')), 'hex'),
                  (CASE WHEN i % 10 = 0 THEN 'REVOKED' ELSE 'ACTIVE' END)::"ApiKeyStatus",
                  '[]'::jsonb,
                  timestamp '2025-01-01' + i * interval '1 second',
                  now(),
                  CASE WHEN i % 10 = 0 THEN now() END
           FROM (SELECT i, CASE WHEN i <= $3::int THEN 0 ELSE 1 + (i - $3::int - 1) % ($4::int - 1) END AS n
                 FROM generate_series($1::int, $2::int) AS i) AS numbered`,
          [from, to, options.bigTenantKeys, options.tenants],
        );
        log(`  … ${to.toLocaleString('en-US')} keys`);
      }
    });

    await stage(`${verifiable.length} verifiable secrets`, () =>
      client.query(
        `UPDATE "ApiKey" SET "secretDigest" = v.digest, "prefix" = v.prefix
         FROM unnest($1::text[], $2::text[], $3::text[]) AS v(id, digest, prefix) WHERE "ApiKey"."id" = v.id`,
        [verifiable.map((k) => k.id), verifiable.map((k) => createHash('sha256').update(k.secret).digest('hex')), verifiable.map((k) => k.secret.slice(0, 16))],
      ),
    );

    const fill = cacheFillNumbers(options);
    if (fill.length > 0) {
      await stage(`${fill.length.toLocaleString('en-US')} secrets for the cache fill`, async () => {
        for (let from = 0; from < fill.length; from += 20_000) {
          const numbers = fill.slice(from, from + 20_000);
          const secrets = numbers.map(scaleSecret);
          await client.query(
            `UPDATE "ApiKey" SET "secretDigest" = v.digest, "prefix" = v.prefix
             FROM unnest($1::text[], $2::text[], $3::text[]) AS v(id, digest, prefix) WHERE "ApiKey"."id" = v.id`,
            [numbers.map(keyId), secrets.map((secret) => createHash('sha256').update(secret).digest('hex')), secrets.map((secret) => secret.slice(0, 16))],
          );
        }
      });
    }

    await stage('tenant counters and VACUUM ANALYZE', async () => {
      await client.query(
        `UPDATE "Tenant" SET "activeApiKeyCount" = c.n
         FROM (SELECT "tenantId", count(*)::int AS n FROM "ApiKey" WHERE "status" = 'ACTIVE' AND "tenantId" LIKE 'scale-t-%' GROUP BY 1) AS c
         WHERE "Tenant"."id" = c."tenantId"`,
      );
      // VACUUM, not only ANALYZE: it sets the visibility map, as autovacuum would have on a
      // live database; without it PostgreSQL cannot trust index-only scans and counts
      // (totalCount) read the table instead.
      await client.query('VACUUM (ANALYZE) "ApiKey", "Tenant", "AuthorizationGroup"');
    });
    return result;
  } finally {
    await client.end();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      keys: { type: 'string' },
      tenants: { type: 'string' },
      'big-tenant-keys': { type: 'string' },
      verifiable: { type: 'string' },
    },
  });
  const url = process.env.DATABASE_URL;
  if (!url || !/^postgres(ql)?:\/\//.test(url)) {
    console.error('seed-scale: set DATABASE_URL to a postgresql:// database');
    process.exit(1);
  }
  const options: ScaleOptions = {
    keys: Number(values.keys ?? SCALE_DEFAULTS.keys),
    tenants: Number(values.tenants ?? SCALE_DEFAULTS.tenants),
    bigTenantKeys: Number(values['big-tenant-keys'] ?? SCALE_DEFAULTS.bigTenantKeys),
    verifiable: Number(values.verifiable ?? SCALE_DEFAULTS.verifiable),
  };
  const started = performance.now();
  const seeded = await seedScale(url, options);
  console.log(
    `seeded ${options.keys.toLocaleString('en-US')} keys over ${options.tenants} tenants in ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
      `big tenant ${seeded.bigTenantId}; ${seeded.verifiable.length} verifiable keys (secrets from scaleSecret(i))`,
  );
}
