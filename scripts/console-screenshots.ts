/**
 * `npm run console:screenshots`: the README's pictures of the console (docs/console/*.png).
 * Starts keygate on a throwaway SQLite database, fills it with a demo tenant through the
 * GraphQL API (the same calls an integrator would make), then signs in as the platform
 * administrator in headless Chromium (Debian's chromium via playwright-core, see
 * test/helpers/browser.ts), picks the tenant, and photographs each main page and dialog.
 * Every secret shown belongs to that throwaway database.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { launchBrowser } from '../test/helpers/browser.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = path.join(root, 'docs/console');
const ADMIN_EMAIL = 'admin@keygate.local';
const ADMIN_PASSWORD = 'screenshot-admin-password';

async function main() {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'keygate-screenshots-'));
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const server = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), DATABASE_URL: `file:${path.join(dataDir, 'keygate.db')}`, KEYGATE_ADMIN_EMAIL: ADMIN_EMAIL, KEYGATE_ADMIN_PASSWORD: ADMIN_PASSWORD, KEYGATE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const browser = await launchBrowser();
  try {
    await waitFor(async () => (await fetch(`${baseUrl}/health`)).ok);
    const tenant = await seedDemo(baseUrl);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    mkdirSync(outDir, { recursive: true });

    await page.goto(`${baseUrl}/console/`);
    await page.getByLabel('Email').fill(ADMIN_EMAIL);
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('navigation', { name: 'Console' }).or(page.getByRole('button', { name: 'Sign in' })).first().waitFor();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Tenant', { exact: true }).selectOption(tenant);
    await page.getByRole('row', { name: /ERP Integration/ }).waitFor();
    await page.getByLabel('Show revoked').check();
    await page.getByRole('row', { name: /Legacy importer/ }).waitFor();
    await shot(page, 'api-keys');

    await page.getByRole('button', { name: 'Generate API Key' }).click();
    const form = page.getByRole('dialog', { name: 'Generate API Key' });
    await form.getByLabel('Key Name').fill('x');
    await form.getByLabel('Authorization Group').selectOption({ label: 'Integrations' });
    await form.getByLabel('IP Allowlist').fill('203.0.113.0/24');
    await form.getByRole('button', { name: 'Generate' }).click();
    await page.locator('#name-error').waitFor();
    await shot(page, 'generate-validation');
    await form.getByLabel('Key Name').fill('Mobile App');
    await form.getByRole('button', { name: 'Generate' }).click();
    await page.getByRole('dialog', { name: 'API key Mobile App generated' }).waitFor();
    await shot(page, 'one-time-secret');
    await page.getByRole('button', { name: 'Close' }).click();

    await page.getByRole('button', { name: 'Revoke ERP Integration' }).click();
    await page.getByRole('dialog', { name: 'Revoke API Key' }).waitFor();
    await shot(page, 'revoke');
    await page.getByRole('button', { name: 'Cancel' }).click();

    await page.getByRole('button', { name: 'Rotate ERP Integration' }).click();
    await page.getByRole('dialog', { name: /Rotate API Key/ }).waitFor();
    await shot(page, 'rotate');
    await page.getByRole('button', { name: 'Cancel' }).click();

    await openPage(page, 'Authorization groups');
    await page.getByRole('button', { name: 'Edit Integrations' }).click();
    await page.getByRole('dialog', { name: /Edit group/ }).waitFor();
    await shot(page, 'authorization-groups');
    await page.getByRole('button', { name: 'Cancel' }).click();

    for (const [name, file] of [
      ['Organizations', 'organizations'],
      ['Users', 'users'],
      ['Audit log', 'audit-log'],
      ['Workflow runs', 'workflow-runs'],
    ] as const) {
      await openPage(page, name);
      await page.locator('main tbody tr').first().waitFor();
      await page.waitForLoadState('networkidle');
      await shot(page, file);
    }
    console.log(`screenshots written to ${path.relative(root, outDir)}/`);
  } finally {
    await browser.close();
    server.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function seedDemo(baseUrl: string): Promise<string> {
  const call = async (query: string, variables: Record<string, unknown> = {}, credentials: { token?: string; key?: string } = {}) => {
    const response = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(credentials.token ? { authorization: `Bearer ${credentials.token}` } : {}),
        ...(credentials.key ? { 'x-api-key': credentials.key } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
    const answer = (await response.json()) as { data?: any; errors?: { message: string }[] };
    if (answer.errors) throw new Error(`${query.slice(0, 60)}…: ${answer.errors.map((e) => e.message).join('; ')}`);
    return answer.data;
  };
  const { signIn } = await call('mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }', { e: ADMIN_EMAIL, p: ADMIN_PASSWORD });
  const as = { token: signIn.token as string };
  const t = (await call('mutation { createTenant(input: { name: "Acme", slug: "acme" }) { id } }', {}, as)).createTenant.id as string;
  await call('mutation($t: ID!) { createUser(input: { tenantId: $t, email: "ops@acme.test", password: "ops-password-123", role: TENANT_ADMIN }) { id } }', { t }, as);
  const group = (
    await call(
      'mutation($t: ID!) { createAuthorizationGroup(input: { tenantId: $t, name: "Integrations", description: "Trigger workflows and deliver data", type: TENANT_API_KEY, permissions: ["workflows:trigger", "data:deliver", "projects:read"] }) { id } }',
      { t },
      as,
    )
  ).createAuthorizationGroup.id as string;
  await call('mutation($t: ID!) { createAuthorizationGroup(input: { tenantId: $t, name: "Support staff", type: USER, permissions: ["api_keys:read", "audit:read"] }) { id } }', { t }, as);
  const org = (await call('mutation($t: ID!) { createOrganization(input: { tenantId: $t, name: "Acme EU" }) { id } }', { t }, as)).createOrganization.id as string;
  const ws = (await call('mutation($o: ID!) { createWorkspace(input: { organizationId: $o, name: "Payments" }) { id } }', { o: org }, as)).createWorkspace.id as string;
  const project = (await call('mutation($w: ID!) { createProject(input: { workspaceId: $w, name: "Checkout" }) { id } }', { w: ws }, as)).createProject.id as string;
  const workflow = (await call('mutation($p: ID!) { createWorkflow(input: { projectId: $p, name: "Sync orders" }) { id } }', { p: project }, as)).createWorkflow.id as string;
  await call('mutation($t: ID!) { createUser(input: { tenantId: $t, email: "support@acme.test", password: "support-password-123", role: MEMBER }) { id } }', { t }, as);
  const create = async (name: string, extra: Record<string, unknown> = {}) =>
    (await call('mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret apiKey { id } } }', { i: { tenantId: t, name, authorizationGroupId: group, ...extra } }, as)).createApiKey;
  const erp = await create('ERP Integration', { description: 'Nightly order sync', expiresIn: 'DAYS_90', ipAllowlist: ['127.0.0.1', '203.0.113.0/24'] });
  await create('Partner webhook', { expiresAt: new Date(Date.now() + 3 * 24 * 3600_000).toISOString() });
  const legacy = await create('Legacy importer');
  for (const orderId of [41, 42]) {
    await call('mutation($p: ID!, $w: ID!, $i: JSON) { triggerWorkflow(input: { projectId: $p, workflowId: $w, input: $i }) { id } }', { p: project, w: workflow, i: { orderId } }, { key: erp.secret });
  }
  await call('mutation($id: ID!) { revokeApiKey(id: $id) { id } }', { id: legacy.apiKey.id }, as);
  return t;
}

async function openPage(page: Page, name: string) {
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name }).click();
  await page.locator('main h1').waitFor();
}

async function shot(page: Page, name: string) {
  await page.mouse.move(0, 0);
  await page.screenshot({ path: path.join(outDir, `${name}.png`) });
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function waitFor(condition: () => Promise<boolean>) {
  for (let i = 0; i < 300; i++) {
    if (await condition().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('keygate did not start');
}

await main();
