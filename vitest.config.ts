import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Some dependencies require() graphql's CommonJS build while Vite would hand our ESM
    // imports the .mjs one: two graphql modules, which graphql refuses. Use one.
    alias: { graphql: 'graphql/index.js' },
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    setupFiles: ['test/helpers/worker-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
