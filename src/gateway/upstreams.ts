/**
 * Gateway mode's upstream GraphQL services: read from the KEYGATE_UPSTREAMS file, their
 * schemas loaded (SDL file, else introspection at start), and composed with keygate's own
 * schema by The Guild's schema stitching (@graphql-tools/stitch), which executes against
 * each upstream with @graphql-tools/executor-http. No hand-written proxy.
 *
 * Every upstream root field is guarded before it delegates: the access policy
 * (assertCanCallUpstream) refuses a principal without `upstream:<name>` or the field's own
 * permission, and only then is the principal token signed and the request sent. The
 * upstream gets the token in X-Keygate-Principal, never the caller's credential.
 */
import { validateHeaderName, validateHeaderValue } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { buildHTTPExecutor } from '@graphql-tools/executor-http';
import { stitchSchemas } from '@graphql-tools/stitch';
import { isAsyncIterable, type Executor } from '@graphql-tools/utils';
import { FilterRootFields, schemaFromExecutor, wrapSchema } from '@graphql-tools/wrap';
import { buildSchema, GraphQLError, isScalarType, isSpecifiedScalarType, type GraphQLFieldResolver, type GraphQLScalarType, type GraphQLSchema } from 'graphql';
import { z } from 'zod';
import { assertCanCallUpstream } from '../auth/access.js';
import { registerUpstreamPermissions, type UpstreamPermission } from '../auth/permissions.js';
import type { AuthenticatedPrincipal, Principal } from '../auth/principal.js';
import type { Logger } from '../lib/logger.js';
import { StartupError } from '../lib/startup-error.js';
import type { UpstreamRoutes } from './passthrough.js';
import { PRINCIPAL_HEADER, type PrincipalTokens } from './principal-token.js';
import { upstreamFetch } from './upstream-fetch.js';
import { registerUpstreamRootFields, upstreamFieldPermissions, upstreamPermission, type UpstreamRootType } from './upstream-permissions.js';

const DEFAULT_TIMEOUT_MS = 10_000;

const UpstreamsFile = z.object({
  upstreams: z.array(
    z.object({
      name: z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'must be lowercase letters, digits, _ or - (at most 40), starting with a letter'),
      url: z.string().regex(/^https?:\/\//, 'must be an http:// or https:// URL'),
      schema: z.string().min(1).optional(),
      // Checked as Node will send them: a name or value it refuses would fail every request later.
      headers: z
        .record(z.string(), z.string())
        .superRefine((headers, context) => {
          for (const [name, value] of Object.entries(headers)) {
            try {
              validateHeaderName(name);
              validateHeaderValue(name, value);
            } catch {
              context.addIssue({ code: 'custom', message: `header ${JSON.stringify(name)} is not a valid HTTP header name and value` });
            }
          }
        })
        .optional(),
      timeoutMs: z.number().int().min(100).max(300_000).optional(),
    }),
  ),
});

export type UpstreamConfig = z.infer<typeof UpstreamsFile>['upstreams'][number];

/**
 * What the upstream calls find on the GraphQL context: the principal, and its token, signed
 * at most once per request however many upstream fields it calls; the executor's headers
 * read the token's value.
 */
export type GatewayContext = { auth: Principal; keygatePrincipalToken?: Promise<string>; keygatePrincipalTokenValue?: string };

/**
 * Signs the caller's principal token for this request (once) and puts it where the
 * executor's headers read it. A promise only when a token must be signed.
 */
export function attachPrincipalToken(context: GatewayContext, actor: AuthenticatedPrincipal, tokens: PrincipalTokens): Promise<void> | undefined {
  if (context.keygatePrincipalTokenValue) return;
  const reused = tokens.reusableFor(actor);
  if (reused) {
    context.keygatePrincipalTokenValue = reused;
    return;
  }
  context.keygatePrincipalToken ??= tokens.sign(actor);
  return context.keygatePrincipalToken.then((token) => {
    context.keygatePrincipalTokenValue = token;
  });
}

