/**
 * The auth plugin: turns the request's credential into `context.auth`, the principal every
 * resolver trusts. No credential → anonymous. A credential that is present but bad fails
 * the whole request (401, or 403 for a disallowed address) before its body is even parsed.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Plugin } from 'graphql-yoga';
import type { ServerContext } from '../context.js';
import { unauthenticated } from '../errors.js';
import { isInRanges, parseAddress, type AddressRange } from '../lib/ip.js';
import { ANONYMOUS, type Principal } from './principal.js';
import { SESSION_TOKEN_PREFIX } from './strategies/session.js';
import type { AuthStrategy } from './strategies/strategy.js';

export type UseAuthOptions = {
  /** Tried in order; the first that recognizes the credential decides. */
  strategies: AuthStrategy[];
  /**
   * Proxies whose X-Forwarded-For is believed. Without them the socket address is the
   * client's, since anyone can send the header.
   * @default []
   */
  trustedProxies?: readonly AddressRange[];
};

/** What reading a credential needs of a request's headers: a Fetch `Headers`, or Node's headers behind `nodeHeaders`. */
export type HeaderReader = { get(name: string): string | null };

/** Node's lower-cased header object as the `get` that credential extraction reads. */
export function nodeHeaders(headers: IncomingHttpHeaders): HeaderReader {
  return {
    get(name) {
      const value = headers[name];
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

export type AuthContext = { auth: Principal; clientAddress: string | null; workspaceId: string | null };

/**
 * Credential → principal, at most once per request. The auth plugin asks it while building
 * the context; the trusted-documents policy (modules/key-controls) must know the key before
 * that, while the request's parameters are read, and gets the same answer (and the same
 * failure, which the auth plugin then reports, so the credential throttle counts it once).
 */
export type Authenticator = {
  forRequest(request: Request, server: ServerContext): Promise<AuthContext>;
  /** The answer of an earlier `forRequest` for this request, if any. */
  peek(request: Request): Promise<AuthContext> | undefined;
  /**
   * The same answer without a promise, once it has succeeded: for plugins that look at the
   * principal on every response (usage counting, budget headers) and should not allocate a
   * promise chain per request to do it. undefined while pending, after a failure, or never asked.
   */
  settled(request: Request): AuthContext | undefined;
  /** A credential alone → principal, unmemoized: for requests outside GraphQL (/auth/verify, gateway/endpoints.ts). */
  authenticate(credential: string, clientAddress: string | null): Promise<Principal>;
  /** The same answer without a promise when memory alone gives it, else undefined (AuthStrategy.authenticateCached). */
  authenticateCached(credential: string, clientAddress: string | null): Principal | undefined;
  /**
   * What `forRequest` answers, from headers and the client's address alone: for the gateway's
   * upstream lane (gateway/upstream-lane.ts), which reads Node's request ahead of Yoga and
   * hands its answer to Yoga (`laneHandoff`) when Yoga must answer after all.
   */
  contextFor(headers: HeaderReader, clientAddress: string | null): Promise<AuthContext>;
};

type Answer = { promise: Promise<AuthContext>; value?: AuthContext };

export function createAuthenticator(options: UseAuthOptions): Authenticator {
  const trustedProxies = options.trustedProxies ?? [];
  const answers = new WeakMap<Request, Answer>();
  const strategyFor = strategyChooser(options.strategies);
  const authenticate = async (credential: string, clientAddress: string | null) => strategyFor(credential).authenticate(credential, { clientAddress });

  async function contextFor(headers: HeaderReader, clientAddress: string | null): Promise<AuthContext> {
    const credential = extractCredential(headers);
    const auth = credential ? await authenticate(credential, clientAddress) : ANONYMOUS;
    return { auth, clientAddress, workspaceId: headers.get('x-workspace-id')?.trim() || null };
  }

  async function resolve(request: Request, server: ServerContext, answer: Answer): Promise<AuthContext> {
    // Answered already by the upstream lane, whose authentication must not run (and count) twice.
    answer.value = await (server.laneHandoff?.authentication ??
      contextFor(request.headers, resolveClientAddress(server.req?.socket?.remoteAddress ?? null, request.headers, trustedProxies)));
    return answer.value;
  }

  return {
    forRequest(request, server) {
      let answer = answers.get(request);
      if (!answer) {
        answer = {} as Answer; // its promise is set on the next line; resolve fills in its value
        answer.promise = resolve(request, server, answer);
        // Whoever awaits it sees the failure; this only keeps an unawaited one from being "unhandled".
        answer.promise.catch(() => {});
        answers.set(request, answer);
      }
      return answer.promise;
    },
    peek: (request) => answers.get(request)?.promise,
    settled: (request) => answers.get(request)?.value,
    authenticate,
    authenticateCached(credential, clientAddress) {
      // Not `strategyFor`: a strategy answers here only for a credential it has verified before
      // (its digest is cached), which it therefore recognizes, so the first answer decides
      // without the key format's regular expression (~2 k instructions on /auth/verify's path).
      for (const strategy of options.strategies) {
        const principal = strategy.authenticateCached?.(credential, { clientAddress });
        if (principal !== undefined) return principal;
      }
      return undefined;
    },
    contextFor,
  };
}

const noHooks = () => undefined;

/** The strategies in order, as one function: the first that recognizes the credential decides. */
function strategyChooser(strategies: readonly AuthStrategy[]) {
  return function strategyFor(credential: string): AuthStrategy {
    const strategy = strategies.find((candidate) => candidate.recognizes(credential));
    if (!strategy) throw unauthenticated('INVALID', 'The credential is not a keygate API key or session token.');
    return strategy;
  };
}

/** What useAuth adds to the context besides the AuthContext. */
export type Reauthentication = {
  /**
   * The request's credential checked again, now: for what outlives its request (a
   * subscription's later events), where a key revoked, a session ended or a group changed
   * since must show. Throws as authentication does (UNAUTHENTICATED, FORBIDDEN for the address).
   */
  reauthenticate(): Promise<Principal>;
};

export function useAuth(options: UseAuthOptions | Authenticator): Plugin<AuthContext & Reauthentication & ServerContext> {
  const authenticator = 'forRequest' in options ? options : createAuthenticator(options);
  return {
    // Before the body is parsed: a credential that is present but bad fails the whole HTTP
    // request with its 401/403, a batch too and whatever the document (an invalid one would
    // otherwise be answered first). The answer is memoized for the rest of the request.
    onRequestParse({ request, serverContext }) {
      if (authenticator.settled(request)) return;
      return authenticator.forRequest(request, serverContext as ServerContext).then(noHooks);
    },
    onContextBuilding({ context, extendContext }) {
      const extend = (answer: AuthContext) =>
        extendContext({
          ...answer,
          reauthenticate: () => authenticator.contextFor(context.request.headers, answer.clientAddress).then(({ auth }) => auth),
        });
      // Usually answered already (the trusted-documents policy asks while reading the parameters).
      const settled = authenticator.settled(context.request);
      if (settled) extend(settled);
      else return authenticator.forRequest(context.request, context).then(extend);
    },
  };
}

/**
 * X-Api-Key or Authorization: Bearer. Two different credentials in one request are refused
 * rather than guessed between: which one a client meant is not ours to pick.
 */
export function extractCredential(headers: HeaderReader): string | null {
  const apiKey = headers.get('x-api-key')?.trim() || null;
  const authorization = headers.get('authorization')?.trim() || null;
  let bearer: string | null = null;
  if (authorization) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!match) throw unauthenticated('INVALID', 'The Authorization header must be "Bearer <token>".');
    bearer = match[1]!;
  }
  if (apiKey?.startsWith(SESSION_TOKEN_PREFIX)) {
    throw unauthenticated('INVALID', 'X-Api-Key carries API keys; send a session token as Authorization: Bearer.');
  }
  if (apiKey && bearer && apiKey !== bearer) {
    throw unauthenticated('INVALID', 'Send one credential: X-Api-Key or Authorization, not two different ones.');
  }
  return apiKey ?? bearer;
}

/**
 * The client is the socket's peer, unless that peer is a trusted proxy: then walk
 * X-Forwarded-For from the right, skipping trusted proxies; the first other address is the
 * client. Entries left of it were written by the client itself and prove nothing.
 */
export function resolveClientAddress(
  socketAddress: string | null,
  headers: HeaderReader,
  trustedProxies: readonly AddressRange[],
): string | null {
  if (trustedProxies.length === 0) return normalizedAddress(socketAddress);
  const peer = parseAddress(socketAddress);
  if (!peer) return socketAddress;
  if (trustedProxies.length === 0 || !isInRanges(peer, trustedProxies)) return peer.toString();
  const forwarded = (headers.get('x-forwarded-for') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  let client = peer;
  for (let i = forwarded.length - 1; i >= 0; i--) {
    const hop = parseAddress(forwarded[i]);
    if (!hop) break;
    client = hop;
    if (!isInRanges(hop, trustedProxies)) break;
  }
  return client.toString();
}

const normalizedAddresses = new Map<string, string>();
const MAX_NORMALIZED_ADDRESSES = 10_000;

/**
 * `parseAddress(a).toString()` (or `a` itself when it does not parse), memoized: parsing was
 * ~2% of a warm API-key request's CPU, and a server sees the same few peers (its load
 * balancer, keep-alive clients) again and again. Cleared when full, so a flood from many
 * addresses cannot grow it without bound.
 */
function normalizedAddress(socketAddress: string | null): string | null {
  if (socketAddress === null) return null;
  let text = normalizedAddresses.get(socketAddress);
  if (text === undefined) {
    text = parseAddress(socketAddress)?.toString() ?? socketAddress;
    if (normalizedAddresses.size >= MAX_NORMALIZED_ADDRESSES) normalizedAddresses.clear();
    normalizedAddresses.set(socketAddress, text);
  }
  return text;
}
