/**
 * `npm run db:migration -- <name>`: writes the next migration for both providers, in Prisma's
 * own layout (prisma/migrations/<provider>/<timestamp>_<name>/migration.sql plus the folder's
 * migration_lock.toml), from the WASM engine's diff of the history against schema.prisma.
 * The PostgreSQL side needs a server to host a throwaway shadow database
 * (KEYGATE_MIGRATION_PG_URL, default postgresql://postgres@127.0.0.1:5432/postgres).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { diffMigrationsToSchema, lockfileContent, migrationsDir, repoRoot, type Provider } from './schema-engine.js';

const providers: Provider[] = ['sqlite', 'postgresql'];

function migrationFolderName(rawName: string, now = new Date()): string {
  const name = rawName.trim().replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 200);
  if (!name) throw new Error('usage: npm run db:migration -- <name>   (letters, digits, _)');
  const timestamp = now.toISOString().replace(/\D/g, '').slice(0, 14); // UTC, as Prisma names them
  return `${timestamp}_${name}`;
}

async function main(): Promise<void> {
  const folder = migrationFolderName(process.argv.slice(2).join('_'));
  // Both diffs first, so a PostgreSQL failure leaves no half-written SQLite migration behind.
  const scripts = new Map<Provider, string | null>();
  for (const provider of providers) scripts.set(provider, await diffMigrationsToSchema(provider));

  if ([...scripts.values()].every((sql) => sql === null)) {
    console.log('No schema changes: migrations are in step with prisma/schema.prisma, nothing written.');
    return;
  }
  for (const [provider, sql] of scripts) {
    const base = migrationsDir(provider);
    if (sql === null) {
      console.warn(`warning: ${provider} history already matches the schema; no ${provider} migration written.`);
      continue;
    }
    mkdirSync(path.join(base, folder), { recursive: true });
    writeFileSync(path.join(base, folder, 'migration.sql'), sql.endsWith('\n') ? sql : `${sql}\n`);
    const lock = path.join(base, 'migration_lock.toml');
    if (!existsSync(lock)) writeFileSync(lock, lockfileContent(provider));
    console.log(`wrote ${path.relative(repoRoot, path.join(base, folder, 'migration.sql'))}`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
