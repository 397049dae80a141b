/**
 * GraphiQL served entirely by keygate, so it works on a host with no internet access.
 *
 * Yoga's own GraphiQL page loads its script, stylesheet and Monaco editor workers from unpkg;
 * offline it never renders, and online it runs code from a CDN with the developer's tokens in
 * reach. `@graphql-yoga/render-graphiql` is the same GraphiQL (same release as graphql-yoga)
 * built into strings with no dependencies: its fonts and images are inlined as data: URLs.
 * That package's own renderer inlines all ~9 MB into every page; instead each piece is served
 * once under a content-hashed path (`/graphiql/<hash>/…`) that browsers cache for good, and the
 * page itself is a few lines of HTML.
 *
 * The page carries a Content-Security-Policy that allows scripts, workers and requests to this
 * origin only: nothing bundled can reach another host, and an injected inline script cannot run
 * (the page has no inline script; options travel as JSON in a non-executable script element).
 *
 * Only what `KEYGATE_GRAPHIQL` switches on is loaded: the assets are imported on the first
 * GraphiQL request, never when GraphiQL is off.
 */
import { createHash } from 'node:crypto';
import type { GraphiQLOptions, Plugin, YogaServerOptions } from 'graphql-yoga';
import { BOOTSTRAP_SCRIPT } from './bootstrap.js';

export const GRAPHIQL_ASSETS_ROOT = '/graphiql/';

/**
 * script-src/worker-src 'self': only keygate's files run. style-src needs 'unsafe-inline'
 * because React and Monaco set style attributes and inject style elements at run time; styles
 * cannot run code. Fonts and images are data: URLs inside the stylesheet.
 */
export const GRAPHIQL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "worker-src 'self'",
  "connect-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

type Asset = { body: Uint8Array<ArrayBuffer>; contentType: string };
type Assets = { base: string; files: Map<string, Asset> };

const JS = 'text/javascript; charset=utf-8';

/** The Yoga options for GraphiQL: off entirely, or on with keygate's own page and assets. */
export function graphiqlOptions(enabled: boolean): Pick<YogaServerOptions<object, object>, 'graphiql' | 'renderGraphiQL'> {
  if (!enabled) return { graphiql: false };
  return {
    graphiql: { title: 'keygate GraphiQL' },
    renderGraphiQL: async (options) => renderPage(await loadAssets(), options),
  };
}

/** Serves the assets, and puts the CSP on the page Yoga renders. Add only when GraphiQL is on. */
export function useGraphiQLAssets(): Plugin {
  return {
    onRequest({ url, request, endResponse, fetchAPI }) {
      if (!url.pathname.startsWith(GRAPHIQL_ASSETS_ROOT)) return;
      return assetResponse(url.pathname, request.method, fetchAPI.Response).then(endResponse);
    },
    onResponse({ response }) {
      if (response.headers.get('content-type')?.startsWith('text/html')) {
        response.headers.set('content-security-policy', GRAPHIQL_CSP);
        response.headers.set('x-content-type-options', 'nosniff');
        response.headers.set('referrer-policy', 'no-referrer');
        response.headers.set('cache-control', 'no-store');
      }
    },
  };
}

async function assetResponse(pathname: string, method: string, Response: typeof globalThis.Response): Promise<Response> {
  const assets = await loadAssets();
  const asset = pathname.startsWith(assets.base) ? assets.files.get(pathname.slice(assets.base.length)) : undefined;
  if (!asset || (method !== 'GET' && method !== 'HEAD')) {
    return new Response('Not Found', { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  }
  return new Response(method === 'HEAD' ? null : asset.body, {
    status: 200,
    headers: {
      'content-type': asset.contentType,
      'content-length': String(asset.body.byteLength),
      // The path names the content's hash: a new release is a new path.
      'cache-control': 'public, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
      'content-security-policy': GRAPHIQL_CSP,
    },
  });
}

let loading: Promise<Assets> | undefined;

function loadAssets(): Promise<Assets> {
  return (loading ??= import('@graphql-yoga/render-graphiql/graphiql').then((bundle) => {
    const files = new Map<string, Asset>([
      ['graphiql.css', text(bundle.css, 'text/css; charset=utf-8')],
      ['graphiql.js', text(bundle.js, JS)],
      ['bootstrap.js', text(BOOTSTRAP_SCRIPT, JS)],
      ['editor.worker.js', text(bundle.editorWorkerService, JS)],
      ['json.worker.js', text(bundle.jsonWorker, JS)],
      ['graphql.worker.js', text(bundle.graphqlWorker, JS)],
      ['favicon.ico', dataUrl(bundle.favicon)],
    ]);
    const hash = createHash('sha256');
    for (const [name, asset] of files) hash.update(name).update(asset.body);
    return { base: `${GRAPHIQL_ASSETS_ROOT}${hash.digest('hex').slice(0, 16)}/`, files };
  }));
}

function renderPage({ base }: Assets, options: GraphiQLOptions): string {
  const settings = {
    graphiql: options,
    workers: {
      editorWorkerService: `${base}editor.worker.js`,
      json: `${base}json.worker.js`,
      graphql: `${base}graphql.worker.js`,
    },
  };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(options.title ?? 'GraphiQL')}</title>
<link rel="icon" href="${base}favicon.ico">
<link rel="stylesheet" href="${base}graphiql.css">
<script id="graphiql-settings" type="application/json">${scriptJson(settings)}</script>
<script src="${base}bootstrap.js"></script>
<script src="${base}graphiql.js"></script>
</head>
<body id="body" class="no-focus-outline">
<noscript>GraphiQL needs JavaScript.</noscript>
<div id="root"></div>
</body>
</html>
`;
}

function text(body: string, contentType: string): Asset {
  return { body: Buffer.from(body, 'utf8'), contentType };
}

function dataUrl(url: string): Asset {
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (!match) throw new Error('GraphiQL favicon is not a base64 data: URL');
  return { body: Buffer.from(match[2]!, 'base64'), contentType: match[1]! };
}

/** JSON inside a script element: `<` is escaped so no string can close the element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
