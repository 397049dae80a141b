/**
 * The web console (console/ at the top of the repository, a Vite + React app) served at
 * `/console`. Its build lands in dist/console-app/ (the `postinstall` hook and `npm run build`
 * make it), which this module finds from src/ (tsx) and from dist/ (node) alike, as both sit
 * beside dist/ at the root.
 *
 * Every file is read once, on the first console request, and kept in memory: the build is a
 * handful of small files. Paths that name no file get index.html, so the console's own
 * routes (/console/keys, /console/users …) survive a reload. The page may run scripts and
 * reach /graphql on this origin only (the CSP below); the session token is in the page's
 * sessionStorage, never in a cookie, so CSRF rules stay as they are.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'graphql-yoga';

export const CONSOLE_ROOT = '/console';

/** Where the built console is, from src/console/ and from dist/console/ alike. */
export const CONSOLE_BUILD_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/console-app');

/** Scripts, styles and requests from this origin only; no inline script, no frames. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "connect-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "base-uri 'none'",
  // No form is ever submitted natively: were the script not to run, a sign-in form must not
  // send the password anywhere.
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

type Asset = { body: Uint8Array<ArrayBuffer>; contentType: string };

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

export function useConsole(buildDir = CONSOLE_BUILD_DIR): Plugin {
  let files: Map<string, Asset> | undefined;
  return {
    onRequest({ url, request, endResponse, fetchAPI }) {
      if (url.pathname !== CONSOLE_ROOT && !url.pathname.startsWith(`${CONSOLE_ROOT}/`)) return;
      if (url.pathname === CONSOLE_ROOT) {
        // Relative asset paths resolve against /console/, so the page itself lives there.
        endResponse(new fetchAPI.Response(null, { status: 308, headers: { location: `${CONSOLE_ROOT}/${url.search}` } }));
        return;
      }
      files ??= loadBuild(buildDir);
      endResponse(respond(files, url.pathname.slice(CONSOLE_ROOT.length + 1), request.method, fetchAPI.Response));
    },
    // Runs after GraphiQL's hook (which puts its own, looser CSP on every HTML page): the
    // console's pages keep the console's policy.
    onResponse({ request, response }) {
      // GraphiQL's policy only goes on HTML pages; every GraphQL answer is spared a URL parse.
      if (!response.headers.get('content-type')?.startsWith('text/html')) return;
      const { pathname } = new URL(request.url);
      if (pathname.startsWith(`${CONSOLE_ROOT}/`)) response.headers.set('content-security-policy', CONSOLE_CSP);
    },
  };
}

function respond(files: Map<string, Asset>, name: string, method: string, Response: typeof globalThis.Response): Response {
  if (method !== 'GET' && method !== 'HEAD') return plain(Response, 405, 'Method Not Allowed');
  const index = files.get('index.html');
  if (!index) {
    return plain(Response, 503, 'The console is not built: run `npm run console:build` (npm ci and npm run build do it too).');
  }
  const asset = files.get(name);
  // A path with a file extension is an asset: a missing one is a 404, not the page.
  if (!asset && path.extname(name)) return plain(Response, 404, 'Not Found');
  const hashed = name.startsWith('assets/');
  const served = asset ?? index;
  return new Response(method === 'HEAD' ? null : served.body, {
    status: 200,
    headers: {
      'content-type': served.contentType,
      'content-length': String(served.body.byteLength),
      // Vite names assets by their content hash; the page itself must never be stale.
      'cache-control': asset && hashed ? 'public, max-age=31536000, immutable' : 'no-store',
      'content-security-policy': CONSOLE_CSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
    },
  });
}

function loadBuild(dir: string): Map<string, Asset> {
  const files = new Map<string, Asset>();
  if (!existsSync(dir)) return files;
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder)) {
      const full = path.join(folder, entry);
      if (statSync(full).isDirectory()) walk(full);
      else {
        const body = readFileSync(full);
        files.set(path.relative(dir, full).split(path.sep).join('/'), {
          body: new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)) as Uint8Array<ArrayBuffer>,
          contentType: CONTENT_TYPES[path.extname(full)] ?? 'application/octet-stream',
        });
      }
    }
  };
  walk(dir);
  return files;
}

function plain(Response: typeof globalThis.Response, status: number, text: string): Response {
  return new Response(text, { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' } });
}
