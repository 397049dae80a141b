/**
 * Process entry kept for `tsx src/index.ts` and the tests that spawn it: the same as
 * `keygate serve` (cli.ts), with the same one-line failures.
 */
import { runCli } from './cli/run.js';

await runCli(['serve']);
