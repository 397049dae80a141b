/**
 * A private PostgreSQL server for one test, so the test may stop and restart it: initdb and
 * pg_ctl from /usr/lib/postgresql/<version>/bin on a temporary directory and a free port.
 * PostgreSQL refuses to run as root, so under root the binaries run as the `postgres` user.
 * `unavailableReason()` says why this cannot work here (the test is then skipped with it).
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './server-process.js';

function binDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')));
  versions.sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], 'bin') : null;
}

function postgresUser(): { uid: number; gid: number } | null {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    return { uid, gid };
  } catch {
    return null;
  }
}

const isRoot = process.getuid?.() === 0;

export function unavailableReason(): string | null {
  if (!binDir()) return 'no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin';
  if (isRoot && !postgresUser()) return 'running as root and there is no postgres user to run PostgreSQL as';
  return null;
}

export type PrivatePostgres = {
  url: string;
  start(): void;
  /** A fast shutdown: connections are terminated, as in a crash of the database host. */
  stop(): void;
  destroy(): void;
};

export async function createPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir()!;
  const dir = mkdtempSync(path.join(tmpdir(), 'keygate-pg-'));
  const data = path.join(dir, 'data');
  const port = await freePort();
  const owner = isRoot ? postgresUser()! : null;
  if (owner) chownSync(dir, owner.uid, owner.gid);

  const run = (command: string, args: string[]) => {
    if (!owner) return execFileSync(path.join(bin, command), args, { stdio: 'pipe' });
    const line = [path.join(bin, command), ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
    return execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', line], { stdio: 'pipe' });
  };

  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off`;
  const start = () => void run('pg_ctl', ['-D', data, '-l', path.join(dir, 'server.log'), '-o', options, '-w', '-t', '30', 'start']);
  const stop = () => void run('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']);
  start();
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    destroy() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
