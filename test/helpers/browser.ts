/**
 * Headless Chromium for browser tests: Debian's `chromium` package (which .ci/run installs),
 * driven by playwright-core, which downloads nothing. `KEYGATE_CHROMIUM` names another binary.
 *
 * Pages see keygate and nothing else: `isolatedContext` aborts every request to another
 * origin and records it, so a test can assert that nothing even tried to reach a CDN; and the
 * browser resolves no host name but the loopback ones, so a request the routing would not see
 * (a worker's, a prefetch) cannot leave the machine either.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

const DEFAULT_CHROMIUM = '/usr/bin/chromium';

export type ChromiumLookup = { executablePath: string; missing?: string };

export function findChromium(): ChromiumLookup {
  const executablePath = process.env.KEYGATE_CHROMIUM || DEFAULT_CHROMIUM;
  if (existsSync(executablePath)) return { executablePath };
  return {
    executablePath,
    missing:
      `Chromium not found at ${executablePath}. Install Debian's chromium ` +
      `(apt-get install -y --no-install-recommends chromium; .ci/run does it) or set KEYGATE_CHROMIUM to a Chromium binary.`,
  };
}

/**
 * True when browser tests should be skipped: Chromium is missing and this is not CI. Under CI
 * (CI=true) a missing browser is a failure, reported by `launchBrowser`, never a skip.
 */
export function skipWithoutBrowser(): boolean {
  const { missing } = findChromium();
  if (!missing || process.env.CI === 'true') return false;
  console.warn(`Skipping browser tests: ${missing}`);
  return true;
}

export async function launchBrowser(): Promise<Browser> {
  const { executablePath, missing } = findChromium();
  if (missing) throw new Error(missing);
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1', '--no-first-run', '--disable-sync'],
  });
}

export type IsolatedContext = {
  context: BrowserContext;
  /** Every URL outside `origin` that the pages tried to load, in order; each was aborted. */
  externalRequests: string[];
};

/** A fresh browser context whose pages may reach `origin` only. */
export async function isolatedContext(browser: Browser, origin: string): Promise<IsolatedContext> {
  const allowed = new URL(origin).origin;
  const context = await browser.newContext();
  const externalRequests: string[] = [];
  const isExternal = (url: string) => /^(https?|wss?):/.test(url) && new URL(url).origin !== allowed;
  await context.route(
    (url) => isExternal(url.href),
    async (route) => {
      externalRequests.push(route.request().url());
      await route.abort('blockedbyclient');
    },
  );
  // Requests the router does not intercept still raise this event: count them too.
  context.on('request', (request) => {
    if (isExternal(request.url()) && !externalRequests.includes(request.url())) externalRequests.push(request.url());
  });
  return { context, externalRequests };
}
