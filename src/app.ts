/**
 * createApp → the Yoga instance with its plugins, error masking and schema. No port: the
 * server entry (index.ts) serves it over HTTP with `handleNodeRequest`, and tests call
 * `yoga.fetch` directly.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { createYoga, maskError, useExtendContext, type Plugin } from 'graphql-yoga';
import { useActingTenantCheck } from './auth/acting-tenant.js';
import { keyCache, sessionCache } from './auth/invalidation.js';
import { LastUsedRecorder } from './auth/last-used.js';
import { apiKeyStrategy } from './auth/strategies/api-key.js';
import { sessionStrategy } from './auth/strategies/session.js';
import { createAuthenticator, useAuth } from './auth/use-auth.js';
import { UsageRecorder } from './auth/usage.js';
import { useUsageCounting } from './auth/use-usage-counting.js';
import { useLeakReports } from './modules/api-key/leak-report.js';
import { getConfig, type Config } from './config.js';
import type { Context, ServerContext } from './context.js';
import { acceptTarget } from './server/request-target.js';
import { useConsole } from './console/index.js';
import { db } from './db.js';
import { createKeyUseWriter } from './db/last-used-writes.js';
import { deletedMeanwhile, serviceUnavailable } from './errors.js';
import { useGatewayEndpoints, verifyNodeRequests, type GatewayEndpointsOptions } from './gateway/endpoints.js';
import { createGatewayRuntime, gatewaySchema, type GatewayRuntime } from './gateway/index.js';
import { PassthroughPlans, useUpstreamPassthrough, type UpstreamRoutes } from './gateway/passthrough.js';
import { upstreamLane } from './gateway/upstream-lane.js';
import { UpstreamError } from './gateway/upstreams.js';
import { graphiqlOptions, useGraphiQLAssets } from './graphiql/index.js';
import { createLogger, type Logger } from './lib/logger.js';
import { useCostControls } from './modules/key-controls/cost-budget.js';
import { useOperationPolicy } from './modules/key-controls/operation-policy.js';
import { useSchemaView } from './modules/key-controls/schema-view.js';
import { schema as keygateSchema } from './schema/index.js';
import { connectionArgumentError, isConnectionArgumentError } from './schema/pagination.js';
import { createSecurity, isDatabaseUnavailable, isMissingReference, useReadiness } from './security/index.js';
import { useInboundWebhooks } from './modules/webhook/inbound.js';

export type AppOptions = {
  config?: Config;
  logger?: Logger;
  /** The schema to serve: keygate's own by default; gateway mode's composed one (createGatewayApp). */
  schema?: GraphQLSchema;
  /** Signing keys and principal tokens; made from the config when left out. */
  gateway?: GatewayRuntime;
  /** Gateway mode: the upstream serving each upstream root field, for whole-operation passthrough. */
  upstreamRoutes?: UpstreamRoutes;
};

/**
 * createApp for `keygate serve` and gateway tests: with KEYGATE_UPSTREAMS, the upstreams'
 * schemas are loaded (introspection at start) and composed with keygate's before the app is
 * built. Without it, the same app as createApp.
 */
export async function createGatewayApp(options: AppOptions = {}) {
  const config = options.config ?? getConfig();
  const logger = options.logger ?? createLogger(config.logLevel);
  const gateway = options.gateway ?? createGatewayRuntime(config, logger);
  const { schema, upstreamRoutes } = await gatewaySchema(options.schema ?? keygateSchema, config, gateway, logger);
  return createApp({ ...options, config, logger, gateway, schema, upstreamRoutes });
}

