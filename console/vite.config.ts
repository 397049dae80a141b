/**
 * The console's build: console/ → dist/console-app/, served by keygate at /console
 * (src/console/index.ts). `npm run console:dev` serves it with hot reload and forwards
 * /graphql to a keygate on localhost:4000.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: '/console/',
  // React's automatic JSX runtime is Vite's default for .tsx: no plugin (and no Babel) needed.
  build: {
    outDir: fileURLToPath(new URL('../dist/console-app', import.meta.url)),
    emptyOutDir: true,
    // The polyfill would be an inline script, which the console's CSP refuses; browsers that
    // run the console support modulepreload.
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    chunkSizeWarningLimit: 1000,
  },
  logLevel: 'warn',
  server: { proxy: { '/graphql': 'http://localhost:4000' } },
});
