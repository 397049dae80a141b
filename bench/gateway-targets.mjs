/**
 * The gateway benchmark's reference servers, one per process, plain JavaScript run by plain
 * Node like the built keygate they are compared with:
 *
 * - BENCH_TARGET=upstream: a graphql-yoga "team service" (`{ benchItem }`);
 * - BENCH_TARGET=bare-node: a bare Node HTTP handler answering 200 with no body; with
 *   BENCH_ANSWER_HEADERS (JSON), it sends those headers too (what /auth/verify answers,
 *   copied from one real answer), so the answer on the wire is the same size.
 * - BENCH_TARGET=keygate-constant: keygate's own app (the build, with the environment of the
 *   keygate under test) whose /auth/verify answers BENCH_ANSWER_HEADERS without checking
 *   anything: what a keygate process costs before /auth/verify does any work, the most any
 *   /auth/verify of it could reach.
 */
import { createServer } from 'node:http';
import { createSchema, createYoga } from 'graphql-yoga';

const port = Number(process.env.PORT ?? 4200);
if (process.env.BENCH_TARGET === 'bare-node') {
  const headers = process.env.BENCH_ANSWER_HEADERS ? JSON.parse(process.env.BENCH_ANSWER_HEADERS) : null;
  createServer((_req, res) => {
    if (headers) res.writeHead(200, headers);
    else res.statusCode = 200;
    res.end();
  }).listen(port, '127.0.0.1');
} else if (process.env.BENCH_TARGET === 'keygate-constant') {
  const { createGatewayApp } = await import('../dist/app.js');
  const { handleNodeRequest } = await createGatewayApp();
  const headers = JSON.parse(process.env.BENCH_ANSWER_HEADERS);
  createServer((req, res) => {
    if (req.url.startsWith('/auth/verify')) res.writeHead(200, headers).end();
    else handleNodeRequest(req, res);
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
