/**
 * Prisma CLI configuration. The SQLite schema is the source of truth; its PostgreSQL twin
 * (prisma/postgresql/schema.prisma) is derived by scripts/db/generate.ts.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'prisma/config';

const root = path.dirname(fileURLToPath(import.meta.url));

// `prisma generate` would otherwise try to download the native schema engine, which these
// offline machines cannot do; it only checks that this file exists. Migrations go through
// the WebAssembly engine instead (scripts/db/), so nothing needs the real binary.
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= path.join(root, 'scripts/db/no-native-schema-engine.sh');

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations/sqlite' },
  // Only CLI commands that talk to a database read this; generate must work without it.
  ...(process.env.DATABASE_URL ? { datasource: { url: process.env.DATABASE_URL } } : {}),
});
