/**
 * The gateway's two HTTP endpoints next to /graphql:
 *
 * - `GET /.well-known/jwks.json`: the public keys of principal tokens, for upstreams.
 * - `GET /auth/verify`: forward authentication for Nginx `auth_request`, Traefik
 *   `ForwardAuth` and Envoy `ext_authz`. The same credential headers, client address
 *   (through trusted proxies), IP allowlists, rate limits and last-used recording as a
 *   GraphQL request; optional `permission` (a catalogue permission the caller must hold) and
 *   `projectId` (a project the caller must reach). 200 carries the principal token and ids
 *   in headers; refusals are 401, 403 or 429 with the GraphQL API's code and reason as JSON.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { assertHolds, requireAuthenticated } from '../auth/access.js';
import type { AuthenticatedPrincipal, Principal } from '../auth/principal.js';
import { extractCredential, nodeHeaders, resolveClientAddress, type HeaderReader } from '../auth/use-auth.js';
import { rejectionIn } from '../auth/use-usage-counting.js';
import type { UsageRecorder } from '../auth/usage.js';
import type { ServerContext } from '../context.js';
import { badInput, unauthenticated } from '../errors.js';
import type { AddressRange } from '../lib/ip.js';
import type { Logger } from '../lib/logger.js';
import { andThen } from '../lib/maybe-promise.js';
import { StartupError } from '../lib/startup-error.js';
import { findAccessibleProject } from '../modules/project/project.service.js';
import { isDatabaseUnavailable } from '../security/database-faults.js';
import type { CredentialFailures } from '../security/credential-throttle.js';
import type { RateLimitCheck } from '../security/rate-limit.js';
import { PRINCIPAL_HEADER, type PrincipalTokens } from './principal-token.js';
import type { SigningKeys } from './signing-keys.js';

export const JWKS_PATH = '/.well-known/jwks.json';
export const VERIFY_PATH = '/auth/verify';

export type GatewayEndpointsOptions = {
  keys: SigningKeys;
  tokens: PrincipalTokens;
  authenticate: (credential: string, clientAddress: string | null) => Promise<Principal>;
  /** `authenticate`'s answer without a promise when memory alone gives it, else undefined. */
  authenticateCached: (credential: string, clientAddress: string | null) => Principal | undefined;
  rateLimitCheck: RateLimitCheck | null;
  /** The failed-credential throttle: a refused credential here counts like one sent to /graphql. */
  credentialFailures: CredentialFailures | null;
  /** Per-key usage counts: a verified request counts like a GraphQL request of the key. */
  usage: UsageRecorder;
  trustedProxies: readonly AddressRange[];
  logger: Logger;
};

export function useGatewayEndpoints(options: GatewayEndpointsOptions): Plugin {
  return {
    onRequest({ url, request, serverContext, endResponse }) {
      if (url.pathname === JWKS_PATH) return jwks(request, options).then(endResponse);
      if (!isVerifyPath(url.pathname)) return;
      const socketAddress = (serverContext as ServerContext).req?.socket?.remoteAddress ?? null;
      return Promise.resolve(answerVerify({ headers: request.headers, searchParams: url.searchParams, socketAddress }, options)).then((answer) =>
        endResponse(asResponse(answer)),
      );
    },
  };
}

/**
 * /auth/verify straight from Node's request, ahead of Yoga (`keygate serve` asks it first):
 * a forward-auth proxy asks once per request it proxies, so this path is the gateway's hot
 * one, and Yoga's Fetch conversions and plugin hooks cost more than the answer itself
 * (README "Performance": bench/gateway.ts). The answer is the same as through the plugin
 * above, which serves `yoga.fetch` and the URLs this does not recognize. Returns false for any
 * other request.
 */
export function verifyNodeRequests(options: GatewayEndpointsOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const target = req.url ?? '';
    const query = target.indexOf('?');
    if (!isVerifyPath(query < 0 ? target : target.slice(0, query))) return false;
    const question = {
      headers: nodeHeaders(req.headers),
      searchParams: query < 0 ? NO_PARAMETERS : new URLSearchParams(target.slice(query + 1)),
      socketAddress: req.socket.remoteAddress ?? null,
    };
    const answer = answerVerify(question, options);
    if (!(answer instanceof Promise)) return send(res, answer, options.logger);
    answer.then(
      (settled) => send(res, settled, options.logger),
      (error: unknown) => send(res, refusal(error, options.logger), options.logger),
    );
    return true;
  };
}

/** A question without a query string (the usual one): read only, shared. */
const NO_PARAMETERS = new URLSearchParams();

function send(res: ServerResponse, answer: Answer, logger: Logger): true {
  try {
    res.writeHead(answer.status, answer.headers).end(answer.body ?? undefined);
  } catch (error) {
    logger.error('cannot answer /auth/verify', { error: (error as Error)?.message });
    res.destroy();
  }
  return true;
}

