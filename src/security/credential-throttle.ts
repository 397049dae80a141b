/**
 * Failed-credential throttle per client address: guessing keys, session tokens or
 * passwords gets slower, not cheaper.
 *
 * Every HTTP 401 answer counts as a failure of the address it came from: a bad key or
 * session token refused by the auth plugin, and a failed signIn. Once an address has
 * `limit` failures within the window, its requests are refused with 429 before anything
 * else is looked at, credential included, until the window (which starts at the first
 * failure) ends. Successes do not reset the count: otherwise an attacker holding one valid
 * key could interleave it with guesses and never be throttled.
 *
 * Password guesses are counted per signIn, not per HTTP request: one batched request (or
 * one document with ten aliased signIn fields) would otherwise get ten guesses past one
 * check. Each signIn takes a point before its password is verified (atomically, so
 * concurrent operations of a batch cannot all pass at the limit's edge) and gives it back
 * when it succeeds; see `SignInAttempts`.
 *
 * The address is the one the auth plugin uses (the socket's, or X-Forwarded-For from a
 * trusted proxy). Behind a proxy that is not listed in KEYGATE_TRUSTED_PROXIES every
 * client shares the proxy's address, and a few failures would throttle everyone.
 */
import type { Plugin } from 'graphql-yoga';
import type { ExecutionResult, GraphQLError } from 'graphql';
import type { RateLimiterRes } from 'rate-limiter-flexible';
import { resolveClientAddress } from '../auth/use-auth.js';
import type { ServerContext } from '../context.js';
import { rateLimited } from '../errors.js';
import type { AddressRange } from '../lib/ip.js';
import type { Logger } from '../lib/logger.js';
import { retryAfterSeconds, take, type LimiterStore } from './limiter-store.js';

/** Paths outside the GraphQL endpoint that verify credentials (modules/key-controls/schema-view.ts). */
const CREDENTIAL_ENDPOINTS = new Set(['/schema.graphql']);

/** What signIn asks before and after verifying a password (on the GraphQL context). */
export type SignInAttempts = {
  /** Takes one attempt for the caller's address; RATE_LIMITED when none is left. */
  begin(): Promise<void>;
  /** The password was right: the attempt does not count as a failure. */
  succeeded(): Promise<void>;
};

/** Without a throttle (limit 0) every attempt is allowed. */
export const UNLIMITED_SIGN_IN_ATTEMPTS: SignInAttempts = { begin: async () => {}, succeeded: async () => {} };

export type CredentialThrottleOptions = {
  /** Failures per window before the address is refused. 0 turns the throttle off. */
  limit: number;
  windowSeconds: number;
  trustedProxies: readonly AddressRange[];
  store: LimiterStore;
  logger: Logger;
};

/** The failure counter per address; shared with /auth/verify (gateway/endpoints.ts). Null when off. */
export type CredentialFailures = {
  /**
   * RATE_LIMITED when the address has used up its failures. null, without a promise, when
   * the answer is known without asking the store (see `AddressesCounted`): the common case.
   */
  refusal(address: string): Promise<GraphQLError | null> | null;
  /** Counts `count` refused credentials of the address. */
  failed(address: string, count?: number): Promise<void>;
  /** Takes one sign-in attempt of the address; its answer when none is left, else null. */
  takeAttempt(address: string): Promise<RateLimiterRes | null>;
  /** Gives back an attempt of a sign-in that succeeded. */
  returnAttempt(address: string): Promise<void>;
};

export function createCredentialFailures(options: Omit<CredentialThrottleOptions, 'trustedProxies'>): CredentialFailures | null {
  const { limit, windowSeconds, store, logger } = options;
  if (limit <= 0) return null;
  const limiter = store.create({ name: 'auth-failures', points: limit, durationSeconds: windowSeconds });
  // Only needed when this process is the only one counting: with Redis, other instances count too.
  const counted = store.shared ? null : new AddressesCounted(windowSeconds);
  return {
    refusal(address) {
      if (counted && !counted.has(address)) return null;
      return limiter.get(address).then(
        (record) => (record && record.consumedPoints >= limit ? rateLimited(retryAfterSeconds(record)) : null),
        (error: unknown) => {
          logger.warn('credential throttle lookup failed; request allowed', { error });
          return null;
        },
      );
    },
    async failed(address, count = 1) {
      counted?.add(address, count);
      await limiter.penalty(address, count).catch((error: unknown) => logger.warn('could not count a failed credential attempt', { error }));
    },
    takeAttempt(address) {
      counted?.add(address, 1);
      return take(limiter, address, logger);
    },
    async returnAttempt(address) {
      counted?.add(address, -1);
      await limiter.reward(address, 1).catch((error: unknown) => logger.warn('could not return a sign-in attempt', { error }));
    },
  };
}

