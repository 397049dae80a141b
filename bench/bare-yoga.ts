/**
 * The baseline: a bare graphql-yoga server answering `{ me }`, nothing else. Every keygate
 * row of the benchmark is read as a fraction of this one (same Node, same HTTP stack).
 */
import { createServer } from 'node:http';
import { createSchema, createYoga } from 'graphql-yoga';

const yoga = createYoga({
  schema: createSchema({ typeDefs: 'type Query { me: String! }', resolvers: { Query: { me: () => 'me' } } }),
  graphqlEndpoint: '/graphql',
  graphiql: false,
  landingPage: false,
  logging: false,
});

const port = Number(process.env.PORT ?? 4100);
createServer(yoga).listen(port, '127.0.0.1', () => console.log(`bare yoga: serving http://127.0.0.1:${port}/graphql`));
process.on('SIGTERM', () => process.exit(0));