// Envoy's ext_authz appends the original path to its path_prefix: /auth/verify/orders/7.
function isVerifyPath(pathname: string): boolean {
  return pathname === VERIFY_PATH || pathname.startsWith(`${VERIFY_PATH}/`);
}

type Answer = { status: number; headers: Record<string, string>; body: string | null };

function asResponse(answer: Answer): Response {
  return new Response(answer.body, { status: answer.status, headers: answer.headers });
}

async function jwks(request: Request, { keys, logger }: GatewayEndpointsOptions): Promise<Response> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return asResponse(json(405, { error: 'Use GET.' }, { allow: 'GET, HEAD' }));
  try {
    // Short caching: a new key must reach upstreams soon after a rotation (instances switch within 30 s).
    return asResponse(json(200, await keys.jwks(), { 'cache-control': 'public, max-age=30' }));
  } catch (error) {
    logger.error('cannot serve the JWKS', { error: (error as Error).message });
    return asResponse(json(503, { code: 'SERVICE_UNAVAILABLE', message: 'The signing keys are unavailable.' }));
  }
}

type VerifyQuestion = { headers: HeaderReader; searchParams: URLSearchParams; socketAddress: string | null };

/**
 * The answer, without a promise when memory alone gives it: a cached key or session, no
 * counter to ask (no rate limit set, an address without failures), no project to look up, a
 * reusable principal token. That is the common question of a forward-auth proxy, asking again
 * and again for the same callers; anything else is the same answer, awaited.
 */
function answerVerify({ headers, searchParams, socketAddress }: VerifyQuestion, options: GatewayEndpointsOptions): Answer | Promise<Answer> {
  // Proxies forward the original method (Traefik, Envoy): any method is a question, not an action.
  let clientAddress: string | null = null;
  let principal: Principal | null = null;
  const refuse = (error: unknown) => refused(error, principal, clientAddress, options);
  try {
    clientAddress = resolveClientAddress(socketAddress, headers, options.trustedProxies);
    const answer = andThen(notThrottled(clientAddress, options), () =>
      andThen(authenticated(headers, clientAddress, options), (authenticatedAs) => {
        principal = authenticatedAs;
        return granted(authenticatedAs, searchParams, options);
      }),
    );
    return answer instanceof Promise ? answer.catch(refuse) : answer;
  } catch (error) {
    return refuse(error);
  }
}

/** Throws RATE_LIMITED for an address that has used up its failed credentials; asks the store only when it must. */
function notThrottled(clientAddress: string | null, { credentialFailures }: GatewayEndpointsOptions): void | Promise<void> {
  const lookup = clientAddress ? credentialFailures?.refusal(clientAddress) : null;
  return lookup?.then((throttled) => {
    if (throttled) throw throttled;
  });
}

function authenticated(headers: HeaderReader, clientAddress: string | null, options: GatewayEndpointsOptions): Principal | Promise<Principal> {
  const credential = extractCredential(headers);
  if (!credential) throw unauthenticated('MISSING');
  return options.authenticateCached(credential, clientAddress) ?? options.authenticate(credential, clientAddress);
}

/** The rate limits, then the question's requirements, then the 200 with the principal token. */
function granted(principal: Principal, searchParams: URLSearchParams, options: GatewayEndpointsOptions): Answer | Promise<Answer> {
  return andThen(options.rateLimitCheck?.(principal), () => {
    const actor = requireAuthenticated(principal);
    const projectIds = searchParams.size > 0 ? requirements(actor, searchParams) : [];
    return andThen(projectIds.length > 0 ? reachesProjects(actor, projectIds) : undefined, () =>
      andThen(options.tokens.reusableFor(actor) ?? options.tokens.sign(actor), (token) => accepted(actor, token, options)),
    );
  });
}

/** Checks every `permission` asked for now; returns the `projectId`s, which need the database. */
function requirements(actor: AuthenticatedPrincipal, searchParams: URLSearchParams): string[] {
  assertNoMisspelledRequirement(searchParams);
  for (const permission of required(searchParams, 'permission')) assertHolds(actor, permission);
  return required(searchParams, 'projectId');
}

const REQUIREMENT_NAMES: Record<string, 'permission' | 'projectId'> = { permission: 'permission', projectid: 'projectId' };

/**
 * Other parameters are left alone (Envoy appends the original request's path and query), but
 * one that reads like a requirement misspelled (`Permission`, `permission[]`, `projectID`) is
 * refused (400): taken as no requirement, a typo in a proxy's configuration would let every
 * caller in.
 */
