/**
 * `npm run db:generate` (also the postinstall hook): derives prisma/postgresql/schema.prisma
 * from the SQLite source of truth, then generates both Prisma clients and the Pothos types
 * into src/generated. Works offline and without DATABASE_URL; prints nothing unless something
 * fails.
 *
 * Plain JavaScript on purpose: postinstall runs before anything is compiled, and also under
 * `npm ci --omit=dev`, where neither tsx nor the Prisma CLI (dev dependencies) is installed.
 * There generation is skipped: a production install runs the compiled dist/, which already
 * holds the clients (see the README's Production section).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const sqliteSchemaPath = path.join(root, 'prisma/schema.prisma');
export const pgSchemaPath = path.join(root, 'prisma/postgresql/schema.prisma');

const HEADER = `// DERIVED FILE, do not edit: written by scripts/db/generate.mjs (npm run db:generate)
// from prisma/schema.prisma, the source of truth. It is gitignored.
`;

/**
 * The PostgreSQL twin of the SQLite schema: same models, its own client, no Pothos types.
 * @param {string} sqliteSchema
 * @returns {string}
 */
export function derivePgSchema(sqliteSchema) {
  // Only top-level blocks are rewritten, so model fields named like these keys stay untouched.
  return (
    HEADER +
    sqliteSchema.replace(/^(generator|datasource)\s+(\w+)\s*\{[^}]*\}\n?/gm, (block, kind) => {
      if (kind === 'datasource') return block.replace(/provider\s*=\s*"sqlite"/, 'provider = "postgresql"');
      const provider = /provider\s*=\s*"([^"]+)"/.exec(block)?.[1];
      // Pothos is typed against the SQLite client only (the two clients share one API).
      if (provider === 'prisma-pothos-types') return '';
      return block.replace(/output\s*=\s*"\.\.\/src\/generated\/prisma"/, 'output   = "../../src/generated/prisma-pg"');
    })
  ).replace(/\n{3,}/g, '\n\n');
}

export function writePgSchema() {
  const derived = derivePgSchema(readFileSync(sqliteSchemaPath, 'utf8'));
  if (!derived.includes('provider = "postgresql"') || !derived.includes('generated/prisma-pg')) {
    throw new Error('could not derive the PostgreSQL schema: datasource or client generator not found');
  }
  mkdirSync(path.dirname(pgSchemaPath), { recursive: true });
  writeFileSync(pgSchemaPath, derived);
}

/** The Prisma CLI's entry, or null when it is not installed (an install without dev dependencies). */
function prismaCli() {
  try {
    return createRequire(import.meta.url).resolve('prisma/build/index.js');
  } catch {
    return null;
  }
}

/**
 * @param {string} cli
 * @param {string} schemaPath
 */
async function prismaGenerate(cli, schemaPath) {
  try {
    await promisify(execFile)(process.execPath, [cli, 'generate', '--no-hints', `--schema=${schemaPath}`], {
      cwd: root,
      // The Pothos generator is a bin of @pothos/plugin-prisma; npm puts .bin on PATH, node alone does not.
      env: { ...process.env, PATH: `${path.join(root, 'node_modules/.bin')}${path.delimiter}${process.env.PATH ?? ''}`, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
    });
  } catch (error) {
    const { stdout = '', stderr = '' } = /** @type {{ stdout?: string; stderr?: string }} */ (error);
    throw new Error(`prisma generate failed for ${path.relative(root, schemaPath)}:\n${stdout}${stderr}`);
  }
}

const generatedClients = ['src/generated/prisma/client.ts', 'src/generated/prisma-pg/client.ts', 'src/generated/pothos-prisma-types.ts'];

async function main() {
  const cli = prismaCli();
  if (!cli) {
    // Nothing to do for a production install of a built tree; anything else deserves a hint.
    const missing = !existsSync(path.join(root, 'dist/cli.js')) && generatedClients.some((file) => !existsSync(path.join(root, file)));
    if (missing) {
      console.warn('keygate: the Prisma CLI (a dev dependency) is not installed, so the Prisma clients were not generated; run a full `npm ci` to develop or build.');
    }
    return;
  }
  writePgSchema();
  // Independent outputs, so both run at once: this is on every npm install's path.
  await Promise.all([prismaGenerate(cli, sqliteSchemaPath), prismaGenerate(cli, pgSchemaPath)]);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    await main();
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
}
