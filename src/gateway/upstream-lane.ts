/**
 * The upstream lane: a whole upstream operation answered straight from Node's request, ahead
 * of Yoga, for `keygate serve` in gateway mode.
 *
 * Why: through Yoga, a proxied operation cost keygate more CPU than the whole upstream spent
 * answering it (Yoga's Fetch conversions, some twenty plugin hooks, its result processing;
 * README "Gateway mode", bench/gateway.ts). On a machine that also runs the upstream, that
 * CPU is the upstream's throughput. The lane keeps only what such a request needs.
 *
 * What it takes, all of it or nothing:
 * - `POST /graphql`, Content-Type `application/json` exactly as Yoga matches it, a body of at
 *   most KEYGATE_MAX_BODY_BYTES with a Content-Length, no Origin (browsers get Yoga's CORS),
 *   no content encoding, an Accept it answers as Yoga does (none, `*\/*`, JSON or
 *   GraphQL-response JSON);
 * - a body of `query`, `operationName` and `variables` only, whose text and operation name
 *   a full Yoga request sent to one upstream whole before (passthrough.ts remembers it: its
 *   parsing, validation and query limits passed, and none of them depends on the sender);
 * - variables Yoga would take (no NUL character, each of its declared type: the upstream
 *   gets them as execute would coerce them, passthrough.ts's coercedVariables);
 * - a principal of a key or session, with no group controls (operation policy, cost budget),
 *   holding the permission of every root field, within the maximum cost for these variables.
 *
 * Then it does what Yoga would: the credential throttle's refusal, authentication (the same
 * authenticator), the rate limits, the principal token, the same executor-http executor and
 * answer handling as passthrough.ts, Yoga's own error masking and result processing, and
 * usage counting. Any other request goes on to Yoga with its body (replayed: the lane read the
 * stream), and with whatever the lane already did handed over (`laneHandoff`: the
 * authentication, a rate-limit refusal), so no credential is checked, no failure counted and
 * no request rate-limited twice.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { GraphQLError, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { processRegularResult, type FetchAPI } from 'graphql-yoga';
import { mayCallUpstream } from '../auth/access.js';
import type { AuthenticatedPrincipal, Principal } from '../auth/principal.js';
import { nodeHeaders, resolveClientAddress, type AuthContext, type Authenticator } from '../auth/use-auth.js';
import { countResult } from '../auth/use-usage-counting.js';
import type { LaneHandoff } from '../context.js';
import { CONTENT_LENGTH } from '../security/body-limit.js';
import { nulCharacterIn } from '../security/nul-characters.js';
import { operationCost } from '../security/query-cost.js';
import { coercedVariables } from '../lib/variables.js';
import type { GatewayEndpointsOptions } from './endpoints.js';
import { sendWhole, type PassthroughPlans, type Plan } from './passthrough.js';
import { attachPrincipalToken, type GatewayContext } from './upstreams.js';

export type UpstreamLaneOptions = Pick<GatewayEndpointsOptions, 'tokens' | 'rateLimitCheck' | 'credentialFailures' | 'usage' | 'trustedProxies' | 'logger'> & {
  plans: PassthroughPlans;
  authenticator: Pick<Authenticator, 'contextFor'>;
  /** The schema Yoga serves: for the variables' coercion and the maximum cost. */
  schema: GraphQLSchema;
  maxCost: number;
  maxBodyBytes: number;
  /** The masking Yoga applies to every error of a result (app.ts). */
  maskError: (error: GraphQLError) => GraphQLError;
  /** The Yoga instance: its Fetch API, and its handler for everything the lane passes on. */
  yoga: {
    fetchAPI: FetchAPI;
    handle: (req: IncomingMessage | Readable, res: ServerResponse, serverContext: { req: IncomingMessage; laneHandoff?: LaneHandoff }) => unknown;
  };
};

type Params = { query: string; operationName?: string | null; variables?: Record<string, unknown> | null };
const LANE_PARAMS = new Set(['query', 'operationName', 'variables']);

/** Accept headers the lane answers, and the media type Yoga answers them with. */
const MEDIA_TYPE_BY_ACCEPT = new Map<string | undefined, string>([
  [undefined, 'application/json'],
  ['*/*', 'application/json'],
  ['application/json', 'application/json'],
  ['application/graphql-response+json', 'application/graphql-response+json'],
  ['application/graphql-response+json, application/json', 'application/graphql-response+json'],
]);

