/**
 * The console's webhook parts, in headless Chromium against the real server and a real HTTP
 * receiver: an endpoint is added on the Webhook endpoints page (its signing secret shown once),
 * a run triggered by an API key turns DELIVERED on the Workflow runs page without a reload
 * (workflowRunUpdated over SSE) when the receiver answers 200, with its attempts listed; a
 * FAILED run is redelivered from its details; the secret is rotated and the endpoint deleted;
 * axe-core finds nothing on the new page, the expanded run and the dialogs; a member sees
 * neither the page nor Redeliver without the permissions the API asks for.
 */
import '../helpers/own-database/console-runs.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db } from '../../src/db.js';
import { createAuthorizationGroup } from '../../src/modules/authorization-group/authorization-group.service.js';
import { isolatedContext, launchBrowser, skipWithoutBrowser } from '../helpers/browser.js';
import { allowClipboard, expectNoAxeViolations, gql, recordPageProblems, signInThroughForm, startConsoleServer, type ConsoleServer } from '../helpers/console.js';
import { PASSWORD, seedTenant, signedIn } from '../helpers/seed.js';

/** A webhook receiver that holds each request until the test decides what to answer. */
type HeldRequest = { body: string; answer: (status: number) => void };

function startReceiver(): Promise<{ url: string; next: () => Promise<HeldRequest>; close: () => Promise<void> }> {
  const arrived: HeldRequest[] = [];
  const waiting: ((request: HeldRequest) => void)[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const held = { body, answer: (status: number) => res.writeHead(status).end() };
      const taker = waiting.shift();
      if (taker) taker(held);
      else arrived.push(held);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}/keygate`,
        next: () => {
          const first = arrived.shift();
          return first ? Promise.resolve(first) : new Promise((r) => waiting.push(r));
        },
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}

describe.skipIf(skipWithoutBrowser())('console: webhook endpoints, live runs, delivery attempts, redelivery', () => {
  let browser: Browser;
  let server: ConsoleServer;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    [browser, server, receiver] = await Promise.all([
      launchBrowser(),
      // One attempt per delivery, so a 500 makes a run FAILED at once; polled often, so tests are quick;
      // a long attempt timeout, because the receiver holds its answer while the browser looks.
      startConsoleServer({ KEYGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', KEYGATE_WEBHOOK_MAX_ATTEMPTS: '1', KEYGATE_WEBHOOK_POLL_MS: '100', KEYGATE_WEBHOOK_TIMEOUT_MS: '60000' }),
      startReceiver(),
    ]);
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await receiver?.close();
  });

  async function newPage() {
    const { context, externalRequests } = await isolatedContext(browser, server.baseUrl);
    await allowClipboard(context, server.baseUrl);
    const page = await context.newPage();
    const problems = await recordPageProblems(page);
    return { context, page, externalRequests, problems };
  }

  it('adds an endpoint, shows a run turn DELIVERED live, redelivers a FAILED run, rotates and deletes', { timeout: 180_000 }, async () => {
    const seed = await seedTenant();
    const key = await seed.createKey({ name: 'Order sync' });
    const { context, page, externalRequests, problems } = await newPage();
    const streams: string[] = [];
    page.on('request', async (request) => {
      if (new URL(request.url()).pathname !== '/graphql') return;
      const headers = await request.allHeaders(); // graphql-sse asks for the event stream alone
      if (headers.accept === 'text/event-stream') streams.push(headers.authorization ?? '');
    });
    await signInThroughForm(page, server.baseUrl, seed.admin.user.email, PASSWORD);

    // Add an endpoint: the signing secret is shown once, and stored encrypted only.
    await openPage(page, 'Webhook endpoints');
    await page.getByText('No endpoints yet.').waitFor();
    await expectNoAxeViolations(page, 'Webhook endpoints');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const addDialog = page.getByRole('dialog', { name: 'Add webhook endpoint' });
    await expectNoAxeViolations(page, 'the add-endpoint dialog');
    await addDialog.getByLabel('URL').fill('not a url');
    await addDialog.getByRole('button', { name: 'Add endpoint' }).click();
    await expect.poll(() => page.locator('#endpoint-url-error').count()).toBe(1);
    await expectNoAxeViolations(page, 'the add-endpoint dialog with a field error');
    await addDialog.getByLabel('URL').fill(receiver.url);
    expect(await addDialog.getByRole('checkbox', { name: 'workflow.run.triggered' }).isChecked()).toBe(true);
    await addDialog.getByLabel('Description').fill('Order system');
    await addDialog.getByRole('button', { name: 'Add endpoint' }).click();
    const secret = await readOneTimeSecret(page, 'Endpoint added: its signing secret');
    expect(secret).toMatch(/^whsec_/);
    const endpoint = await db.webhookEndpoint.findFirstOrThrow({ where: { tenantId: seed.tenant.id } });
    expect(endpoint.url).toBe(receiver.url);
    expect(endpoint.secretCiphertext).not.toContain(secret.slice('whsec_'.length));
    await page.getByRole('row', { name: /Order system/ }).waitFor();

    // A workflow delivering to it, and a run triggered by the key; the receiver holds its answer.
    const workflow = await gql(server.baseUrl, 'mutation($p: ID!, $e: ID!) { createWorkflow(input: { projectId: $p, name: "Ship orders", endpointId: $e }) { id } }', { token: seed.admin.token }, { p: seed.project.id, e: endpoint.id });
    expect(workflow.errors).toBeUndefined();
    const workflowId = workflow.data!.createWorkflow.id as string;
    const trigger = () => gql(server.baseUrl, 'mutation($p: ID!, $w: ID!) { triggerWorkflow(input: { projectId: $p, workflowId: $w, input: { orderId: 7 } }) { id } }', { key: key.secret }, { p: seed.project.id, w: workflowId });
    const first = await trigger();
    expect(first.errors).toBeUndefined();
    const held = await receiver.next();
    expect(JSON.parse(held.body).type).toBe('workflow.run.triggered');

    // The run is listed QUEUED; expanded, it turns DELIVERED in place when the receiver answers 200.
    await openPage(page, 'Workflow runs');
    const row = page.getByRole('row', { name: /Ship orders/ });
    await row.waitFor();
    expect(await row.innerText()).toContain('key Order sync');
    expect(await row.innerText()).toContain('Queued');
    await row.getByRole('button', { name: /Show/ }).click();
    const details = page.locator('.run-details');
    await details.getByText('No delivery attempt yet.').waitFor();
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    await expect.poll(() => streams.length).toBeGreaterThan(0);
    held.answer(200);
    await expect.poll(() => row.innerText(), { timeout: 30_000 }).toContain('Delivered');
    const attempt = details.getByRole('table', { name: 'Delivery attempts' }).getByRole('row').nth(1);
    await expect.poll(() => attempt.innerText()).toContain('200');
    expect(await attempt.innerText()).toMatch(/\d+ ms/);
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(streams.filter((authorization) => !authorization.startsWith('Bearer kgs_'))).toEqual([]);
    expect(await details.getByRole('button', { name: /Redeliver/ }).count()).toBe(0);
    await expectNoAxeViolations(page, 'Workflow runs with a delivered run expanded');
    await row.getByRole('button', { name: /Hide/ }).click();

    // A run the receiver refuses is FAILED (one attempt allowed); Redeliver sends it again, live.
    const second = await trigger();
    const secondId = second.data!.triggerWorkflow.id as string;
    (await receiver.next()).answer(500);
    await expect.poll(async () => (await db.workflowRun.findUniqueOrThrow({ where: { id: secondId } })).status, { timeout: 30_000 }).toBe('FAILED');
    await page.reload();
    const failedRow = page.getByRole('row', { name: /Ship orders.*Failed/ });
    await failedRow.waitFor();
    await failedRow.getByRole('button', { name: /Show/ }).click();
    const failedDetails = page.locator(`#run-${secondId}`);
    await expect.poll(() => failedDetails.getByRole('table', { name: 'Delivery attempts' }).innerText()).toContain('500');
    const redeliver = failedDetails.getByRole('button', { name: /Redeliver/ });
    await expectNoAxeViolations(page, 'Workflow runs with a failed run expanded');
    await redeliver.click();
    const again = await receiver.next();
    const redeliveredRow = page.getByRole('row', { name: new RegExp(`details of run ${secondId}`) });
    await expect.poll(() => redeliveredRow.innerText()).toContain('Queued');
    expect(await redeliver.count()).toBe(0);
    again.answer(200);
    await expect.poll(() => redeliveredRow.innerText(), { timeout: 30_000 }).toContain('Delivered');
    await expect.poll(() => failedDetails.getByRole('table', { name: 'Delivery attempts' }).getByRole('row').count()).toBe(3);
    expect((await db.workflowRun.findUniqueOrThrow({ where: { id: secondId } })).status).toBe('DELIVERED');

    // Rotate the signing secret (shown once, different), then delete the endpoint.
    await openPage(page, 'Webhook endpoints');
    await expectNoAxeViolations(page, 'Webhook endpoints with an endpoint listed');
    await page.getByRole('button', { name: `Rotate secret of ${receiver.url}` }).click();
    const rotateDialog = page.getByRole('dialog', { name: `Rotate the signing secret of ${receiver.url}` });
    await expectNoAxeViolations(page, 'the rotate-secret dialog');
    // With a grace: the old secret keeps signing beside the new one for the hour chosen.
    await rotateDialog.getByLabel('The current secret keeps signing').selectOption('60');
    expect(await rotateDialog.innerText()).toContain('Deliveries are signed with both secrets for 1 hour');
    await rotateDialog.getByRole('button', { name: 'Rotate' }).click();
    const rotated = await readOneTimeSecret(page, 'New signing secret');
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(secret);
    const rotatedEndpoint = await db.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } });
    expect(rotatedEndpoint.secretRotatedAt).not.toBeNull();
    expect(rotatedEndpoint.previousSecretCiphertext).toBe(endpoint.secretCiphertext);
    expect(rotatedEndpoint.previousSecretExpiresAt!.getTime() - Date.now()).toBeGreaterThan(55 * 60_000);
    await page.getByRole('button', { name: `Delete ${receiver.url}` }).click();
    const deleteDialog = page.getByRole('dialog', { name: `Delete endpoint ${receiver.url}` });
    await expectNoAxeViolations(page, 'the delete-endpoint dialog');
    await deleteDialog.getByRole('button', { name: 'Delete' }).click();
    await page.getByText('No endpoints yet.').waitFor();
    expect(await db.webhookEndpoint.count({ where: { tenantId: seed.tenant.id } })).toBe(0);

    expect(externalRequests).toEqual([]);
    expect(await problems()).toEqual([]);
    await context.close();
  });

  it('offers neither the endpoints page nor Redeliver without the permissions the API asks for', { timeout: 90_000 }, async () => {
    const seed = await seedTenant();
    const run = await db.workflowRun.create({
      data: { tenantId: seed.tenant.id, projectId: seed.project.id, workflowId: seed.workflow.id, input: {}, status: 'FAILED', triggeredByKind: 'USER', triggeredByUserId: seed.admin.user.id },
    });
    const readers = await createAuthorizationGroup(seed.platform.principal, { tenantId: seed.tenant.id, name: 'Readers', type: 'USER', permissions: ['projects:read'] });
    const reader = await signedIn(seed.tenant.id, 'MEMBER', readers.id);
    const { context, page, problems } = await newPage();
    await signInThroughForm(page, server.baseUrl, reader.user.email, PASSWORD);
    expect(await page.getByRole('navigation', { name: 'Console' }).innerText()).not.toContain('Webhook endpoints');
    await openPage(page, 'Workflow runs');
    const row = page.getByRole('row', { name: /Sync orders.*Failed/ });
    await row.getByRole('button', { name: /Show/ }).click();
    await page.locator(`#run-${run.id}`).getByText('No delivery attempt yet.').waitFor();
    expect(await page.getByRole('button', { name: /Redeliver/ }).count()).toBe(0);
    const refused = await gql(server.baseUrl, 'mutation($id: ID!) { redeliverWorkflowRun(id: $id) { id } }', { token: reader.token }, { id: run.id });
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await problems()).toEqual([]);
    await context.close();
  });
});

async function openPage(page: Page, name: string) {
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name }).click();
  await page.getByRole('heading', { level: 1 }).filter({ hasText: name }).waitFor();
}

/** Reads the secret from its one-time dialog (checked with axe-core), then closes it. */
async function readOneTimeSecret(page: Page, title: string): Promise<string> {
  const dialog: Locator = page.getByRole('dialog', { name: title });
  await dialog.waitFor();
  await expectNoAxeViolations(page, `the "${title}" dialog`);
  const value = await dialog.getByLabel('Secret').inputValue();
  await dialog.getByRole('button', { name: 'Close' }).click();
  await dialog.waitFor({ state: 'detached' });
  return value;
}