/** Reads and checks the KEYGATE_UPSTREAMS file; every problem is one StartupError line. */
export function readUpstreamsFile(file: string): UpstreamConfig[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new StartupError(`invalid setting KEYGATE_UPSTREAMS: cannot read ${file}: ${reason}`);
  }
  const parsed = UpstreamsFile.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new StartupError(`invalid setting KEYGATE_UPSTREAMS: ${file}: ${issue.path.join('.') || '(top)'}: ${issue.message}`);
  }
  const seen = new Set<string>();
  for (const upstream of parsed.data.upstreams) {
    if (seen.has(upstream.name)) throw new StartupError(`invalid setting KEYGATE_UPSTREAMS: ${file}: two upstreams are named "${upstream.name}"`);
    seen.add(upstream.name);
    // An SDL path is relative to the upstreams file, so the pair can move together.
    if (upstream.schema) upstream.schema = path.resolve(path.dirname(file), upstream.schema);
  }
  return parsed.data.upstreams;
}

type LoadedUpstream = { config: UpstreamConfig; schema: GraphQLSchema; executor: Executor };

/** Builds each upstream's executor and loads its schema (file, else introspection). */
export async function loadUpstreams(configs: readonly UpstreamConfig[], logger: Logger): Promise<LoadedUpstream[]> {
  return Promise.all(
    configs.map(async (config) => {
      const { http, executor } = upstreamExecutor(config, logger);
      // Introspection goes out unwrapped: its failure is the start-up's one line, not a log entry.
      const schema = await loadUpstreamSchema(config, http);
      return { config, executor, schema };
    }),
  );
}

async function loadUpstreamSchema(config: UpstreamConfig, executor: Executor): Promise<GraphQLSchema> {
  if (config.schema) {
    if (!existsSync(config.schema)) throw new StartupError(`upstream "${config.name}": schema file ${config.schema} does not exist`);
    try {
      return buildSchema(readFileSync(config.schema, 'utf8'));
    } catch (error) {
      throw new StartupError(`upstream "${config.name}": schema file ${config.schema} is not valid SDL: ${(error as Error).message}`);
    }
  }
  try {
    return await schemaFromExecutor(executor);
  } catch (error) {
    const errors: unknown[] = error instanceof AggregateError ? error.errors : [error];
    const reason = errors.some((e) => e instanceof GraphQLError && isTransportError(e)) ? 'unreachable' : (error as Error).message;
    throw new StartupError(
      `upstream "${config.name}" at ${config.url}: cannot load its schema by introspection (${reason}); start it, or give its SDL as "schema" in KEYGATE_UPSTREAMS`,
    );
  }
}

/**
 * executor-http against the upstream, sending the configured headers and the principal
 * token. A transport failure (refused, timeout, a non-GraphQL answer) becomes
 * UPSTREAM_UNAVAILABLE with HTTP 502; its details (URL, body) go to the log, not the client.
 * Errors the upstream itself returns keep their message and code.
 */