/**
 * What this process has counted per address, each until its window has surely ended (a
 * window starts at its first point; the entry's end moves with every later one, and its
 * points only reset once that end has passed, so they are never fewer than the limiter's).
 * With the in-memory store no one else counts, so an address without points here has no
 * failures and its check needs no limiter call: the check on every request of every
 * well-behaved client (one that signed in successfully included, whose attempt was given
 * back) then costs a map lookup instead of a promise.
 */
class AddressesCounted {
  private readonly counted = new Map<string, { points: number; until: number }>();
  private addedSinceSweep = 0;

  constructor(private readonly windowSeconds: number) {}

  has(address: string): boolean {
    const entry = this.counted.get(address);
    // The clock only for an address with failures: most requests come from none.
    return entry !== undefined && entry.points > 0 && entry.until > Date.now();
  }

  /** `points` taken (or, negative, given back) for the address. */
  add(address: string, points: number, now = Date.now()): void {
    if (++this.addedSinceSweep >= 10_000) this.sweep(now);
    const entry = this.counted.get(address);
    const kept = entry && entry.until > now ? entry.points : 0;
    this.counted.set(address, { points: kept + points, until: now + this.windowSeconds * 1000 });
  }

  private sweep(now: number): void {
    this.addedSinceSweep = 0;
    for (const [address, { until }] of this.counted) if (until <= now) this.counted.delete(address);
  }
}

export function useCredentialThrottle(
  options: CredentialThrottleOptions,
  counter = createCredentialFailures(options),
): Plugin<ServerContext & { signInAttempts: SignInAttempts }> {
  const { trustedProxies } = options;
  if (!counter) {
    return { onContextBuilding: ({ extendContext }) => extendContext({ signInAttempts: UNLIMITED_SIGN_IN_ATTEMPTS }) };
  }
  const failures: CredentialFailures = counter;

  function clientAddressOf(request: Request, server: object): string | null {
    const socketAddress = (server as ServerContext).req?.socket?.remoteAddress ?? null;
    return resolveClientAddress(socketAddress, request.headers, trustedProxies);
  }

  function signInAttemptsFor(address: string): SignInAttempts {
    return {
      async begin() {
        const refusal = await failures.takeAttempt(address);
        if (refusal) throw rateLimited(retryAfterSeconds(refusal));
      },
      succeeded: () => failures.returnAttempt(address),
    };
  }

  // Hooks return a promise only when they have something to wait for: most requests pass
  // every one of them synchronously.
  return {
    // Endpoints besides /graphql that verify a credential (the schema view): the same
    // refusal while throttled, and their 401s count, or they would be a free guessing oracle.
    onRequest({ request, url, serverContext, endResponse, fetchAPI }) {
      if (!CREDENTIAL_ENDPOINTS.has(url.pathname)) return;
      const address = clientAddressOf(request, serverContext);
      return address
        ? failures.refusal(address)?.then((refusal) => {
            if (!refusal) return;
            const retryAfter = refusal.extensions.retryAfter;
            endResponse(
              new fetchAPI.Response(JSON.stringify({ errors: [{ message: refusal.message, extensions: { code: 'RATE_LIMITED', retryAfter } }] }), {
                status: 429,
                headers: { 'content-type': 'application/json', 'retry-after': String(retryAfter) },
              }),
            );
          })
        : undefined;
    },
    onResponse({ request, response, serverContext }) {
      if (response.status !== 401 || !CREDENTIAL_ENDPOINTS.has(new URL(request.url).pathname)) return;
      const address = clientAddressOf(request, serverContext);
      return address ? failures.failed(address) : undefined;
    },
    // Before the request is parsed, so a throttled address costs no credential check,
    // no database lookup and no password hash.
    onRequestParse({ request, serverContext }) {
      const address = clientAddressOf(request, serverContext);
      return address
        ? failures.refusal(address)?.then((refusal) => {
            if (refusal) throw refusal;
          })
        : undefined;
    },
    onContextBuilding({ context, extendContext }) {
      const address = clientAddressOf(context.request, context);
      extendContext({ signInAttempts: address ? signInAttemptsFor(address) : UNLIMITED_SIGN_IN_ATTEMPTS });
    },
    // The auth plugin refuses a bad credential while the request is parsed, so its 401 is in
    // the result Yoga answers with, never in an execution's.
    onResultProcess({ result, request, serverContext }) {
      if (!isCredentialFailure(result)) return;
      const address = clientAddressOf(request, serverContext as ServerContext);
      return address ? failures.failed(address) : undefined;
    },
  };
}

/**
 * The auth plugin's refusal: a 401 of the whole request, which carries no path. signIn's
 * failures (with a path) were counted by `signInAttempts` already.
 */
function isCredentialFailure(result: unknown): boolean {
  if (!result || typeof result !== 'object' || Array.isArray(result) || Symbol.asyncIterator in result) return false;
  return ((result as ExecutionResult).errors ?? []).some((error: GraphQLError) => {
    const extensions = error.extensions as { code?: unknown; http?: { status?: unknown } } | undefined;
    return !error.path && extensions?.code === 'UNAUTHENTICATED' && extensions.http?.status === 401;
  });
}
