/**
 * The gateway benchmark's reference servers, one per process: BENCH_TARGET=upstream is a
 * graphql-yoga "team service" (`{ benchItem }`), BENCH_TARGET=bare-node a bare Node HTTP
 * handler answering 200 with no body (what /auth/verify is compared with).
 */
import { createServer } from 'node:http';
import { createSchema, createYoga } from 'graphql-yoga';

const port = Number(process.env.PORT ?? 4200);
if (process.env.BENCH_TARGET === 'bare-node') {
  createServer((_req, res) => {
    res.statusCode = 200;
    res.end();
  }).listen(port, '127.0.0.1');
} else {
  const yoga = createYoga({
    schema: createSchema({ typeDefs: '"An item." type Query { "One item." benchItem: String! }', resolvers: { Query: { benchItem: () => 'item' } } }),
    graphiql: false,
    landingPage: false,
    logging: false,
  });
  createServer(yoga).listen(port, '127.0.0.1');
}
process.on('SIGTERM', () => process.exit(0));
