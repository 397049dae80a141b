/**
 * `npm run db:migrate`: applies pending migrations to DATABASE_URL (default
 * file:./data/keygate.db) with the same runner the server uses at start.
 */
import { applyMigrations } from '../../src/db/migrate.js';

const url = process.env.DATABASE_URL ?? 'file:./data/keygate.db';

try {
  const { applied } = await applyMigrations(url, { log: (line) => console.log(line) });
  console.log(applied.length ? `${applied.length} migration(s) applied.` : 'Database is up to date: nothing to apply.');
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
}