// As sent, not lower-cased: Yoga's own match is case-sensitive (it answers `Application/JSON` with 415).
const JSON_CONTENT_TYPES = new Set(['application/json', 'application/json; charset=utf-8']);

export type UpstreamLane = {
  /** Takes the request (true), or returns false for one the lane does not even read: Yoga gets it untouched. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** How many requests the lane answered itself, for tests and the benchmark. */
  readonly answered: number;
};

export function upstreamLane(options: UpstreamLaneOptions): UpstreamLane {
  let answered = 0;
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const mediaType = laneMediaType(req, options.maxBodyBytes);
    if (!mediaType) return false;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => res.destroy());
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      answer(req, res, body, mediaType, options).then((byLane) => {
        if (byLane) answered++;
      }, (error: unknown) => {
        options.logger.error('the upstream lane failed', { error: (error as Error)?.message });
        if (res.headersSent) res.destroy();
        else send(res, 500, { 'content-type': 'application/json; charset=utf-8' }, JSON.stringify({ errors: [{ message: 'Unexpected error.' }] }));
      });
    });
    return true;
  };
  return {
    handle,
    get answered() {
      return answered;
    },
  };
}

/** The media type of the answer, or null when the request is not one the lane takes. */
function laneMediaType(req: IncomingMessage, maxBodyBytes: number): string | null {
  if (req.method !== 'POST' || req.url !== '/graphql') return null;
  const { headers } = req;
  if (headers.origin !== undefined || headers['content-encoding'] !== undefined || headers['transfer-encoding'] !== undefined) return null;
  if (!JSON_CONTENT_TYPES.has(headers['content-type'] ?? '')) return null;
  const length = headers['content-length'];
  if (!length || !CONTENT_LENGTH.test(length) || Number(length) === 0 || Number(length) > maxBodyBytes) return null;
  return MEDIA_TYPE_BY_ACCEPT.get(headers.accept) ?? null;
}

/** True when the lane answered, false when it passed the request on to Yoga. */
async function answer(req: IncomingMessage, res: ServerResponse, body: Buffer, mediaType: string, options: UpstreamLaneOptions): Promise<boolean> {
  const params = laneParams(body.toString());
  const plan = params ? options.plans.find(params.query, params.operationName) : undefined;
  if (!params || !plan) return toYoga(req, res, body, options);
  // Variables Yoga would refuse (a NUL character, a value not of its type) are Yoga's to refuse.
  const variables = nulCharacterIn(params.variables) ? null : coercedVariables(options.schema, plan.document, params.operationName, params.variables);
  if (!variables || 'errors' in variables) return toYoga(req, res, body, options);

  const headers = nodeHeaders(req.headers);
  const clientAddress = resolveClientAddress(req.socket.remoteAddress ?? null, headers, options.trustedProxies);
  const throttle = clientAddress ? options.credentialFailures?.refusal(clientAddress) : null;
  if (throttle && (await throttle)) return toYoga(req, res, body, options);

  const authentication = options.authenticator.contextFor(headers, clientAddress);
  let auth: AuthContext;
  try {
    auth = await authentication;
  } catch {
    return toYoga(req, res, body, options, { authentication });
  }
  const principal = auth.auth;
  if (!admits(principal, plan, params.operationName, variables.coerced, options)) return toYoga(req, res, body, options, { authentication });
  try {
    await options.rateLimitCheck?.(principal);
  } catch (refusal) {
    return toYoga(req, res, body, options, { authentication, rateLimitRefusal: refusal });
  }

  const result = masked(await execute(plan, params.operationName, variables.coerced, principal, options), options);
  countResult(options.usage, principal, result);
  await respond(res, result, mediaType, options);
  return true;
}

/** The body as the lane takes it: `query`, and optionally `operationName` and `variables`, nothing else. */
function laneParams(body: string): Params | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  // A loop rather than `...rest`: rest destructuring copies the object through V8's runtime.
  for (const name in parsed) if (!LANE_PARAMS.has(name)) return null;
  const { query, operationName, variables } = parsed as Record<string, unknown>;
  if (typeof query !== 'string') return null;
  // An empty name is no name to Yoga, which refuses it (the plans keep "no name" as '').
  if (operationName != null && (typeof operationName !== 'string' || operationName === '')) return null;
  if (variables != null && (typeof variables !== 'object' || Array.isArray(variables))) return null;
  return parsed as Params;
}

