/**
 * The inbound webhook: `POST /webhooks/projects/:projectId/deliveries?source=<name>` with an
 * API key and any JSON body, for systems that can POST JSON but not write GraphQL.
 *
 * It is the `deliverData` mutation in another envelope: the request is re-sent through the
 * same Yoga instance as that mutation, with the caller's credential, address and
 * Idempotency-Key, so authentication, permission, project access, payload limits, rate
 * limits and idempotency are exactly deliverData's. Answers `202 {"id": "…"}`; errors as
 * `{"error": {"code", "message"}}` with the HTTP status of their code.
 */
import type { Plugin } from 'graphql-yoga';
import { readBodyWithin } from '../../lib/bounded-body.js';

const PATH = /^\/webhooks\/projects\/([^/]+)\/deliveries\/?$/;
const DELIVER = 'mutation InboundWebhook($input: DeliverDataInput!) { deliverData(input: $input) { id } }';
const FORWARDED = ['authorization', 'x-api-key', 'idempotency-key', 'x-workspace-id', 'x-forwarded-for', 'user-agent'];
/** deliverData's answer headers the caller needs too: when to retry, and what is left of the key's cost budget. */
const ANSWERED = ['retry-after', 'ratelimit-policy', 'ratelimit'];

const STATUS: Record<string, number> = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  IDEMPOTENCY_CONFLICT: 409,
  REQUEST_ENTITY_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  SERVICE_UNAVAILABLE: 503,
};

/**
 * The GraphQL requests this route makes itself. Operation policies govern the documents a
 * client sends; the route's one document is keygate's own, so a TRUSTED_ONLY or AUDIT key
 * meets no document check here (its permission and project access still apply). Identity,
 * not a header: no client can make its request one of these.
 */
const routeRequests = new WeakSet<Request>();

export function isInboundWebhookRequest(request: Request): boolean {
  return routeRequests.has(request);
}

type Fetcher = { fetch: (request: Request, serverContext: Record<string, unknown>) => Promise<Response> | Response };

/** `target.yoga` is set once the Yoga instance exists (the route calls back into it). */
export function useInboundWebhooks(target: { yoga?: Fetcher }, options: { maxBodyBytes: number }): Plugin {
  return {
    onRequest({ url, request, endResponse, serverContext }) {
      const match = PATH.exec(url.pathname);
      if (!match || !target.yoga) return;
      return handle(target.yoga, request, url, match[1]!, serverContext as Record<string, unknown>, options).then(endResponse);
    },
  };
}

async function handle(yoga: Fetcher, request: Request, url: URL, projectSegment: string, serverContext: Record<string, unknown>, options: { maxBodyBytes: number }) {
  if (request.method !== 'POST') return failure(405, 'METHOD_NOT_ALLOWED', 'POST a JSON body.', { allow: 'POST' });
  const projectId = decodedSegment(projectSegment);
  // A malformed escape names no project, as an unknown id names none.
  if (projectId === null) return failure(404, 'NOT_FOUND', 'Project not found.');
  const source = url.searchParams.get('source');
  if (!source) return failure(400, 'BAD_USER_INPUT', 'source: the query parameter ?source=<name> is required', {}, 'source');
  const body = await readBodyWithin(request, options.maxBodyBytes);
  if (body === null) return failure(413, 'REQUEST_ENTITY_TOO_LARGE', 'The body is too large.');
  let payload: unknown;
  try {
    // A byte-order mark some tools write first is not part of the JSON.
    payload = JSON.parse(body.toString('utf8').replace(/^\uFEFF/, ''));
  } catch {
    return failure(400, 'BAD_USER_INPUT', 'body: must be JSON', {}, 'body');
  }
  // deliverData's payload is required: said here in the route's words, not the mutation's.
  if (payload === null) return failure(400, 'BAD_USER_INPUT', 'body: must be a JSON value other than null', {}, 'body');
  const headers = new Headers({ 'content-type': 'application/json', accept: 'application/json' });
  for (const name of FORWARDED) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  const deliver = new Request(new URL('/graphql', url), { method: 'POST', headers, body: JSON.stringify({ query: DELIVER, variables: { input: { projectId, source, payload } } }) });
  routeRequests.add(deliver);
  const inner = await yoga.fetch(deliver, serverContext);
  const result = (await inner.json().catch(() => ({}))) as {
    data?: { deliverData?: { id: string } | null } | null;
    errors?: { message: string; extensions?: { code?: string; field?: string } }[];
  };
  const answered = answeredHeaders(inner.headers);
  const id = result.data?.deliverData?.id;
  if (id) return Response.json({ id }, { status: 202, headers: answered });
  const error = result.errors?.[0];
  const code = error?.extensions?.code ?? 'INTERNAL_SERVER_ERROR';
  return failure(STATUS[code] ?? (inner.status >= 400 ? inner.status : 500), code, error?.message ?? 'Unexpected error.', answered, error?.extensions?.field);
}

function answeredHeaders(headers: Headers): Record<string, string> {
  const answered: Record<string, string> = {};
  for (const name of ANSWERED) {
    const value = headers.get(name);
    if (value !== null) answered[name] = value;
  }
  return answered;
}

function decodedSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

function failure(status: number, code: string, message: string, headers: Record<string, string> = {}, field?: string) {
  return Response.json({ error: { code, message, ...(field ? { field } : {}) } }, { status, headers });
}
