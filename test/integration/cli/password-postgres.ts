/**
 * A private PostgreSQL server that checks passwords (scram-sha-256), unlike the suite's
 * trust-auth server: the only way to provoke a real authentication failure. Same approach as
 * hardening/private-postgres.ts (initdb and pg_ctl on a temporary directory and a free port,
 * as the `postgres` user under root).
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../hardening/server-process.js';

export { unavailableReason } from '../hardening/private-postgres.js';

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')));
  versions.sort((a, b) => Number(b) - Number(a));
  return path.join(root, versions[0]!, 'bin');
}

function postgresOwner(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  return { uid: id('-u'), gid: id('-g') };
}

export type PasswordPostgres = { host: string; port: number; password: string; destroy(): void };

export async function startPasswordPostgres(): Promise<PasswordPostgres> {
  const bin = binDir();
  const dir = mkdtempSync(path.join(tmpdir(), 'keygate-pgauth-'));
  const data = path.join(dir, 'data');
  const password = 'right-password-123';
  const pwfile = path.join(dir, 'pwfile');
  writeFileSync(pwfile, password);
  const port = await freePort();
  const owner = postgresOwner();
  if (owner) {
    chownSync(dir, owner.uid, owner.gid);
    chownSync(pwfile, owner.uid, owner.gid);
  }
  const run = (command: string, args: string[]) => {
    if (!owner) return execFileSync(path.join(bin, command), args, { stdio: 'pipe' });
    const line = [path.join(bin, command), ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
    return execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', line], { stdio: 'pipe' });
  };
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '--no-sync']);
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off`;
  run('pg_ctl', ['-D', data, '-l', path.join(dir, 'server.log'), '-o', options, '-w', '-t', '30', 'start']);
  return {
    host: '127.0.0.1',
    port,
    password,
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
