/**
 * Shared pieces of the console's browser tests (test/browser/console*.test.ts): the real server
 * process on the worker's database (so test/helpers/seed.ts seeds what the browser then sees,
 * on SQLite and PostgreSQL alike), GraphQL over HTTP to check what the API says, axe-core
 * injected into the page, and the sign-in steps.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { freePort, until } from '../integration/hardening/server-process.js';

export type ConsoleServer = { baseUrl: string; stop: () => Promise<void> };

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The real server (src/index.ts) as a child process, one per test file and shared by its tests
 * (server-process.ts's startServer stops its servers after each test). It uses the worker's
 * database, so seeding through test/helpers/seed.ts is what the browser sees.
 */
export async function startConsoleServer(settings: Record<string, string> = {}): Promise<ConsoleServer> {
  const port = await freePort();
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    TMPDIR: tmpdir(),
    HOST: '127.0.0.1',
    PORT: String(port),
    KEYGATE_LOG_LEVEL: 'warn',
    DATABASE_URL: process.env.DATABASE_URL!,
    // The suite's administrator password (worker-setup.ts): on PostgreSQL every worker shares one
    // database, and whichever process starts first creates the bootstrap administrator with it.
    KEYGATE_ADMIN_PASSWORD: process.env.KEYGATE_ADMIN_PASSWORD!,
    KEYGATE_AUTH_FAILURE_LIMIT: '0',
    ...settings,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const server = { child, port, baseUrl: `http://127.0.0.1:${port}`, stderr: () => stderr, exited };
  try {
    await until(server, async () => (await fetch(`${server.baseUrl}/health`)).ok, 60_000, 'serving');
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    baseUrl: server.baseUrl,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

export type GraphQLAnswer = { data?: Record<string, any> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };

/** A GraphQL request the way an integration sends it: `X-Api-Key` for a key, Bearer for a session. */
export async function gql(baseUrl: string, query: string, credentials: { key?: string; token?: string } = {}, variables?: Record<string, unknown>): Promise<GraphQLAnswer> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(credentials.key ? { 'x-api-key': credentials.key } : {}),
      ...(credentials.token ? { authorization: `Bearer ${credentials.token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GraphQLAnswer;
}

/** What keygate says about a key secret: `API_KEY` when it works, the error code when it does not. */
export async function keyVerdict(baseUrl: string, secret: string): Promise<string> {
  const answer = await gql(baseUrl, '{ viewer { kind } }', { key: secret });
  return answer.data?.viewer?.kind ?? String(answer.errors?.[0]?.extensions?.code);
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * axe-core's WCAG 2.x A/AA rules (and its best practices) on the page as it is now. Injected
 * through the DevTools protocol, not a <script> element, because the console's CSP rightly
 * refuses inline scripts.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (context: Document, options: object) => Promise<{ violations: { id: string; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
    return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  });
  return violations;
}

export async function expectNoAxeViolations(page: Page, where: string) {
  expect(await axeViolations(page), `axe-core on ${where}`).toEqual([]);
}

export async function signInThroughForm(page: Page, baseUrl: string, email: string, password: string) {
  await page.goto(`${baseUrl}/console/`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Console' }).waitFor();
}

/** Lets the page use the clipboard, as a user who allowed it would. */
export async function allowClipboard(context: BrowserContext, baseUrl: string) {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseUrl });
}

/** Uncaught errors, console errors and CSP violations on the page. */
export async function recordPageProblems(page: Page): Promise<() => Promise<string[]>> {
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