function upstreamExecutor(config: UpstreamConfig, logger: Logger): { http: Executor; executor: Executor } {
  const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const http = buildHTTPExecutor({
    endpoint: config.url,
    // The timeout is the transport's own, not executor-http's `timeout`: given one, the
    // executor combines it with its long-lived dispose signal, which gains an abort listener
    // per request that only garbage collection removes, and adding a listener walks them all
    // (15 % of a gateway request's CPU under load; bench/gateway.ts). Its dispose signal is
    // only aborted when the executor is disposed, which keygate never does while serving.
    fetch: upstreamFetch(config.url, timeoutMs),
    // Every client request reaches the upstream: identical queries of one principal in flight
    // together are not merged into one (an upstream may count or log each).
    deduplicateInflightRequests: false,
    headers: (request) => {
      const token = (request?.context as GatewayContext | undefined)?.keygatePrincipalTokenValue;
      // A copy, then one store: a literal with a computed key or a second spread would define
      // each header through V8's runtime, on every upstream request.
      const headers: Record<string, string> = { ...config.headers };
      if (token) headers[PRINCIPAL_HEADER] = token;
      return headers;
    },
  });
  const executor = (async (request) => {
    const result = await http(request);
    if (isAsyncIterable(result)) {
      // multipart/mixed or text/event-stream: keygate passes on one JSON answer per request.
      await result[Symbol.asyncIterator]().return?.();
      logger.warn('upstream unavailable', { upstream: config.name, error: 'answered with a stream instead of one JSON result' });
      return { errors: [upstreamUnavailable(config.name)] };
    }
    if (!result.errors?.length) return withoutHttpExtension(result);
    if (!result.errors.some(isTransportError)) return { ...withoutHttpExtension(result), errors: result.errors.map(asUpstreamError) };
    const failure = result.errors.find(isTransportError)!;
    logger.warn('upstream unavailable', { upstream: config.name, error: failure.message, code: failure.extensions.code });
    return { errors: [upstreamUnavailable(config.name)] };
  }) as Executor;
  return { http, executor };
}

/**
 * An error an upstream answered: the upstream's business, passed to the client as it wrote it
 * (keygate's error masking lets it through and logs it at debug only, code or none).
 */
export class UpstreamError extends GraphQLError {
  override name = 'UpstreamError';
}

/**
 * An upstream's error as an UpstreamError, without `extensions.http`, which Yoga would obey:
 * the upstream's error must not set keygate's HTTP status or headers (a 401 with a
 * Set-Cookie, say) nor pass for keygate's own refusal of the credential, which the
 * failed-credential throttle counts.
 */
function asUpstreamError(error: GraphQLError): UpstreamError {
  const { http: _ignored, ...extensions } = error.extensions ?? {};
  return new UpstreamError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, originalError: error.originalError, extensions });
}

/** The upstream's answer without `extensions.http`, for the same reason as its errors' (asUpstreamError). */
function withoutHttpExtension<Result extends { extensions?: unknown }>(result: Result): Result {
  const extensions = result.extensions as Record<string, unknown> | null | undefined;
  if (!extensions || !('http' in extensions)) return result;
  const { http: _ignored, ...kept } = extensions;
  return { ...result, extensions: kept };
}

const TRANSPORT_ERROR_CODES = new Set(['SUBREQUEST_HTTP_ERROR', 'TIMEOUT_ERROR', 'RESPONSE_VALIDATION_FAILED']);

function isTransportError(error: GraphQLError): boolean {
  return TRANSPORT_ERROR_CODES.has(error.extensions?.code as string);
}

export function upstreamUnavailable(name: string): GraphQLError {
  return new GraphQLError(`The upstream service "${name}" is unavailable.`, {
    extensions: { code: 'UPSTREAM_UNAVAILABLE', upstream: name, http: { status: 502 } },
  });
}

/**
 * keygate's schema plus every upstream's Query and Mutation root fields. Refuses (one line)
 * a root field or type name that is already keygate's or another upstream's: stitching would
 * merge them silently otherwise. Upstream subscriptions are not served.
 */
