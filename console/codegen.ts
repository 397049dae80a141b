/**
 * The console's typed documents: every `graphql(...)` in console/src, checked against the
 * committed schema.graphql and typed from it (client preset). Run from the repository root by
 * `npm run console:codegen` (and by the console build and `npm run typecheck`): a document
 * that no longer fits the schema fails there.
 */
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['console/src/**/*.tsx', 'console/src/**/*.ts', '!console/src/gql/**'],
  generates: {
    'console/src/gql/': {
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