export function createApp(options: AppOptions = {}) {
  const config = options.config ?? getConfig();
  const logger = options.logger ?? createLogger(config.logLevel);
  const lastUsed = new LastUsedRecorder(createKeyUseWriter(config.databaseUrl, db), logger, config.lastUsedFlushMs, writePreviousSecretUses);
  const usage = new UsageRecorder({ db, logger, flushIntervalMs: config.lastUsedFlushMs, enabled: config.usageCounting });
  const security = createSecurity(config, logger);
  const authenticator = createAuthenticator({
    strategies: [sessionStrategy({ cache: sessionCache }), apiKeyStrategy({ format: config.keyFormat, cache: keyCache, lastUsed, usage })],
    trustedProxies: config.trustedProxies,
  });
  // The inbound webhook route re-enters this Yoga instance as deliverData (see inbound.ts).
  const inbound: { yoga?: { fetch: (request: Request, serverContext: Record<string, unknown>) => Promise<Response> | Response } } = {};
  const gateway = options.gateway ?? createGatewayRuntime(config, logger);
  const schema = options.schema ?? keygateSchema;
  const upstreamRoutes = options.upstreamRoutes ?? new Map();
  const passthroughPlans = new PassthroughPlans();
  const gatewayEndpoints: GatewayEndpointsOptions = {
    keys: gateway.keys,
    tokens: gateway.tokens,
    authenticate: authenticator.authenticate,
    authenticateCached: authenticator.authenticateCached,
    rateLimitCheck: security.rateLimitCheck,
    credentialFailures: security.credentialFailures,
    usage,
    trustedProxies: config.trustedProxies,
    logger,
  };

  const keygateMaskError = maskErrorWith(logger);
  const yoga = createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    ...graphiqlOptions(config.graphiql),
    landingPage: false,
    ...security.yogaOptions,
    // GraphQL over HTTP's persisted documents (modules/key-controls/operation-policy.ts).
    extraParamNames: ['documentId'],
    // Yoga's own log lines go through our logger, reduced to their message: printing a
    // GraphQLError whole would quote the request's source, and a signIn written inline
    // carries a password. Expected errors (those with a code) are the client's business.
    logging: {
      debug: () => {},
      info: (...args) => logger.info(logMessage(args[0])),
      warn: (...args) => logger.warn(logMessage(args[0])),
      error: (...args) => {
        if (hasErrorCode(args[0]) || isConnectionArgumentError(args[0])) return;
        logger.error(logMessage(args[0]));
      },
    },
    // Masking stays on: clients see "Unexpected error."; the log gets the real error.
    maskedErrors: { maskError: keygateMaskError },
    plugins: [
      useInboundWebhooks(inbound, { maxBodyBytes: config.maxBodyBytes }),
      ...(config.graphiql ? [useGraphiQLAssets()] : []),
      ...(config.console ? [useConsole()] : []),
      useLeakReports({ publicKeys: config.leakReportPublicKeys, format: config.keyFormat, logger }),
      ...security.beforeAuth,
      useGatewayEndpoints(gatewayEndpoints),
      useSchemaView({ authenticator, introspection: config.introspection, schema, rateLimitCheck: security.rateLimitCheck, usage }),
      ...useOperationPolicy({ authenticator, logger }),
      useExtendContext(() => ({ servedSchema: schema })),
      useAuth(authenticator),
      useActingTenantCheck(),
      useUsageCounting(usage, authenticator),
      ...security.afterAuth,
      useCostControls({ maxCost: config.queryLimits.maxCost, store: security.store, logger, authenticator }),
      useUpstreamPassthrough(upstreamRoutes, gateway.tokens, passthroughPlans),
      useReadiness({ db, databaseUrl: config.databaseUrl }),
    ] as Plugin[],
  });

  inbound.yoga = { fetch: (request, serverContext) => yoga.fetch(request, serverContext as ServerContext) };

  const verifyFromNode = verifyNodeRequests(gatewayEndpoints);
  const lane =
    upstreamRoutes.size > 0
      ? upstreamLane({
          ...gatewayEndpoints,
          plans: passthroughPlans,
          authenticator,
          schema,
          maxCost: config.queryLimits.maxCost,
          maxBodyBytes: config.maxBodyBytes,
          maskError: (error) => keygateMaskError(error, 'Unexpected error.') as GraphQLError,
          yoga,
        })
      : null;
  /**
   * The listener `keygate serve` hands Node's HTTP server: /auth/verify and, in gateway mode,
   * the upstream lane ahead of Yoga; everything else through it. A request whose target and
   * Host make no URL is answered 400 first (server/request-target.ts).
   */
  const handleNodeRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (!acceptTarget(req, res)) return;
    if (verifyFromNode(req, res) || lane?.handle(req, res)) return;
    void yoga.handle(req, res, { req });
  };

  return { yoga, handleNodeRequest, upstreamLane: lane, lastUsed, usage, logger, config, gateway, ready: security.ready, close: security.close };
}

