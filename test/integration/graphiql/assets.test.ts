/**
 * GraphiQL's page and assets as keygate serves them (src/graphiql), through the real app: the
 * page references only keygate's own paths, every one of them is served, nothing names a CDN,
 * and with KEYGATE_GRAPHIQL off none of it exists. test/browser/graphiql.test.ts runs the page
 * in Chromium.
 */
import { describe, expect, it } from 'vitest';
import { GRAPHIQL_CSP } from '../../../src/graphiql/index.js';
import { appWith, raw } from '../hardening/support.js';

const on = appWith({ graphiql: true });
const off = appWith({ graphiql: false });

const html = { accept: 'text/html,application/xhtml+xml' };

async function graphiqlPage() {
  const response = await raw(on, { method: 'GET', path: '/graphql', body: null, headers: html });
  return { response, text: await response.text() };
}

/** Every URL the page names: src/href attributes and the worker files in its settings. */
function referencedUrls(page: string): string[] {
  const attributes = [...page.matchAll(/\s(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);
  const settings = JSON.parse(/<script id="graphiql-settings" type="application\/json">(.*?)<\/script>/s.exec(page)![1]!) as {
    workers: Record<string, string>;
  };
  return [...attributes, ...Object.values(settings.workers)];
}

describe('GraphiQL served by keygate', () => {
  it('GET /graphql from a browser returns the page, with a CSP that allows this origin only', async () => {
    const { response, text } = await graphiqlPage();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toBe(GRAPHIQL_CSP);
    expect(GRAPHIQL_CSP).toContain("script-src 'self';");
    expect(GRAPHIQL_CSP).toContain("default-src 'none'");
    expect(text).not.toMatch(/https?:\/\//);
    // No inline script: the only script elements load files or hold JSON.
    expect([...text.matchAll(/<script([^>]*)>/g)].map((m) => m[1]!.trim())).toEqual([
      'id="graphiql-settings" type="application/json"',
      expect.stringMatching(/^src="\/graphiql\/[0-9a-f]{16}\/bootstrap\.js"$/),
      expect.stringMatching(/^src="\/graphiql\/[0-9a-f]{16}\/graphiql\.js"$/),
    ]);
  });

  it('serves every file the page references, cacheable for good, and none of them names a CDN', async () => {
    const urls = referencedUrls((await graphiqlPage()).text);
    expect(urls.map((url) => url.replace(/^\/graphiql\/[0-9a-f]{16}\//, ''))).toEqual(
      expect.arrayContaining(['favicon.ico', 'graphiql.css', 'bootstrap.js', 'graphiql.js', 'editor.worker.js', 'json.worker.js', 'graphql.worker.js']),
    );
    for (const url of urls) {
      const response = await raw(on, { method: 'GET', path: url, body: null });
      expect(response.status, url).toBe(200);
      expect(response.headers.get('cache-control'), url).toBe('public, max-age=31536000, immutable');
      expect(response.headers.get('x-content-type-options'), url).toBe('nosniff');
      const type = response.headers.get('content-type');
      if (url.endsWith('.js')) expect(type, url).toBe('text/javascript; charset=utf-8');
      if (url.endsWith('.css')) expect(type, url).toBe('text/css; charset=utf-8');
      const body = new Uint8Array(await response.arrayBuffer());
      expect(body.byteLength, url).toBeGreaterThan(100);
      expect(Number(response.headers.get('content-length')), url).toBe(body.byteLength);
      const text = new TextDecoder().decode(body);
      for (const cdn of ['unpkg.com', 'jsdelivr', 'cdnjs', 'esm.sh', 'fonts.googleapis']) expect(text, url).not.toContain(cdn);
    }
  });

  it('answers 404 for a file it does not have, or under another release hash', async () => {
    const [script] = referencedUrls((await graphiqlPage()).text).filter((url) => url.endsWith('/graphiql.js'));
    const otherHash = script!.replace(/\/graphiql\/[0-9a-f]{16}\//, '/graphiql/0000000000000000/');
    for (const path of [otherHash, script!.replace('graphiql.js', 'secrets.js'), '/graphiql/', '/graphiql/../package.json']) {
      const response = await raw(on, { method: 'GET', path, body: null });
      expect(response.status, path).toBe(404);
    }
  });

  it('with KEYGATE_GRAPHIQL off, there is no page and no asset', async () => {
    const page = await raw(off, { method: 'GET', path: '/graphql', body: null, headers: html });
    expect(page.headers.get('content-type') ?? '').not.toMatch(/html/);
    expect(await page.text()).not.toContain('graphiql');
    const [script] = referencedUrls((await graphiqlPage()).text).filter((url) => url.endsWith('/graphiql.js'));
    expect((await raw(off, { method: 'GET', path: script!, body: null })).status).toBe(404);
  });
});
