/**
 * Running `keygate <command>` (src/cli.ts) as a real process with only the settings given, to
 * completion; and a database of its own for each test: a temporary SQLite file, or on
 * PostgreSQL runs a fresh database on the test server (created by keygate itself on first
 * start, which is part of what is tested) that is dropped afterwards.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, inject } from 'vitest';
import { adminQuery, withDatabase } from '../../helpers/global-setup.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

export const databaseKind = inject('databaseKind');

export type Finished = { code: number | null; stdout: string; stderr: string };

/** `keygate <args>` through tsx, as `npm run keygate -- <args>` runs it, with only `settings` as environment. */
export function runKeygate(args: string[], settings: Record<string, string>, timeoutMs = 30_000): Promise<Finished> {
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TMPDIR: tmpdir(), KEYGATE_LOG_LEVEL: 'warn', ...settings };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`keygate ${args.join(' ')} did not exit within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The lines of a failure's stderr; a failure must be exactly one, without a stack trace. */
export function stderrLines(result: Finished): string[] {
  return result.stderr.split('\n').filter((line) => line.trim() !== '');
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

export function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'keygate-cli-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The PostgreSQL server the suite runs against (any database on it will do for admin queries). */
export function pgServerUrl(): string {
  return inject('databaseUrl');
}

/** A database URL nobody else uses, dropped after the test. */
export function ownDatabaseUrl(): string {
  if (databaseKind === 'sqlite') return `file:${path.join(tempDir(), 'keygate.db')}`;
  const name = `keygate_cli_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  dropAfterTest(name);
  return withDatabase(pgServerUrl(), name);
}

export function dropAfterTest(database: string) {
  cleanups.push(() => adminQuery(pgServerUrl(), `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`));
}

export function afterTest(cleanup: () => Promise<void> | void) {
  cleanups.push(cleanup);
}
