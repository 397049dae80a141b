/**
 * `npm run db:generate` (also the postinstall hook): derives prisma/postgresql/schema.prisma
 * from the SQLite source of truth, then generates both Prisma clients and the Pothos types.
 * Works offline and without DATABASE_URL; prints nothing unless something fails.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const sqliteSchemaPath = path.join(root, 'prisma/schema.prisma');
export const pgSchemaPath = path.join(root, 'prisma/postgresql/schema.prisma');

const HEADER = `// DERIVED FILE, do not edit: written by scripts/db/generate.ts (npm run db:generate)
// from prisma/schema.prisma, the source of truth. It is gitignored.
`;

/** The PostgreSQL twin of the SQLite schema: same models, its own client, no Pothos types. */
export function derivePgSchema(sqliteSchema: string): string {
  // Only top-level blocks are rewritten, so model fields named like these keys stay untouched.
  return (
    HEADER +
    sqliteSchema.replace(/^(generator|datasource)\s+(\w+)\s*\{[^}]*\}\n?/gm, (block, kind: string) => {
      if (kind === 'datasource') return block.replace(/provider\s*=\s*"sqlite"/, 'provider = "postgresql"');
      const provider = /provider\s*=\s*"([^"]+)"/.exec(block)?.[1];
      // Pothos is typed against the SQLite client only (the two clients share one API).
      if (provider === 'prisma-pothos-types') return '';
      return block.replace(/output\s*=\s*"\.\.\/src\/generated\/prisma"/, 'output   = "../../src/generated/prisma-pg"');
    })
  ).replace(/\n{3,}/g, '\n\n');
}

export function writePgSchema(): void {
  const derived = derivePgSchema(readFileSync(sqliteSchemaPath, 'utf8'));
  if (!derived.includes('provider = "postgresql"') || !derived.includes('generated/prisma-pg')) {
    throw new Error('could not derive the PostgreSQL schema: datasource or client generator not found');
  }
  mkdirSync(path.dirname(pgSchemaPath), { recursive: true });
  writeFileSync(pgSchemaPath, derived);
}

async function prismaGenerate(schemaPath: string): Promise<void> {
  const cli = createRequire(import.meta.url).resolve('prisma/build/index.js');
  try {
    await promisify(execFile)(process.execPath, [cli, 'generate', '--no-hints', `--schema=${schemaPath}`], {
      cwd: root,
      env: { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
    });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`prisma generate failed for ${path.relative(root, schemaPath)}:\n${stdout}${stderr}`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    writePgSchema();
    // Independent outputs, so both run at once: this is on every npm install's path.
    await Promise.all([prismaGenerate(sqliteSchemaPath), prismaGenerate(pgSchemaPath)]);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
}
