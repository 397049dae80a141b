/** Throwaway databases: a SQLite file in a temp folder, or a PostgreSQL database created and dropped. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

export type TempDatabase = { kind: 'sqlite' | 'postgresql'; url: string; drop(): Promise<void> };

export function tempSqlite(): TempDatabase {
  const dir = mkdtempSync(path.join(tmpdir(), 'keygate-bench-'));
  return {
    kind: 'sqlite',
    url: `file:${path.join(dir, 'bench.db')}`,
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

export async function tempPostgres(serverUrl: string, label = 'bench'): Promise<TempDatabase> {
  const name = `keygate_${label}_${process.pid}_${Date.now()}`;
  await adminQuery(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    kind: 'postgresql',
    url: url.toString(),
    drop: () => adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

async function adminQuery(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
