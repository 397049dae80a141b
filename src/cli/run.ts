/**
 * The `keygate` command line: parses the arguments, validates the configuration, runs one
 * command. Every failure an operator can act on (a bad setting, an unreachable or missing
 * database, a port in use, a failed migration, an unknown user) ends the process with one
 * line on stderr and exit code 1; the stack is printed only at KEYGATE_LOG_LEVEL=debug.
 *
 * Modules that read the configuration on import (db.ts and everything using it) are imported
 * only after it has been validated, so a bad setting is one line, not a stack trace.
 */
import { parseArgs } from 'node:util';
import { ConfigError, getConfig } from '../config.js';
import { StartupError } from '../lib/startup-error.js';

export const USAGE = `usage: keygate <command>

commands:
  serve                          apply pending migrations, then serve the API
  migrate                        apply pending migrations and exit
  admin reset-password <email>   set a user's password and end their sessions;
        [--tenant <slug>]        the password is KEYGATE_NEW_PASSWORD, or generated and printed once
  rotate-signing-key             gateway mode: sign principal tokens with a new key; the old
                                 one stays in /.well-known/jwks.json until its tokens expire
  scan <paths…>                  find API keys (format and checksum) in files: prints file:line and the
        [--format <template>]    key's display prefix; exit 1 when any is found (pre-commit, CI),
                                 2 when a path cannot be read or the scan cannot run

Settings come from the environment (DATABASE_URL, PORT, …; see the README).`;

type Command =
  | { name: 'help' }
  | { name: 'serve' }
  | { name: 'migrate' }
  | { name: 'rotate-signing-key' }
  | { name: 'reset-password'; email: string; tenant?: string }
  | { name: 'scan'; paths: string[]; format?: string };

class UsageError extends StartupError {}

export function parseCommand(argv: string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { tenant: { type: 'string' }, format: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message} (see keygate --help)`);
  }
  const { positionals, values } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === 'help' || command === undefined) return { name: 'help' };
  if (values.tenant !== undefined && command !== 'admin') throw new UsageError(`--tenant applies only to admin reset-password`);
  if (values.format !== undefined && command !== 'scan') throw new UsageError(`--format applies only to scan`);
  if (command === 'scan') {
    if (rest.length === 0) throw new UsageError('usage: keygate scan <paths…> [--format <template>]');
    return { name: 'scan', paths: rest, format: values.format };
  }
  if ((command === 'serve' || command === 'migrate' || command === 'rotate-signing-key') && rest.length === 0) return { name: command };
  if (command === 'admin' && rest[0] === 'reset-password') {
    if (rest.length !== 2 || !rest[1]) throw new UsageError('usage: keygate admin reset-password <email> [--tenant <slug>]');
    return { name: 'reset-password', email: rest[1], tenant: values.tenant };
  }
  // `admin` alone, or with a subcommand it does not have: say which one it has.
  if (command === 'admin') throw new UsageError('usage: keygate admin reset-password <email> [--tenant <slug>]');
  throw new UsageError(`unknown command: ${positionals.join(' ')} (see keygate --help)`);
}

export async function runCli(argv: string[]): Promise<void> {
  try {
    const command = parseCommand(argv);
    if (command.name === 'help') {
      console.log(USAGE);
      return;
    }
    const config = getConfig();
    if (command.name === 'scan') {
      // No database: scanning is pure, so it runs in a pre-commit hook without a server.
      const { runScan } = await import('./scan.js');
      const { parseKeyFormat } = await import('../auth/credentials.js');
      const format = command.format ? parseFormatOption(command.format, parseKeyFormat) : config.keyFormat;
      process.exitCode = await runScan(command.paths, format, config.keyPrefixLength);
      return;
    }
    if (command.name === 'serve') {
      const { serve } = await import('../server/serve.js');
      await serve(config);
    } else if (command.name === 'migrate') {
      await migrate(config.databaseUrl);
    } else if (command.name === 'rotate-signing-key') {
      await rotateSigningKey(config);
    } else {
      const { assertMigrated } = await import('../db/migrate.js');
      await assertMigrated(config.databaseUrl);
      const { resetPassword } = await import('./reset-password.js');
      await resetPassword({ email: command.email, tenant: command.tenant, newPassword: process.env.KEYGATE_NEW_PASSWORD || undefined });
      await disconnect();
    }
  } catch (error) {
    // scan's 1 means "keys found" to a CI step: a scan that could not run says so with 2.
    exitWithOneLine(error, isScan(argv) ? SCAN_COULD_NOT_RUN : 1);
  }
}

const SCAN_COULD_NOT_RUN = 2;

/** Whether the command asked for is scan, however malformed the rest of the line is. */
function isScan(argv: string[]): boolean {
  const { positionals } = parseArgs({ args: argv, strict: false, allowPositionals: true, options: { tenant: { type: 'string' }, format: { type: 'string' } } });
  return positionals[0] === 'scan';
}

function parseFormatOption<T>(template: string, parse: (template: string) => T): T {
  try {
    return parse(template);
  } catch (error) {
    throw new UsageError(`--format: ${(error as Error).message}`);
  }
}

async function migrate(databaseUrl: string) {
  const { applyMigrations } = await import('../db/migrate.js');
  const { applied } = await applyMigrations(databaseUrl, { log: (line) => console.log(`keygate: ${line}`) });
  console.log(applied.length ? `keygate: ${applied.length} migration(s) applied.` : 'keygate: the database is up to date; nothing to apply.');
}

async function rotateSigningKey(config: ReturnType<typeof getConfig>) {
  const { assertMigrated } = await import('../db/migrate.js');
  await assertMigrated(config.databaseUrl);
  const { createGatewayRuntime } = await import('../gateway/index.js');
  const { createLogger } = await import('../lib/logger.js');
  const { keys } = createGatewayRuntime(config, createLogger('silent'));
  const { kid, retired } = await keys.rotate();
  const seconds = Math.floor(keys.retiredListingMs / 1000);
  console.log(`keygate: principal tokens are now signed with key ${kid} (running instances switch within ${keys.switchWithinMs / 1000} s); ${retired} retired key(s) stay listed for ${seconds} s.`);
  await disconnect();
}

async function disconnect() {
  const { db } = await import('../db.js');
  await db.$disconnect();
}

/** Prints `keygate: <what to do>` and exits 1; never returns. */
export function exitWithOneLine(error: unknown, code = 1): never {
  const known = error instanceof StartupError || error instanceof ConfigError;
  const message = known ? error.message : `unexpected error: ${(error as Error)?.message ?? String(error)} (run with KEYGATE_LOG_LEVEL=debug for details)`;
  process.stderr.write(`keygate: ${oneLine(message)}\n`);
  if (process.env.KEYGATE_LOG_LEVEL === 'debug') process.stderr.write(`${(error as Error)?.stack ?? ''}\n`);
  process.exit(code);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
