/**
 * Creates the test database once per run: a migrated SQLite template that each worker
 * copies (SQLite has one writer per file, so workers get a file each), or, when
 * KEYGATE_TEST_PG_URL names a PostgreSQL server, one fresh database that is dropped at the end,
 * plus a copy of it for each file that must not share it (see own-database.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { applyMigrations } from '../../src/db/migrate.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseKind: 'sqlite' | 'postgresql';
    databaseUrl: string;
    /** PostgreSQL only: the migrated copies named in own-database.ts. */
    ownDatabaseUrls: Record<OwnDatabase, string>;
  }
}

/** Files that get a copy of the PostgreSQL database to themselves (see own-database.ts). */
export const OWN_DATABASES = ['webhook-delivery', 'webhook-events', 'webhook-live', 'console-runs'] as const;
export type OwnDatabase = (typeof OWN_DATABASES)[number];

export default async function setup(project: TestProject) {
  const serverUrl = process.env.KEYGATE_TEST_PG_URL;
  if (serverUrl) {
    const name = `keygate_test_${process.pid}_${Date.now()}`;
    await adminQuery(serverUrl, `CREATE DATABASE ${name}`);
    const url = withDatabase(serverUrl, name);
    await applyMigrations(url);
    const copies = Object.fromEntries(OWN_DATABASES.map((own) => [own, `${name}_${own.replaceAll('-', '_')}`])) as Record<OwnDatabase, string>;
    // Sequentially: PostgreSQL refuses to copy a template another CREATE DATABASE is reading.
    for (const copy of Object.values(copies)) await adminQuery(serverUrl, `CREATE DATABASE ${copy} TEMPLATE ${name}`);
    project.provide('databaseKind', 'postgresql');
    project.provide('databaseUrl', url);
    project.provide('ownDatabaseUrls', Object.fromEntries(Object.entries(copies).map(([own, copy]) => [own, withDatabase(serverUrl, copy)])) as Record<OwnDatabase, string>);
    return async () => {
      for (const database of [name, ...Object.values(copies)]) {
        await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      }
    };
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'keygate-test-'));
  const url = `file:${path.join(dir, 'template.db')}`;
  await applyMigrations(url);
  project.provide('databaseKind', 'sqlite');
  project.provide('databaseUrl', url);
  project.provide('ownDatabaseUrls', {} as Record<OwnDatabase, string>);
  return () => rmSync(dir, { recursive: true, force: true });
}

export function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function adminQuery(serverUrl: string, sql: string) {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