export function composeGatewaySchema(
  keygate: GraphQLSchema,
  upstreams: readonly LoadedUpstream[],
  tokens: PrincipalTokens,
): { schema: GraphQLSchema; routes: UpstreamRoutes } {
  const owners = new Map<string, string>();
  const claim = (key: string, owner: string, what: string) => {
    const previous = owners.get(key);
    if (previous) throw new StartupError(`upstream "${owner}": its ${what} conflicts with ${previous === 'keygate' ? "keygate's own" : `upstream "${previous}"'s`}; rename it in the upstream`);
    owners.set(key, owner);
  };
  const served = upstreams.map((upstream) => ({ ...upstream, schema: withoutSubscriptions(upstream.schema) }));
  for (const [owner, schema] of [['keygate', keygate] as const, ...served.map((u) => [u.config.name, u.schema] as const)]) {
    for (const typeName of ['Query', 'Mutation'] as const) {
      const root = typeName === 'Query' ? schema.getQueryType() : schema.getMutationType();
      for (const fieldName of Object.keys(root?.getFields() ?? {})) claim(`${typeName}.${fieldName}`, owner, `root field ${typeName}.${fieldName}`);
    }
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith('__') || isSpecifiedScalarType(type) || isRootTypeName(schema, type.name)) continue;
      claim(`type ${type.name}`, owner, `type ${type.name}`);
    }
  }

  const composed = stitchSchemas({
    subschemas: [{ schema: keygate }, ...served.map(({ schema, executor }) => ({ schema, executor }))],
    // Stitching rebuilds every type from its definition, and a scalar without its functions
    // takes any value: a bad DateTime then failed only inside keygate's subschema, as an
    // unexpected error that printed the value (a pasted key) into the log. keygate's own
    // scalars keep their parsing, so the value is refused as BAD_USER_INPUT before anything runs.
    resolvers: ownScalars(keygate),
  });

  const rootFields: { upstream: string; typeName: UpstreamRootType; fieldName: string }[] = [];
  const routes = new Map<string, { upstream: string; executor: Executor }>();
  const permissions: [UpstreamPermission, string][] = [];
  for (const { config, schema, executor } of served) {
    permissions.push([upstreamPermission(config.name), `Call every query and mutation of the upstream service "${config.name}".`]);
    for (const typeName of ['Query', 'Mutation'] as const) {
      const fields = (typeName === 'Query' ? schema.getQueryType() : schema.getMutationType())?.getFields() ?? {};
      const composedRoot = typeName === 'Query' ? composed.getQueryType()! : composed.getMutationType()!;
      for (const fieldName of Object.keys(fields)) {
        const field = composedRoot.getFields()[fieldName]!;
        field.resolve = guarded(config.name, typeName, fieldName, field.resolve!, tokens);
        rootFields.push({ upstream: config.name, typeName, fieldName });
        routes.set(`${typeName}.${fieldName}`, { upstream: config.name, executor });
        const [, own] = upstreamFieldPermissions(config.name, typeName, fieldName);
        permissions.push([own!, `Call ${typeName}.${fieldName} of the upstream service "${config.name}".`]);
      }
    }
  }
  registerUpstreamRootFields(rootFields);
  registerUpstreamPermissions(permissions);
  return { schema: composed, routes };
}

/** The access check, then the principal token (signed once per request), then the upstream. */
function guarded(upstream: string, typeName: string, fieldName: string, delegate: GraphQLFieldResolver<unknown, unknown>, tokens: PrincipalTokens) {
  return async (source: unknown, args: Record<string, unknown>, context: GatewayContext, info: Parameters<GraphQLFieldResolver<unknown, unknown>>[3]) => {
    const signing = attachPrincipalToken(context, assertCanCallUpstream(context.auth, upstream, typeName, fieldName), tokens);
    return signing ? signing.then(() => delegate(source, args, context, info)) : delegate(source, args, context, info);
  };
}

/** keygate's custom scalars by name (DateTime, JSON…), implementations included. */
function ownScalars(schema: GraphQLSchema): Record<string, GraphQLScalarType> {
  const scalars: Record<string, GraphQLScalarType> = {};
  for (const type of Object.values(schema.getTypeMap())) {
    if (isScalarType(type) && !isSpecifiedScalarType(type)) scalars[type.name] = type;
  }
  return scalars;
}

function withoutSubscriptions(schema: GraphQLSchema): GraphQLSchema {
  if (!schema.getSubscriptionType()) return schema;
  return wrapSchema({ schema, transforms: [new FilterRootFields((operation) => operation !== 'Subscription')] });
}

function isRootTypeName(schema: GraphQLSchema, name: string): boolean {
  return [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].some((type) => type?.name === name);
}
