/**
 * How keygate serves the console's build (src/console/index.ts), through the real app: the page
 * for every console path with the console's CSP, hashed assets cached for good, a missing asset
 * a 404 rather than the page, and a clear 503 when the console was never built.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createYoga } from 'graphql-yoga';
import { afterAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP, useConsole } from '../../../src/console/index.js';
import { app } from '../../helpers/app.js';

const dir = mkdtempSync(path.join(tmpdir(), 'keygate-console-build-'));
mkdirSync(path.join(dir, 'assets'));
writeFileSync(path.join(dir, 'index.html'), '<!doctype html><div id="root"></div>');
writeFileSync(path.join(dir, 'assets/index-abc123.js'), 'console.log(1)');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function yogaServing(buildDir: string) {
  return createYoga({ schema: undefined, plugins: [useConsole(buildDir)], logging: false });
}

describe('serving the console', () => {
  const yoga = yogaServing(dir);

  it('redirects /console to /console/ and serves the page there and on every console route', async () => {
    const bare = await yoga.fetch('http://keygate.test/console');
    expect(bare.status).toBe(308);
    expect(bare.headers.get('location')).toBe('/console/');
    for (const route of ['/console/', '/console/keys', '/console/users/anything']) {
      const response = await yoga.fetch(`http://keygate.test${route}`);
      expect(response.status, route).toBe(200);
      expect(await response.text()).toContain('<div id="root">');
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      expect(response.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('serves hashed assets for good, and answers 404 for a missing one and 405 for a POST', async () => {
    const asset = await yoga.fetch('http://keygate.test/console/assets/index-abc123.js');
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await yoga.fetch('http://keygate.test/console/assets/missing.js')).status).toBe(404);
    expect((await yoga.fetch('http://keygate.test/console/keys', { method: 'POST' })).status).toBe(405);
  });

  it('says how to build the console when it was not built', async () => {
    const response = await yogaServing(path.join(dir, 'nothing-here')).fetch('http://keygate.test/console/');
    expect(response.status).toBe(503);
    expect(await response.text()).toContain('npm run console:build');
  });

  it('is part of the app, whose GraphiQL hook does not loosen the console page’s CSP', async () => {
    const response = await app.yoga.fetch('http://keygate.test/console/');
    // postinstall and `npm test` build the console before any test runs.
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    const graphql = await app.yoga.fetch('http://keygate.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ viewer { kind } }' }),
    });
    expect(await graphql.json()).toEqual({ data: { viewer: { kind: 'ANONYMOUS' } } });
  });
});

describe('KEYGATE_CONSOLE', () => {
  it('is on by default, in production too, and false turns it off', async () => {
    const { loadConfig } = await import('../../../src/config.js');
    expect(loadConfig({}).console).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production' }).console).toBe(true);
    expect(loadConfig({ KEYGATE_CONSOLE: 'false' }).console).toBe(false);
    expect(() => loadConfig({ KEYGATE_CONSOLE: 'maybe' })).toThrow(/KEYGATE_CONSOLE/);
  });
});