function assertNoMisspelledRequirement(searchParams: URLSearchParams): void {
  for (const name of searchParams.keys()) {
    const meant = REQUIREMENT_NAMES[name.toLowerCase().replace(/\[\]$/, '')];
    if (meant && name !== meant) throw badInput(meant, `the parameter is spelled ${meant}, not ${JSON.stringify(name)}`);
  }
}

async function reachesProjects(actor: AuthenticatedPrincipal, projectIds: string[]): Promise<void> {
  for (const projectId of projectIds) await findAccessibleProject(actor, projectId);
}

function accepted(actor: AuthenticatedPrincipal, token: string, options: GatewayEndpointsOptions): Answer {
  if (actor.kind === 'API_KEY') options.usage.recordAccepted(actor.apiKey.id, actor.apiKey.usedPreviousSecret === true);
  // No computed key or spread in the literal: after one, V8 defines each remaining property
  // through its runtime, a slow path that cost this answer about a fifth of its instructions
  // (bench/instructions.ts, README "Gateway mode"). Stores of constant names stay fast.
  const headers: Record<string, string> = { 'x-keygate-tenant-id': actor.tenantId, 'cache-control': 'no-store' };
  headers[PRINCIPAL_HEADER] = token;
  if (actor.kind === 'API_KEY') headers['x-keygate-key-id'] = actor.apiKey.id;
  else headers['x-keygate-user-id'] = actor.user.id;
  return { status: 200, headers, body: null };
}

/** The refusal's answer, counted: in the key's usage, and as a failed credential when it was a guess. */
async function refused(error: unknown, principal: Principal | null, clientAddress: string | null, options: GatewayEndpointsOptions): Promise<Answer> {
  const answer = refusal(error, options.logger);
  if (principal?.kind === 'API_KEY') {
    const rejection = rejectionIn({ errors: [error] });
    if (rejection) options.usage.recordRejected(principal.apiKey.id, rejection);
  }
  // A missing credential is no guess; a wrong one is.
  const guessed = answer.status === 401 && (error as GraphQLError).extensions?.reason !== 'MISSING';
  if (guessed && clientAddress) await options.credentialFailures?.failed(clientAddress);
  return answer;
}

/**
 * Every value of a requirement parameter: each one must hold, so a repeated parameter
 * cannot hide a second requirement behind the first. An empty one is refused (400) rather
 * than skipped: a proxy template whose variable came out empty must not let every caller in.
 */
function required(searchParams: URLSearchParams, name: 'permission' | 'projectId'): string[] {
  const values = searchParams.getAll(name);
  if (values.some((value) => value.trim() === '')) throw badInput(name, `must not be empty (leave ${name} out to require nothing)`);
  if (values.some((value) => value.includes('\u0000'))) throw badInput(name, 'must not contain the NUL character (\\u0000)');
  return values;
}

/**
 * A refusal as forward-auth proxies understand it: 401 (no or bad credential), 403 (not
 * allowed, NOT_FOUND included: a proxy has nothing to show for it), 429 with Retry-After,
 * 400 for a malformed question, 503 when the database is down.
 */
function refusal(error: unknown, logger: Logger): Answer {
  const graphqlError = error as GraphQLError;
  const code = graphqlError?.extensions?.code as string | undefined;
  const reason = graphqlError?.extensions?.reason as string | undefined;
  const body = { code, ...(reason ? { reason } : {}), message: graphqlError.message };
  switch (code) {
    case 'UNAUTHENTICATED':
      return json(401, body, { 'www-authenticate': 'Bearer realm="keygate"' });
    case 'FORBIDDEN':
    case 'NOT_FOUND':
      return json(403, body);
    case 'RATE_LIMITED':
      return json(429, body, { 'retry-after': String(graphqlError.extensions.retryAfter) });
    case 'BAD_USER_INPUT':
      return json(400, { ...body, field: graphqlError.extensions.field });
    case 'SERVICE_UNAVAILABLE':
      return json(503, body, { 'retry-after': '5' });
  }
  if (error instanceof StartupError) {
    // The signing key is not usable (production without KEYGATE_SIGNING_KEY_SECRET, say).
    logger.error('cannot sign principal tokens', { error: error.message });
    return json(503, { code: 'SERVICE_UNAVAILABLE', message: 'Forward authentication is not configured on this server.' });
  }
  if (isDatabaseUnavailable(error)) return json(503, { code: 'SERVICE_UNAVAILABLE', message: 'The service is temporarily unavailable. Try again shortly.' }, { 'retry-after': '5' });
  logger.error('unexpected error in /auth/verify', { error: (error as Error)?.message });
  return json(500, { code: 'INTERNAL_SERVER_ERROR', message: 'Unexpected error.' });
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Answer {
  return { status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }, body: JSON.stringify(body) };
}
