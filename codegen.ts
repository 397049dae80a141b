/**
 * GraphQL Code Generator: typed documents for every operation written with `graphql(...)`
 * in the tests (and any client that copies this setup), from the committed schema.graphql.
 * Run by `npm run codegen`, which `npm test` runs first.
 */
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['test/**/*.ts', '!test/gql/**'],
  ignoreNoDocuments: true,
  generates: {
    'test/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        scalars: { DateTime: 'string', JSON: 'unknown' },
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
  silent: true,
};

export default config;
