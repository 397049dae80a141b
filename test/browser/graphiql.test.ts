/**
 * GraphiQL in a real browser with the network cut off: the real server process, headless
 * Chromium, and every request to a host other than keygate aborted and recorded. GraphiQL must
 * render, load its editor workers from keygate, and run a query through the CSRF and CSP rules.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { isolatedContext, launchBrowser, skipWithoutBrowser } from '../helpers/browser.js';
import { startServer } from '../integration/hardening/server-process.js';

const QUERY = '{ viewer { kind } }';

describe.skipIf(skipWithoutBrowser())('GraphiQL offline, in Chromium', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'keygate-graphiql-'));
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('renders from keygate alone, loads its workers from keygate, and runs { viewer { kind } } as ANONYMOUS', { timeout: 90_000 }, async () => {
    browser = await launchBrowser();
    const server = await startServer({
      DATABASE_URL: `file:${path.join(dataDir, 'keygate.db')}`,
      KEYGATE_ADMIN_PASSWORD: 'graphiql-test-password',
      KEYGATE_GRAPHIQL: 'true',
    });
    const { context, externalRequests } = await isolatedContext(browser, server.baseUrl);
    const page = await context.newPage();
    const problems = await recordPageProblems(page);
    const keygateRequests: string[] = [];
    context.on('request', (request) => keygateRequests.push(new URL(request.url()).pathname));

    await page.goto(`${server.baseUrl}/graphql`);
    // The page and its scripts have loaded: anything they fetched from a CDN is listed here.
    expect(externalRequests).toEqual([]);
    const editor = page.locator('.graphiql-query-editor .monaco-editor').first();
    await editor.waitFor({ timeout: 30_000 });

    await editor.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Backspace');
    // insertText, not type: Monaco would add a closing brace after each typed `{`.
    await page.keyboard.insertText(QUERY);
    const answer = page.waitForResponse(
      (response) => response.request().method() === 'POST' && response.url().endsWith('/graphql') && !!response.request().postData()?.includes('viewer'),
    );
    await page.getByRole('button', { name: /execute query/i }).click();

    const response = await answer;
    expect(response.status()).toBe(200);
    expect(await response.json()).toEqual({ data: { viewer: { kind: 'ANONYMOUS' } } });
    await expect.poll(() => page.locator('.graphiql-response').first().innerText(), { timeout: 10_000 }).toContain('ANONYMOUS');

    expect(externalRequests).toEqual([]);
    expect(keygateRequests).toEqual(expect.arrayContaining([expect.stringMatching(/^\/graphiql\/[0-9a-f]{16}\/graphiql\.js$/)]));
    // Monaco started its workers from keygate's files (a CDN fetch would have been recorded above).
    expect(keygateRequests.filter((p) => p.endsWith('.worker.js')).length).toBeGreaterThan(0);
    expect(await problems()).toEqual([]);
  });
});

/** Uncaught errors, console errors and Content-Security-Policy violations on the page. */
async function recordPageProblems(page: Page): Promise<() => Promise<string[]>> {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { cspViolations: string[] }).cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (event) => seen.push(`${event.violatedDirective} ${event.blockedURI}`));
  });
  return async () => [
    ...problems,
    ...(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).map((v) => `CSP violation: ${v}`),
  ];
}
