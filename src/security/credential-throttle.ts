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
 * The address is the one the auth plugin uses (the socket's, or X-Forwarded-For from a
 * trusted proxy). Behind a proxy that is not listed in KEYGATE_TRUSTED_PROXIES every
 * client shares the proxy's address, and a few failures would throttle everyone.
 */
import type { Plugin } from 'graphql-yoga';
import type { ExecutionResult } from 'graphql';
import { resolveClientAddress } from '../auth/use-auth.js';
import type { ServerContext } from '../context.js';
import { rateLimited } from '../errors.js';
import type { AddressRange } from '../lib/ip.js';
import type { Logger } from '../lib/logger.js';
import { retryAfterSeconds, type LimiterStore } from './limiter-store.js';

export type CredentialThrottleOptions = {
  /** Failures per window before the address is refused. 0 turns the throttle off. */
  limit: number;
  windowSeconds: number;
  trustedProxies: readonly AddressRange[];
  store: LimiterStore;
  logger: Logger;
};

export function useCredentialThrottle(options: CredentialThrottleOptions): Plugin<ServerContext> {
  const { limit, windowSeconds, trustedProxies, store, logger } = options;
  if (limit <= 0) return {};
  const failures = store.create({ name: 'auth-failures', points: limit, durationSeconds: windowSeconds });

  function clientAddressOf(request: Request, server: object): string | null {
    const socketAddress = (server as ServerContext).req?.socket?.remoteAddress ?? null;
    return resolveClientAddress(socketAddress, request.headers, trustedProxies);
  }

  return {
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

/** 401s in one operation's result: the auth plugin's refusals and signIn's. */
function countCredentialFailures(result: unknown): number {
  if (!result || typeof result !== 'object' || Symbol.asyncIterator in result) return 0;
  const errors = (result as ExecutionResult).errors ?? [];
  return errors.filter((error) => {
    const extensions = error.extensions as { code?: unknown; http?: { status?: unknown } } | undefined;
    return extensions?.code === 'UNAUTHENTICATED' && extensions.http?.status === 401;
  }).length;
}
