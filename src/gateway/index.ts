/**
 * Gateway mode, assembled for createApp: the signing keys and principal tokens (always
 * there: /auth/verify and the JWKS serve without upstreams too) and, when KEYGATE_UPSTREAMS
 * names a file, keygate's schema composed with the upstreams'.
 */
import type { GraphQLSchema } from 'graphql';
import type { Config } from '../config.js';
import { db } from '../db.js';
import type { Logger } from '../lib/logger.js';
import type { UpstreamRoutes } from './passthrough.js';
import { PrincipalTokens } from './principal-token.js';
import { SigningKeys } from './signing-keys.js';
import { composeGatewaySchema, loadUpstreams, readUpstreamsFile } from './upstreams.js';

export { upstreamFieldPermission } from './upstream-permissions.js';

export type GatewayRuntime = { keys: SigningKeys; tokens: PrincipalTokens };

export function createGatewayRuntime(config: Config, logger: Logger): GatewayRuntime {
  const keys = new SigningKeys({ db, gateway: config.gateway, production: config.production, logger });
  return { keys, tokens: new PrincipalTokens(keys, config.gateway.tokenTtlSeconds) };
}

/**
 * keygate's schema alone without KEYGATE_UPSTREAMS; else composed with every upstream's, with
 * the routes of operations that go to one upstream whole (passthrough.ts).
 */
export async function gatewaySchema(
  keygate: GraphQLSchema,
  config: Config,
  runtime: GatewayRuntime,
  logger: Logger,
): Promise<{ schema: GraphQLSchema; upstreamRoutes: UpstreamRoutes }> {
  if (!config.gateway.upstreamsFile) return { schema: keygate, upstreamRoutes: new Map() };
  const upstreams = await loadUpstreams(readUpstreamsFile(config.gateway.upstreamsFile), logger);
  const { schema, routes } = composeGatewaySchema(keygate, upstreams, runtime.tokens);
  logger.info('gateway mode: upstreams composed', { upstreams: upstreams.map((u) => u.config.name).join(', ') });
  return { schema, upstreamRoutes: routes };
}
