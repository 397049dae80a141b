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
  /** RATE_LIMITED when the address has used up its failures, else null. */
  refusal(address: string): Promise<GraphQLError | null>;
  /** Counts one refused credential of the address. */
  failed(address: string): Promise<void>;
};

export function createCredentialFailures(options: Omit<CredentialThrottleOptions, 'trustedProxies'>) {
  const { limit, windowSeconds, store, logger } = options;
  if (limit <= 0) return null;
  const limiter = store.create({ name: 'auth-failures', points: limit, durationSeconds: windowSeconds });
  const failures: CredentialFailures & { limiter: typeof limiter } = {
    limiter,
    async refusal(address) {
      const record = await limiter.get(address).catch((error: unknown) => {
        logger.warn('credential throttle lookup failed; request allowed', { error });
        return null;
      });
      return record && record.consumedPoints >= limit ? rateLimited(retryAfterSeconds(record)) : null;
    },
    async failed(address) {
      await limiter.penalty(address, 1).catch((error: unknown) => logger.warn('could not count a failed credential attempt', { error }));
    },
  };
  return failures;
}

export function useCredentialThrottle(
  options: CredentialThrottleOptions,
  counter = createCredentialFailures(options),
): Plugin<ServerContext & { signInAttempts: SignInAttempts }> {
  const { limit, trustedProxies, logger } = options;
  if (!counter) {
    return { onContextBuilding: ({ extendContext }) => extendContext({ signInAttempts: UNLIMITED_SIGN_IN_ATTEMPTS }) };
  }
  const failures = counter.limiter;

  function clientAddressOf(request: Request, server: object): string | null {
    const socketAddress = (server as ServerContext).req?.socket?.remoteAddress ?? null;
    return resolveClientAddress(socketAddress, request.headers, trustedProxies);
  }

  function signInAttemptsFor(address: string): SignInAttempts {
    return {
      async begin() {
        const refusal = await take(failures, address, logger);
        if (refusal) throw rateLimited(retryAfterSeconds(refusal));
      },
      async succeeded() {
        await failures.reward(address, 1).catch((error: unknown) => logger.warn('could not return a sign-in attempt', { error }));
      },
    };
  }

  return {
    // Endpoints besides /graphql that verify a credential (the schema view): the same
    // refusal while throttled, and their 401s count, or they would be a free guessing oracle.
    async onRequest({ request, url, serverContext, endResponse, fetchAPI }) {
      if (!CREDENTIAL_ENDPOINTS.has(url.pathname)) return;
      const address = clientAddressOf(request, serverContext);
      const record = address ? await failures.get(address).catch(() => null) : null;
      if (record && record.consumedPoints >= limit) {
        const refusal = rateLimited(retryAfterSeconds(record));
        endResponse(
          new fetchAPI.Response(JSON.stringify({ errors: [{ message: refusal.message, extensions: { code: 'RATE_LIMITED' } }] }), {
            status: 429,
            headers: { 'content-type': 'application/json', 'retry-after': String(retryAfterSeconds(record)) },
          }),
        );
      }
    },
    async onResponse({ request, response, serverContext }) {
      if (response.status !== 401 || !CREDENTIAL_ENDPOINTS.has(new URL(request.url).pathname)) return;
      const address = clientAddressOf(request, serverContext);
      if (address) await failures.penalty(address, 1).catch((error: unknown) => logger.warn('could not count a failed credential attempt', { error }));
    },
    // Before the request is parsed, so a throttled address costs no credential check,
    // no database lookup and no password hash.
    async onRequestParse({ request, serverContext }) {
      const address = clientAddressOf(request, serverContext);
      if (!address) return;
      const record = await failures.get(address).catch((error: unknown) => {
        logger.warn('credential throttle lookup failed; request allowed', { error });
        return null;
      });
      if (record && record.consumedPoints >= limit) throw rateLimited(retryAfterSeconds(record));
    },
    onContextBuilding({ context, extendContext }) {
      const address = clientAddressOf(context.request, context);
      extendContext({ signInAttempts: address ? signInAttemptsFor(address) : UNLIMITED_SIGN_IN_ATTEMPTS });
    },
    async onExecutionResult({ result, context, request }) {
      const count = countCredentialFailures(result);
      if (count === 0) return;
      const address = clientAddressOf(request, context);
      if (!address) return;
      await failures.penalty(address, count).catch((error: unknown) => {
        logger.warn('could not count a failed credential attempt', { error });
      });
    },
  };
}

/**
 * The auth plugin's refusals in one result: 401s of the whole request, which carry no path.
 * signIn's failures (with a path) were counted by `signInAttempts` already.
 */
function countCredentialFailures(result: unknown): number {
  if (!result || typeof result !== 'object' || Symbol.asyncIterator in result) return 0;
  const errors = (result as ExecutionResult).errors ?? [];
  return errors.filter((error) => {
    const extensions = error.extensions as { code?: unknown; http?: { status?: unknown } } | undefined;
    return !error.path && extensions?.code === 'UNAUTHENTICATED' && extensions.http?.status === 401;
  }).length;
}
