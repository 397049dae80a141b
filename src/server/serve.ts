/**
 * `keygate serve`: migrate, bootstrap, serve over HTTP, shut down cleanly on SIGTERM/SIGINT.
 * Imported only once the configuration is known to be valid (db.ts reads it on import).
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createGatewayApp } from '../app.js';
import { keyLookup } from '../auth/key-lookup.js';
import { sessionLookup } from '../auth/session-lookup.js';
import { triggerLookup } from '../modules/workflow/trigger-lookup.js';
import { MAX_KEY_CACHE_TTL_MS, MAX_SESSION_CACHE_TTL_MS, type Config } from '../config.js';
import { db, isSqliteUrl } from '../db.js';
import { applyMigrations } from '../db/migrate.js';
import { SIGNING_KEY_REQUIRED } from '../gateway/signing-keys.js';
import type { Logger } from '../lib/logger.js';
import { StartupError } from '../lib/startup-error.js';
import { bootstrap } from '../modules/user/bootstrap.js';
import { WebhookDispatcher } from '../modules/webhook/dispatcher.js';

const SHUTDOWN_GRACE_MS = 10_000;
/** Past the grace, how long the pending last-used times and usage counts may still take to write. */
const FORCED_FLUSH_MS = 2_000;

export async function serve(config: Config): Promise<void> {
  // Everything that can be known wrong before touching the database is checked first: a start
  // that cannot succeed must not migrate, nor create the administrator and print its one-time
  // password into the log of a failed deploy.
  // Every instance must encrypt and decrypt signing secrets with the same key: no key file here.
  if (config.production && !isSqliteUrl(config.databaseUrl) && !config.webhooks.secretKey) {
    throw new StartupError('KEYGATE_WEBHOOK_SECRET_KEY is required in production on PostgreSQL (32 bytes, e.g. `openssl rand -base64 32`, the same on every instance)');
  }
  // Gateway mode signs principal tokens from the start; production keeps no unencrypted key.
  if (config.production && config.gateway.upstreamsFile && !config.gateway.signingKeyPem && !config.gateway.signingKeySecret) {
    throw new StartupError(SIGNING_KEY_REQUIRED);
  }
  // The port and HOST too: taken at once, answering 503 until the app is ready.
  let handle: RequestListener = answerStarting;
  const eventStreams = new EventStreams();
  const server = createServer((req, res) => {
    eventStreams.track(req, res);
    handle(req, res);
  });
  await listen(server, config);

  // Upstreams are introspected before migrating: an unreachable one stops the start with one line.
  const { handleNodeRequest, lastUsed, usage, logger, gateway, close: closeSecurity } = await createGatewayApp({ config });
  await applyMigrations(config.databaseUrl, {
    log: (line) => (line.startsWith('warning') ? logger.warn(line) : logger.info(line)),
  });
  // With upstreams, a signing key that cannot be used fails the start (one line) rather than
  // every gateway request. Without them only /auth/verify needs it, and answers 503 until set.
  if (config.gateway.upstreamsFile) await gateway.keys.current();
  await bootstrap(config, logger);

  // Several instances share one PostgreSQL: each must hear the others' key changes (see
  // invalidation-pg.ts for the staleness bound). SQLite is one machine, one instance.
  const [keyInvalidation, sessionInvalidation] = await Promise.all([
    startKeyInvalidation(config, logger),
    startSessionInvalidation(config, logger),
  ]);

  // Webhooks: runs and events are delivered from the outbox by every instance (SKIP LOCKED
  // on PostgreSQL); run changes reach other instances' subscribers through LISTEN/NOTIFY.
  const runUpdates = await startRunUpdates(config, logger);
  const dispatcher = new WebhookDispatcher({ config, logger }).start();

  handle = handleNodeRequest;
  logger.info('keygate is listening', { url: `http://localhost:${config.port}/graphql` });
  console.log(`keygate: serving http://localhost:${config.port}/graphql`);

  let stopping = false;
  /** Stop accepting, let in-flight requests finish, write pending last-used times and usage counts, exit 0. */
  async function shutdown(signal: string) {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    const flushUses = () => Promise.all([lastUsed.flush(), usage.flush()]);
    const forced = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      // What was counted still goes to the database, if it answers within a moment.
      void Promise.race([flushUses(), new Promise((resolve) => setTimeout(resolve, FORCED_FLUSH_MS))]).finally(() => process.exit(1));
    }, SHUTDOWN_GRACE_MS).unref();
    // A keep-alive connection goes idle once its last response is sent; closing idle ones
    // again and again ends each as soon as its request finishes, instead of after the
    // keep-alive timeout.
    // Subscriptions never finish by themselves: they are ended (their clients reconnect to
    // another instance) once they have streamed a moment past the signal.
    const closeIdle = setInterval(() => {
      server.closeIdleConnections();
      eventStreams.endLasting();
    }, 50);
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    clearInterval(closeIdle);
    await dispatcher.stop();
    await runUpdates?.stop();
    await flushUses();
    await Promise.all([keyInvalidation?.stop(), sessionInvalidation?.stop()]);
    await Promise.all([keyLookup.close(), sessionLookup.close(), triggerLookup.close()]);
    await closeSecurity();
    await db.$disconnect();
    clearTimeout(forced);
    process.exit(0);
  }

  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/**
 * The responses that may be streams (subscriptions over Server-Sent Events or multipart), so
 * that shutdown can end them. Tracked: requests that accept a stream (urql's console asks so
 * of every request, hence the check below).
 */
