/** Runs in each test worker before any test file is imported: points the app at its database. */
import { copyFileSync, existsSync } from 'node:fs';
import { inject } from 'vitest';

const kind = inject('databaseKind');
const templateUrl = inject('databaseUrl');

if (kind === 'sqlite') {
  const template = templateUrl.slice('file:'.length);
  const workerFile = template.replace(/template\.db$/, `worker-${process.env.VITEST_POOL_ID ?? process.pid}.db`);
  if (!existsSync(workerFile)) copyFileSync(template, workerFile);
  process.env.DATABASE_URL = `file:${workerFile}`;
} else {
  process.env.DATABASE_URL = templateUrl;
}
process.env.KEYGATE_LOG_LEVEL ??= 'silent';
process.env.KEYGATE_ADMIN_PASSWORD ??= 'test-admin-password';
// The suite sends hundreds of bad credentials from one address on purpose (the security
// matrix); the failed-credential throttle has its own tests, each with its own app.
process.env.KEYGATE_AUTH_FAILURE_LIMIT ??= '0';
