/**
 * On PostgreSQL the test files share one database, each seeding its own tenant. A file that
 * runs a webhook dispatcher cannot share it: a dispatcher claims every due delivery in its
 * database, so two files would deliver, interrupt (when one stops its dispatcher) and retry,
 * on their own settings, each other's runs. Such a file gets its own migrated copy, made by
 * global-setup.ts, by importing one of ./own-database/*.ts before anything imports src/db.ts.
 * On SQLite every worker has a database file of its own already and runs one file at a time.
 */
import { inject } from 'vitest';
import type { OwnDatabase } from './global-setup.js';

export function useOwnDatabase(name: OwnDatabase): void {
  if (inject('databaseKind') !== 'postgresql') return;
  process.env.DATABASE_URL = inject('ownDatabaseUrls')[name];
}