class EventStreams {
  /** Each tracked response, and when its headers were first seen sent (0: not yet). */
  private readonly open = new Map<ServerResponse, number>();

  track(req: IncomingMessage, res: ServerResponse): void {
    if (!STREAM_ACCEPT.test(req.headers.accept ?? '')) return;
    this.open.set(res, 0);
    res.once('close', () => this.open.delete(res));
  }

  /**
   * Ends each response still open STREAM_END_GRACE_MS after its headers were sent: a plain
   * answer is written at once after its headers, a stream never ends. A request not yet
   * answered is left to finish. Called repeatedly during shutdown, so a stream that starts
   * late is ended too.
   */
  endLasting(now = Date.now()): void {
    for (const [res, headersSeenAt] of this.open) {
      if (!res.headersSent) continue;
      if (headersSeenAt === 0) this.open.set(res, now);
      else if (now - headersSeenAt >= STREAM_END_GRACE_MS) endStream(res);
    }
  }
}

/**
 * An event stream ends as the protocol ends one (`event: complete`, then the end of the
 * body), so its client sees a finished subscription rather than a broken transfer, and
 * subscribes again elsewhere. The response ending is what a client going away is to Yoga:
 * it ends the subscription; its later writes are dropped. Any other stream (multipart) is
 * cut. The socket goes a moment later in any case.
 */
function endStream(res: ServerResponse): void {
  if (!res.writableEnded && /text\/event-stream/.test(String(res.getHeader('content-type') ?? res.req.headers.accept ?? ''))) {
    res.on('error', () => {});
    res.end('event: complete\ndata:\n\n');
    setTimeout(() => res.socket?.destroy(), STREAM_END_GRACE_MS).unref();
  } else {
    res.socket?.destroy();
  }
}

const STREAM_ACCEPT = /text\/event-stream|multipart\/mixed/;
const STREAM_END_GRACE_MS = 500;

/** Before the app is ready (migrations, bootstrap): 503, so a load balancer waits. */
function answerStarting(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' }).end(JSON.stringify({ code: 'SERVICE_UNAVAILABLE', message: 'keygate is starting.' }));
}

/** Resolves once listening; a port that cannot be taken is a StartupError saying what to do. */
function listen(server: Server, config: Config): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenFailure(error, config)));
    server.listen(config.port, config.host, () => resolve());
  });
}

export function listenFailure(error: NodeJS.ErrnoException, config: Pick<Config, 'port' | 'host'>): Error {
  const address = `${config.host}:${config.port}`;
  switch (error.code) {
    case 'EADDRINUSE':
      return new StartupError(`port ${config.port} is already in use (${address}): stop the other process, or set PORT to a free port`, { cause: error });
    case 'EACCES':
      return new StartupError(`not allowed to listen on ${address}: use a PORT above 1023, or grant this user the right to bind low ports`, { cause: error });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new StartupError(`cannot listen on ${address}: HOST "${config.host}" does not resolve; set HOST to an address of this machine, or 0.0.0.0`, { cause: error });
    case 'EADDRNOTAVAIL':
      return new StartupError(`cannot listen on ${address}: HOST is not an address of this machine; set HOST to one of its addresses or 0.0.0.0`, { cause: error });
    default:
      return error;
  }
}

async function startKeyInvalidation(config: Config, logger: Logger) {
  if (isSqliteUrl(config.databaseUrl)) return null;
  const { startPgKeyInvalidation } = await import('../auth/invalidation-pg.js');
  const { keyCache } = await import('../auth/invalidation.js');
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

/** The same for sessions (signOut, deactivation, a group's permissions…), on their own channel. */
async function startSessionInvalidation(config: Config, logger: Logger) {
  if (isSqliteUrl(config.databaseUrl)) return null;
  const { startPgSessionInvalidation } = await import('../auth/invalidation-pg.js');
  const { sessionCache } = await import('../auth/invalidation.js');
  const invalidation = startPgSessionInvalidation({
    connectionString: config.databaseUrl,
    cache: sessionCache,
    logger,
    retryForMs: MAX_SESSION_CACHE_TTL_MS,
  });
  await Promise.race([invalidation.ready, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
  return invalidation;
}

/** Run changes across instances (the workflowRunUpdated subscription); PostgreSQL only. */
async function startRunUpdates(config: Config, logger: Logger) {
  if (isSqliteUrl(config.databaseUrl)) return null;
  const { startPgRunUpdates } = await import('../modules/webhook/run-updates.js');
  const updates = startPgRunUpdates({ connectionString: config.databaseUrl, logger });
  await Promise.race([updates.ready, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
  return updates;
}
