/**
 * Process entry: validate settings, migrate, bootstrap, serve, shut down cleanly.
 * Everything else is imported only after the configuration is known to be valid, so a
 * bad setting is one clear line rather than a stack trace.
 */
import { createServer } from 'node:http';
import { ConfigError, getConfig } from './config.js';

let config: ReturnType<typeof getConfig>;
try {
  config = getConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`keygate: ${error.message}`);
    process.exit(1);
  }
  throw error;
}

const { applyMigrations } = await import('./db/migrate.js');
const { createApp } = await import('./app.js');
const { bootstrap } = await import('./modules/user/bootstrap.js');
const { db } = await import('./db.js');

const { yoga, lastUsed, logger } = createApp({ config });
const { applied } = await applyMigrations(config.databaseUrl);
if (applied.length) logger.info('applied migrations', { migrations: applied });
await bootstrap(config, logger);

const server = createServer((req, res) => yoga.handle(req, res, { req }));
server.listen(config.port, config.host, () => {
  logger.info('keygate is listening', { url: `http://localhost:${config.port}/graphql` });
  console.log(`keygate: serving http://localhost:${config.port}/graphql`);
});

const SHUTDOWN_GRACE_MS = 10_000;
let stopping = false;

/** Stop accepting, let in-flight requests finish, write pending last-used times, exit 0. */
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info('shutting down', { signal });
  const forced = setTimeout(() => {
    logger.error('shutdown took too long; exiting');
    process.exit(1);
  }, SHUTDOWN_GRACE_MS).unref();
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
  await lastUsed.flush();
  await db.$disconnect();
  clearTimeout(forced);
  process.exit(0);
}

process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