export type App = ReturnType<typeof createApp>;

/**
 * Yoga's error masking for keygate: an error with a code is the client's business and keeps
 * its message; anything unexpected becomes "Unexpected error." and its real message goes to
 * the log. The upstream lane masks its errors with the same function.
 */
function maskErrorWith(logger: Logger) {
  return function maskKeygateError(error: unknown, message: string, isDev?: boolean): Error {
    const original = (error as { originalError?: unknown }).originalError ?? error;
    if (hasErrorCode(original)) return atPlaceOf(error, original as GraphQLError);
    // Classified already, e.g. a variable that does not fit its type (BAD_USER_INPUT): the
    // client's own input error. Its message quotes the value (a password sent as a
    // number), so it is neither logged here nor masked.
    if (hasErrorCode(error)) {
      logger.debug('client input error', { code: (error as GraphQLError).extensions.code });
      return error as GraphQLError;
    }
    // An upstream's own error without a code: its business, passed on as it wrote it.
    if (original instanceof UpstreamError) {
      logger.debug('upstream error without a code', { path: (error as GraphQLError).path });
      return error as GraphQLError;
    }
    const badConnectionArgument = connectionArgumentError(error as GraphQLError, original);
    if (badConnectionArgument) return badConnectionArgument;
    if (isDatabaseUnavailable(original)) {
      logger.warn('database unavailable', { error: logMessage(original) });
      return serviceUnavailable();
    }
    if (isMissingReference(original)) {
      logger.debug('write refused: what it refers to was deleted meanwhile', { error: logMessage(original) });
      const refusal = deletedMeanwhile();
      return error instanceof GraphQLError ? new GraphQLError(refusal.message, { nodes: error.nodes, path: error.path, extensions: refusal.extensions }) : refusal;
    }
    logger.error('unexpected error', { error: original });
    return maskError(asUnexpected(error), message, isDev);
  };
}

/**
 * previousSecretLastUsedAt of keys used with their previous secret, for the grace those uses
 * belong to: a use made within it, written after it ended (endRotationGrace, a revoke) too,
 * but not after a later rotation (a use written late, by the flush, must not show up in the
 * next grace), nor over a later use another instance wrote first.
 */
async function writePreviousSecretUses(uses: { id: string; at: Date }[]): Promise<void> {
  for (const { id, at } of uses) {
    await db.apiKey.updateMany({
      where: { id, previousSecretExpiresAt: { gte: at }, rotatedAt: { lte: at }, OR: [{ previousSecretLastUsedAt: null }, { previousSecretLastUsedAt: { lt: at } }] },
      data: { previousSecretLastUsedAt: at },
    });
  }
}

/**
 * Yoga's maskError passes a GraphQLError that wraps no other error (or only GraphQLErrors)
 * through, as one written for clients; one that reaches it from here was not (stitching's
 * "Failed to create a gateway request", say), so it goes to maskError as the unexpected
 * error it is.
 */
function asUnexpected(error: unknown): unknown {
  if (!(error instanceof GraphQLError) || !wrapsOnlyGraphQLErrors(error)) return error;
  return new GraphQLError(error.message, { nodes: error.nodes, path: error.path, originalError: new Error(error.message), extensions: error.extensions });
}

function wrapsOnlyGraphQLErrors(error: GraphQLError): boolean {
  const wrapped = error.originalError;
  return !wrapped || (wrapped instanceof GraphQLError && wrapsOnlyGraphQLErrors(wrapped));
}

/**
 * `coded` where `error` was in the response (its path and locations): clients see which field
 * failed. The message is the response's: a plugin may have reworded it (suggestions hidden
 * with introspection off, security/introspection.ts), and the rewording must stand.
 */
function atPlaceOf(error: unknown, coded: GraphQLError): GraphQLError {
  if (!(error instanceof GraphQLError) || error === coded || !error.path) return coded;
  return new GraphQLError(error.message, { nodes: error.nodes, path: error.path, originalError: coded.originalError, extensions: coded.extensions });
}

function hasErrorCode(value: unknown): boolean {
  return value instanceof GraphQLError && typeof value.extensions.code === 'string';
}

function logMessage(value: unknown): string {
  return value instanceof Error ? value.message : String(value);
}
