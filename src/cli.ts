#!/usr/bin/env node
/**
 * The `keygate` executable (package.json `bin`): `node dist/cli.js <command>` in production,
 * `npm run keygate -- <command>` in a development checkout. See cli/run.ts for the commands.
 */
import { runCli } from './cli/run.js';

await runCli(process.argv.slice(2));
