/**
 * GraphQL Code Generator for a keygate client, from keygate's committed schema.graphql.
 * Run from the repository root: `npx graphql-codegen --config examples/typed-client/codegen.ts`.
 * In your own project, point `schema` at your copy of schema.graphql (or at a keygate server
 * with introspection on) and `documents` at your sources.
 */
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['examples/typed-client/src/**/*.ts', '!examples/typed-client/src/gql/**'],
  generates: {
    'examples/typed-client/src/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        // Documents are plain strings: `fetch` sends them as they are, no GraphQL runtime needed.
        documentMode: 'string',
        // keygate's scalars as they travel in JSON.
        scalars: { DateTime: 'string', JSON: 'unknown' },
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
  silent: true,
};

export default config;
