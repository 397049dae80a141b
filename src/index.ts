/**
 * Process entry: validate settings, migrate, bootstrap, serve, shut down cleanly.
 * Everything else is imported only after the configuration is known to be valid, so a
 * bad setting is one clear line rather than a stack trace.
 */
import { createServer } from 'node:http';
import { ConfigError, getConfig, MAX_KEY_CACHE_TTL_MS, MAX_SESSION_CACHE_TTL_MS } from './config.js';

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
const { db, isSqliteUrl } = await import('./db.js');
const { keyLookup } = await import('./auth/key-lookup.js');
const { sessionLookup } = await import('./auth/session-lookup.js');

const { yoga, lastUsed, logger, close: closeSecurity } = createApp({ config });
const { applied } = await applyMigrations(config.databaseUrl);
if (applied.length) logger.info('applied migrations', { migrations: applied });
await bootstrap(config, logger);

// Several instances share one PostgreSQL: each must hear the others' key changes (see
// invalidation-pg.ts for the staleness bound). SQLite is one machine, one instance.
const [keyInvalidation, sessionInvalidation] = await Promise.all([startKeyInvalidation(), startSessionInvalidation()]);

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
  // A keep-alive connection goes idle once its last response is sent; closing idle ones
  // again and again ends each as soon as its request finishes, instead of after the
  // keep-alive timeout.
  const closeIdle = setInterval(() => server.closeIdleConnections(), 50);
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
  clearInterval(closeIdle);
  await lastUsed.flush();
  await Promise.all([keyInvalidation?.stop(), sessionInvalidation?.stop()]);
  await Promise.all([keyLookup.close(), sessionLookup.close()]);
  await closeSecurity();
  await db.$disconnect();
  clearTimeout(forced);
  process.exit(0);
}

process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

async function startKeyInvalidation() {
  if (isSqliteUrl(config.databaseUrl)) return null;
  const { startPgKeyInvalidation } = await import('./auth/invalidation-pg.js');
  const { keyCache } = await import('./auth/invalidation.js');
  const invalidation = startPgKeyInvalidation({
    connectionString: config.databaseUrl,
    cache: keyCache,
    logger,
    // Other instances may run with a longer TTL than this one: retry as long as any may keep an entry.
    retryForMs: MAX_KEY_CACHE_TTL_MS,
  });
  // Serve without waiting forever: until LISTEN is up the cache is bypassed, not trusted.
  await Promise.race([invalidation.ready, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
  return invalidation;
}

/** The same for sessions (signOut, a group's permissions…), on their own channel. */
async function startSessionInvalidation() {
  if (isSqliteUrl(config.databaseUrl)) return null;
  const { startPgSessionInvalidation } = await import('./auth/invalidation-pg.js');
  const { sessionCache } = await import('./auth/invalidation.js');
  const invalidation = startPgSessionInvalidation({
    connectionString: config.databaseUrl,
    cache: sessionCache,
    logger,
    retryForMs: MAX_SESSION_CACHE_TTL_MS,
  });
  await Promise.race([invalidation.ready, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
  return invalidation;
}
