/**
 * Gateway-mode test rig: an upstream graphql-yoga "shop" that verifies every principal token
 * against keygate's JWKS with jose (as a team's service would), and keygate in gateway mode
 * served over HTTP on port 0 (the upstream fetches the JWKS from it).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GraphQLError } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { createGatewayApp, type App } from '../../../src/app.js';
import { loadConfig } from '../../../src/config.js';
import { createLogger, type Logger } from '../../../src/lib/logger.js';
import { createAuthorizationGroup } from '../../../src/modules/authorization-group/authorization-group.service.js';
import { seedTenant, unique } from '../../helpers/seed.js';

export const SHOP_SDL = /* GraphQL */ `
  type Query {
    "The orders of a project; refused unless the principal token reaches the project."
    shopOrders(projectId: ID!): [ShopOrder!]!
    "Who the upstream thinks is calling, from the verified token."
    shopWhoAmI: ShopPrincipal!
    "Always fails with the upstream's own code."
    shopOutOfStock: String
  }
  type Mutation {
    "Places an order."
    shopPlaceOrder(projectId: ID!, item: String!): ShopOrder!
  }
  type ShopOrder {
    id: ID!
    projectId: ID!
    item: String!
  }
  type ShopPrincipal {
    subject: String!
    kind: String!
    tenantId: String!
    organizationId: String
    projectAccess: String!
    projectIds: [ID!]!
    permissions: [String!]!
    keyId: String
    userId: String
    "Whether the request carried a credential header (it must not)."
    sawCredential: Boolean!
  }
`;

/** `received`: every request's headers; `queries` and `variables`: every operation's as the shop got them. */
export type Upstream = { url: string; received: Headers[]; queries: string[]; variables: unknown[]; close(): Promise<void> };

/** The shop upstream; `jwksUrl()` is asked on first verification (keygate starts after it). */
export async function startShop(jwksUrl: () => string): Promise<Upstream> {
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  const received: Headers[] = [];
  const queries: string[] = [];
  const variables: unknown[] = [];
  async function principalOf(request: Request): Promise<JWTPayload & Record<string, unknown>> {
    const token = request.headers.get('x-keygate-principal');
    if (!token) throw new GraphQLError('No principal token.', { extensions: { code: 'UNAUTHENTICATED' } });
    jwks ??= createRemoteJWKSet(new URL(jwksUrl()));
    try {
      const { payload } = await jwtVerify(token, jwks, { issuer: 'keygate', algorithms: ['EdDSA'] });
      return payload as JWTPayload & Record<string, unknown>;
    } catch (error) {
      throw new GraphQLError(`Bad principal token: ${(error as Error).message}`, { extensions: { code: 'UNAUTHENTICATED' } });
    }
  }
  const yoga = createYoga<{ request: Request }>({
    logging: false,
    plugins: [
      {
        onParams: ({ params }: { params: { query?: string; variables?: unknown } }) => {
          queries.push(params.query ?? '');
          variables.push(params.variables);
        },
      },
    ],
    schema: createSchema({
      typeDefs: SHOP_SDL,
      resolvers: {
        Query: {
          shopOrders: async (_: unknown, { projectId }: { projectId: string }, { request }: { request: Request }) => {
            const principal = await principalOf(request);
            if (principal.projectAccess === 'SELECTED' && !(principal.projectIds as string[]).includes(projectId)) {
              throw new GraphQLError('This principal has no access to the project.', { extensions: { code: 'PROJECT_FORBIDDEN' } });
            }
            return [{ id: `order-${projectId}`, projectId, item: 'widget' }];
          },
          shopWhoAmI: async (_: unknown, __: unknown, { request }: { request: Request }) => {
            const principal = await principalOf(request);
            return {
              ...principal,
              subject: principal.sub,
              sawCredential: request.headers.has('x-api-key') || request.headers.has('authorization'),
            };
          },
          shopOutOfStock: async (_: unknown, __: unknown, { request }: { request: Request }) => {
            await principalOf(request);
            throw new GraphQLError('Out of stock.', { extensions: { code: 'OUT_OF_STOCK' } });
          },
        },
        Mutation: {
          shopPlaceOrder: async (_: unknown, { projectId, item }: { projectId: string; item: string }, { request }: { request: Request }) => {
            await principalOf(request);
            return { id: 'order-new', projectId, item };
          },
        },
      },
    }),
  });
  const server = createServer((req, res) => {
    received.push(new Headers(req.headers as Record<string, string>));
    void yoga.handle(req, res);
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}/graphql`, received, queries, variables, close: () => closeServer(server) };
}

export type Gateway = { app: App; url: string; close(): Promise<void> };

/** keygate over HTTP on port 0; `build` makes the app once the port is known. */
export async function serveKeygate(build: (origin: string) => Promise<App>): Promise<Gateway> {
  let app: App | undefined;
  const server = createServer((req, res) => {
    if (!app) {
      res.statusCode = 503;
      res.end();
      return;
    }
    app.handleNodeRequest(req, res);
  });
  const port = await listen(server);
  const origin = `http://127.0.0.1:${port}`;
  app = await build(origin);
  return { app, url: origin, close: () => closeServer(server) };
}

/** A tenant whose key group holds `permissions` on top of the usual integration ones. */
export async function tenantWithKeyPermissions(permissions: string[]) {
  const seed = await seedTenant();
  const group = await createAuthorizationGroup(seed.platform.principal, {
    tenantId: seed.tenant.id,
    name: unique('Gateway'),
    type: 'TENANT_API_KEY',
    permissions: ['projects:read', ...permissions],
  });
  return { seed, group, createKey: (input: Parameters<typeof seed.createKey>[0] = {}) => seed.createKey({ authorizationGroupId: group.id, ...input }) };
}

/** A key of `seed`'s tenant whose group holds `upstream:shop` and a cost budget of `points` per hour. */
export async function budgetedShopKey(seed: Awaited<ReturnType<typeof seedTenant>>, points: number) {
  const group = await createAuthorizationGroup(seed.platform.principal, {
    tenantId: seed.tenant.id,
    name: unique('Budgeted gateway'),
    type: 'TENANT_API_KEY',
    permissions: ['upstream:shop'],
    costBudget: { points, windowSeconds: 3600 },
  });
  return seed.createKey({ authorizationGroupId: group.id });
}

/** A KEYGATE_UPSTREAMS file in a temporary folder. */
export function upstreamsFile(upstreams: unknown[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'keygate-upstreams-'));
  const file = path.join(dir, 'upstreams.json');
  writeFileSync(file, JSON.stringify({ upstreams }));
  return file;
}

export function gatewayApp(env: Record<string, string>, logger = createLogger('silent')) {
  const config = loadConfig({ ...process.env, ...env });
  return createGatewayApp({ config, logger });
}

/** Starts the shop and keygate in front of it (KEYGATE_UPSTREAMS naming the shop). */
export async function startShopBehindKeygate(env: Record<string, string> = {}, logger?: Logger) {
  let origin = '';
  const shop = await startShop(() => `${origin}/.well-known/jwks.json`);
  const gateway = await serveKeygate(async (url) => {
    origin = url;
    return gatewayApp({ KEYGATE_UPSTREAMS: upstreamsFile([{ name: 'shop', url: shop.url }]), ...env }, logger);
  });
  return {
    shop,
    gateway,
    async close() {
      await Promise.all([shop.close(), gateway.close()]);
    },
  };
}

export function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
