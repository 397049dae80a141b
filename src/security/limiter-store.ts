/**
 * Where the rate limiters keep their counters: process memory by default, Redis when
 * KEYGATE_REDIS_URL is set, so that instances behind one load balancer count together
 * (otherwise each instance would allow the full limit and N instances N times it).
 *
 * If Redis fails, each limiter falls back to an in-memory one (rate-limiter-flexible's
 * insurance limiter): limits keep holding per instance instead of either refusing every
 * request or letting everything through. A Redis that stops answering costs a request one
 * command timeout at most: the first command that times out drops the connection.
 */
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Logger } from '../lib/logger.js';

export type LimiterSpec = {
  /** Names the counter family in Redis keys (`<prefix>:<name>:<key>`). */
  name: string;
  points: number;
  durationSeconds: number;
};

export type LimiterStore = {
  create(spec: LimiterSpec): RateLimiterAbstract;
  /** true: counters live in Redis, shared by every instance; false: in this process's memory. */
  shared: boolean;
  /** Settles once the store is connected, or has failed to connect (the insurance then counts). */
  ready: Promise<void>;
  close(): Promise<void>;
};

export type LimiterStoreOptions = {
  redis: { url: string; keyPrefix: string } | null;
  logger: Logger;
};

export function createLimiterStore({ redis, logger }: LimiterStoreOptions): LimiterStore {
  if (!redis) {
    return {
      create: ({ name, points, durationSeconds }) => new RateLimiterMemory({ keyPrefix: name, points, duration: durationSeconds }),
      shared: false,
      ready: Promise.resolve(),
      close: async () => {},
    };
  }
  const client = new Redis(redis.url, {
    // Fail fast while Redis is away, so the insurance limiter answers instead of requests
    // queueing behind a reconnect.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    // A Redis that stops answering (a frozen host, a network partition) closes no socket:
    // without a timeout its commands, and the requests counting with them, would wait forever.
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
  });
  let warned = false;
  // Once per outage. The URL may carry a password: log the error's message only.
  const unavailable = (error: string) => {
    if (!warned) logger.warn('rate-limit store (Redis) unavailable; counting in memory meanwhile', { error });
    warned = true;
  };
  client.on('error', (error: Error) => unavailable(error.message));
  const watchdog = watchForSilence(client, () => unavailable('Redis stopped answering'));
  // A command that ran into the timeout: Redis is not answering now. Dropping the connection
  // at once sends every later command to the insurance until a reconnect is answered, so a
  // request that counts with several limiters (the throttle, per key, per tenant) waits for
  // one timeout, not one per limiter.
  const onTimedOut = () => {
    if (client.status !== 'ready') return;
    unavailable('a Redis command timed out');
    client.disconnect(true);
  };
  client.on('ready', () => (warned = false));
  const ready = new Promise<void>((resolve) => {
    client.once('ready', resolve);
    client.once('error', () => resolve());
  });
  return {
    ready,
    shared: true,
    create: ({ name, points, durationSeconds }) =>
      watchingForTimeouts(
        new RateLimiterRedis({
          storeClient: client,
          keyPrefix: `${redis.keyPrefix}:${name}`,
          points,
          duration: durationSeconds,
          rejectIfRedisNotReady: true,
          insuranceLimiter: new RateLimiterMemory({ keyPrefix: name, points, duration: durationSeconds }),
        }),
        onTimedOut,
      ),
    async close() {
      clearInterval(watchdog);
      await client.quit().catch(() => client.disconnect());
    },
  };
}

/** How long a request's counting waits for Redis before the in-memory insurance answers. */
const REDIS_COMMAND_TIMEOUT_MS = 500;
const REDIS_HEALTH_CHECK_MS = 1_000;
/** PINGs in a row left unanswered before the connection is dropped: one slow answer is no outage. */
const SILENT_PINGS_TO_DISCONNECT = 2;

/**
 * PINGs Redis every second; when SILENT_PINGS_TO_DISCONNECT in a row are not answered within
 * the command timeout, drops the connection. Until a reconnect is answered the client is not
 * ready, and the limiters (rejectIfRedisNotReady) count in memory at once: only requests in
 * flight meanwhile wait, each at most the command timeout. Any other answer, even an error
 * (LOADING, NOAUTH), shows Redis is there, and ioredis itself deals with it.
 */
function watchForSilence(client: Redis, onSilent: () => void): NodeJS.Timeout {
  let silentPings = 0;
  const timer = setInterval(() => {
    if (client.status !== 'ready') {
      silentPings = 0;
      return;
    }
    client.ping().then(
      () => (silentPings = 0),
      (error: Error) => {
        if (!/timed out/i.test(error.message)) return void (silentPings = 0);
        if (++silentPings < SILENT_PINGS_TO_DISCONNECT || client.status !== 'ready') return;
        silentPings = 0;
        onSilent();
        client.disconnect(true);
      },
    );
  }, REDIS_HEALTH_CHECK_MS);
  timer.unref();
  return timer;
}

/** The limiter operations that talk to Redis. */
const STORE_OPERATIONS = new Set(['consume', 'penalty', 'reward', 'get', 'set', 'block', 'delete']);

/**
 * `limiter`, calling `onTimedOut` when an operation took the command timeout: the insurance
 * limiter answered it after Redis did not (rate-limiter-flexible hides the error itself).
 */
function watchingForTimeouts(limiter: RateLimiterRedis, onTimedOut: () => void): RateLimiterAbstract {
  return new Proxy(limiter, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string' || !STORE_OPERATIONS.has(property)) return value;
      return (...args: unknown[]) => {
        const started = performance.now();
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args).finally(() => {
          if (performance.now() - started >= REDIS_COMMAND_TIMEOUT_MS) onTimedOut();
        });
      };
    },
  });
}

/** Seconds until the limiter lets `key` through again, for Retry-After (at least 1). */
export function retryAfterSeconds(res: RateLimiterRes): number {
  return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
}

/**
 * Takes `points` for `key`. Returns null when allowed, or the limiter's answer when the
 * limit is reached. A store error (both Redis and the insurance failing) lets the request
 * through: rate limiting protects capacity, it is not an access control.
 */
export async function take(limiter: RateLimiterAbstract, key: string, logger: Logger, points = 1): Promise<RateLimiterRes | null> {
  try {
    await limiter.consume(key, points);
    return null;
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) return rejection;
    logger.warn('rate limiter failed; request allowed', { limiter: limiter.keyPrefix, error: rejection });
    return null;
  }
}