/** Whether this principal's request is one the lane answers (otherwise Yoga refuses or answers it). */
function admits(principal: Principal, plan: Plan, operationName: string | null | undefined, variables: Record<string, unknown>, options: UpstreamLaneOptions): principal is AuthenticatedPrincipal {
  if (principal.kind === 'ANONYMOUS') return false;
  if (principal.kind === 'API_KEY' && principal.apiKey.controls) return false;
  const { route } = plan;
  if (!route.fields.every((field) => mayCallUpstream(principal, route.upstream, route.typeName, field))) return false;
  return operationCost(options.schema, plan.document, operationName, variables) <= options.maxCost;
}

/**
 * Yoga answers, from the body the lane read and with what the lane did handed over. Node's
 * request stream is consumed, so Yoga reads a stand-in with the same line and headers whose
 * body replays those bytes, streamed as from the socket. (Handing the body over as `req.body`
 * instead, which @whatwg-node/server also accepts, costs it an `Object.keys` over every byte:
 * half a second for a 1 MiB body.) The server context keeps the real request, for its socket.
 */
function toYoga(req: IncomingMessage, res: ServerResponse, body: Buffer, options: UpstreamLaneOptions, laneHandoff?: LaneHandoff): false {
  const replay = Object.assign(replayOf(body), { url: req.url, method: req.method, headers: req.headers, socket: req.socket, httpVersion: req.httpVersion });
  void options.yoga.handle(replay, res, laneHandoff ? { req, laneHandoff } : { req });
  return false;
}

/**
 * A stream giving `body` as one chunk, then its end. A plain Readable rather than
 * `Readable.from([body])`: with that one, young-generation collections promoted about 260 KB
 * more each at 450 of keygate's own operations a second in gateway mode (364 KB against 101,
 * pauses of 2.7 ms against 1.9; `--trace-gc-nvp`, bench/RESULTS.md session 11). Which of its
 * per-request objects outlived the collections was not traced.
 */
function replayOf(body: Buffer): Readable {
  const replay = new Readable({ read() {} });
  replay.push(body);
  replay.push(null);
  return replay;
}

async function execute(
  plan: Plan,
  operationName: string | null | undefined,
  variables: Record<string, unknown>,
  principal: AuthenticatedPrincipal,
  options: UpstreamLaneOptions,
): Promise<ExecutionResult> {
  const context: GatewayContext = { auth: principal };
  try {
    await attachPrincipalToken(context, principal, options.tokens);
    return await sendWhole(plan.route, { document: plan.document, variables, operationName: operationName ?? undefined, context });
  } catch (error) {
    // What Yoga does with an error thrown while executing: an error of the result, masked below.
    return { errors: [error instanceof GraphQLError ? error : new GraphQLError((error as Error)?.message ?? 'Unexpected error.', { originalError: error as Error })] };
  }
}

/** Each error masked as Yoga masks it (codes kept, anything unexpected reduced to "Unexpected error." and logged). */
function masked(result: ExecutionResult, { maskError }: UpstreamLaneOptions): ExecutionResult {
  if (!result.errors?.length) return result;
  return { ...result, errors: result.errors.map(maskError) };
}

async function respond(res: ServerResponse, result: ExecutionResult, mediaType: string, { yoga }: UpstreamLaneOptions): Promise<void> {
  // Nothing for Yoga's result processing to decide (status, headers, internals to strip): its output is this.
  if (!result.errors?.length && !(result.extensions as { http?: unknown } | undefined)?.http) {
    send(res, 200, { 'content-type': `${mediaType}; charset=utf-8` }, JSON.stringify(result));
    return;
  }
  const response = processRegularResult(result, yoga.fetchAPI, mediaType) as Response;
  send(res, response.status, Object.fromEntries(response.headers), await response.text());
}

/**
 * One write: the headers with a Content-Length, then the body (without the length, Node would
 * chunk it). The length is added to the caller's fresh object: a spread into a new literal
 * would define each header through V8's runtime, on every request.
 */
function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  // A string like every other header value: Node checks each value with a regular expression,
  // which stays on its fast path (for every response of the process) only when given strings.
  headers['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(status, headers).end(body);
}
