/**
 * The seeds' key-management flows in the console, in headless Chromium against the real server
 * process: as a tenant administrator, and as a platform administrator who picks the tenant in
 * the tenant selector. Generate (with field validation from the form and from the API), copy
 * the one-time secret, see it masked afterwards, filter, edit, rotate (the old secret is then
 * refused by the API), revoke, and the "10/10 keys" limit with the seeds' message.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedContext, launchBrowser, skipWithoutBrowser } from '../helpers/browser.js';
import { allowClipboard, expectNoAxeViolations, gql, keyVerdict, recordPageProblems, signInThroughForm, startConsoleServer, type ConsoleServer } from '../helpers/console.js';
import { PASSWORD, seedTenant, type Seed } from '../helpers/seed.js';
import { db } from '../../src/db.js';

const REVOKE_WARNING = (name: string) =>
  `Are you sure you want to revoke the API key ${name}? This action cannot be undone and any applications using this key will lose access immediately.`;

describe.skipIf(skipWithoutBrowser())('console: API keys, the seed flows', () => {
  let browser: Browser;
  let server: ConsoleServer;
  beforeAll(async () => {
    [browser, server] = await Promise.all([launchBrowser(), startConsoleServer()]);
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('a tenant admin generates, copies, filters, edits, rotates and revokes keys, up to the limit', { timeout: 180_000 }, async () => {
    const seed = await seedTenant();
    await keyFlows(seed, async (page) => signInThroughForm(page, server.baseUrl, seed.admin.user.email, PASSWORD));
  });

  it('a platform admin does the same in a tenant picked from the tenant selector', { timeout: 180_000 }, async () => {
    const seed = await seedTenant();
    await keyFlows(seed, async (page) => {
      await signInThroughForm(page, server.baseUrl, seed.platform.user.email, PASSWORD);
      await page.getByLabel('Tenant', { exact: true }).selectOption(seed.tenant.id);
      await expect.poll(() => page.locator('main').innerText()).toContain(`Keys of tenant ${seed.tenant.name}`);
    });
  });

  async function keyFlows(seed: Seed, signIn: (page: Page) => Promise<void>) {
    const base = server.baseUrl;
    const { context, externalRequests } = await isolatedContext(browser, base);
    await allowClipboard(context, base);
    const page = await context.newPage();
    const problems = await recordPageProblems(page);
    await signIn(page);
    const main = page.locator('main');

    await expect.poll(() => page.locator('.usage').innerText()).toBe('0/10 keys');
    await expectNoAxeViolations(page, 'the API keys page');

    // Generate: the form's own checks first, then an error only the API finds (extensions.field).
    await page.getByRole('button', { name: 'Generate API Key' }).click();
    const form = page.getByRole('dialog', { name: 'Generate API Key' });
    await form.getByRole('button', { name: 'Generate' }).click();
    await expect.poll(() => fieldError(page, 'name')).toBe('Key Name must be 2–200 characters.');
    expect(await fieldError(page, 'authorizationGroupId')).toBe('Select an authorization group.');
    await form.getByLabel('Key Name').fill('ERP Integration');
    await form.getByLabel('Description').fill('Nightly order sync');
    await form.getByLabel('Authorization Group').selectOption({ label: seed.keyGroup.name });
    await form.getByLabel('IP Allowlist').fill('203.0.113.0/24\nnot-an-address');
    await form.getByRole('button', { name: 'Generate' }).click();
    await expect.poll(() => fieldError(page, 'ipAllowlist')).toMatch(/not-an-address/);
    expect(await page.getByLabel('IP Allowlist').getAttribute('aria-invalid')).toBe('true');
    await expectNoAxeViolations(page, 'the generate form with errors');
    expect(await db.apiKey.count({ where: { tenantId: seed.tenant.id } })).toBe(0);
    await form.getByLabel('IP Allowlist').fill('');
    await form.getByRole('button', { name: 'Generate' }).click();

    // The one-time secret: copied with the button, then gone from the page for good.
    const secretDialog = page.getByRole('dialog', { name: 'API key ERP Integration generated' });
    const secret = await secretDialog.getByLabel('Secret').inputValue();
    expect(secret).toMatch(/^kg_/);
    expect(await secretDialog.innerText()).toContain('it will not be shown again');
    await expectNoAxeViolations(page, 'the one-time secret dialog');
    await secretDialog.getByRole('button', { name: 'Copy secret' }).click();
    await expect.poll(() => secretDialog.getByRole('status').innerText()).toBe('Copied to the clipboard.');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    expect(await keyVerdict(base, secret)).toBe('API_KEY');
    await secretDialog.getByRole('button', { name: 'Close' }).click();
    const row = main.getByRole('row', { name: /ERP Integration/ });
    await row.waitFor();
    const stored = await db.apiKey.findFirstOrThrow({ where: { tenantId: seed.tenant.id, name: 'ERP Integration' } });
    expect(await row.innerText()).toContain(`${stored.prefix}…`);
    expect(await row.innerText()).toContain('Active');
    expect(await row.innerText()).toContain(seed.keyGroup.name);
    expect(await page.content()).not.toContain(secret);
    expect(await page.locator('.usage').innerText()).toBe('1/10 keys');

    // Filters: expiration state, status and "Show revoked".
    const soon = await seed.createKey({ name: 'Expiring partner key', expiresAt: new Date(Date.now() + 2 * 24 * 3600_000) });
    await page.reload();
    await row.waitFor();
    await page.getByLabel('Expiration', { exact: true }).selectOption('EXPIRING_SOON');
    await expect.poll(() => rowNames(page)).toEqual(['Expiring partner key']);
    expect(await main.getByRole('row', { name: /Expiring partner key/ }).innerText()).toContain('Expiring soon');
    await page.getByLabel('Expiration', { exact: true }).selectOption('VALID');
    await expect.poll(() => rowNames(page)).toEqual(['ERP Integration']);
    await page.getByLabel('Expiration', { exact: true }).selectOption('');
    await page.getByLabel('Status').selectOption('REVOKED');
    await expect.poll(() => main.locator('tbody').innerText()).toContain('No keys match these filters.');
    await page.getByLabel('Status').selectOption('');
    await expect.poll(() => rowNames(page)).toEqual(['Expiring partner key', 'ERP Integration']);

    // Edit: the secret is untouched.
    await page.getByRole('button', { name: 'Edit ERP Integration' }).click();
    const editForm = page.getByRole('dialog', { name: 'Edit API Key ERP Integration' });
    expect(await editForm.getByLabel('Key Name').inputValue()).toBe('ERP Integration');
    expect(await editForm.getByLabel('Expiration', { exact: true }).count()).toBe(0);
    await editForm.getByLabel('Key Name').fill('ERP Integration EU');
    await editForm.getByLabel('IP Allowlist').fill('10.0.0.0/8\n127.0.0.1');
    await editForm.getByRole('button', { name: 'Save' }).click();
    await main.getByRole('row', { name: /ERP Integration EU/ }).waitFor();
    const edited = await db.apiKey.findUniqueOrThrow({ where: { id: stored.id } });
    expect(edited.name).toBe('ERP Integration EU');
    expect(edited.ipAllowlist).toEqual(['10.0.0.0/8', '127.0.0.1']);
    expect(await keyVerdict(base, secret)).toBe('API_KEY');

    // Rotate: the seeds' warning, a new one-time secret, and the old one refused at once.
    await page.getByRole('button', { name: 'Rotate ERP Integration EU' }).click();
    const rotate = page.getByRole('dialog', { name: 'Rotate API Key ERP Integration EU' });
    expect(await rotate.innerText()).toContain('All applications using the current secret will lose access immediately.');
    await expectNoAxeViolations(page, 'the rotate dialog');
    await rotate.getByRole('button', { name: 'Rotate' }).click();
    const newSecretDialog = page.getByRole('dialog', { name: 'New secret for ERP Integration EU' });
    const newSecret = await newSecretDialog.getByLabel('Secret').inputValue();
    expect(newSecret).not.toBe(secret);
    await newSecretDialog.getByRole('button', { name: 'Copy secret' }).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(newSecret);
    await newSecretDialog.getByRole('button', { name: 'Close' }).click();
    expect(await keyVerdict(base, secret)).toBe('UNAUTHENTICATED');
    expect(await keyVerdict(base, newSecret)).toBe('API_KEY');
    expect(await page.content()).not.toContain(newSecret);

    // Rotate with a grace: the secret it replaces keeps working for the hour chosen.
    await page.getByRole('button', { name: 'Rotate ERP Integration EU' }).click();
    await rotate.getByLabel('The current secret keeps working').selectOption('60');
    expect(await rotate.innerText()).toContain('Applications using the current secret keep access for 1 hour, then lose it');
    await rotate.getByRole('button', { name: 'Rotate' }).click();
    const gracedSecretDialog = page.getByRole('dialog', { name: 'New secret for ERP Integration EU' });
    const gracedSecret = await gracedSecretDialog.getByLabel('Secret').inputValue();
    await gracedSecretDialog.getByRole('button', { name: 'Close' }).click();
    expect(await keyVerdict(base, newSecret)).toBe('API_KEY');
    expect(await keyVerdict(base, gracedSecret)).toBe('API_KEY');
    const graced = await db.apiKey.findUniqueOrThrow({ where: { id: stored.id } });
    expect(graced.previousSecretExpiresAt!.getTime() - Date.now()).toBeGreaterThan(55 * 60_000);

    // Revoke: the seeds' confirmation, then Revoked in the list with "Show revoked".
    await page.getByRole('button', { name: 'Revoke ERP Integration EU' }).click();
    const revoke = page.getByRole('dialog', { name: 'Revoke API Key' });
    expect(await revoke.innerText()).toContain(REVOKE_WARNING('ERP Integration EU'));
    await expectNoAxeViolations(page, 'the revoke dialog');
    await revoke.getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(() => rowNames(page)).toEqual(['Expiring partner key']);
    expect(await keyVerdict(base, newSecret)).toBe('UNAUTHENTICATED'); // the grace ends with the key
    expect(await keyVerdict(base, gracedSecret)).toBe('UNAUTHENTICATED');
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: stored.id } })).status).toBe('REVOKED');
    await page.getByLabel('Show revoked').check();
    await expect.poll(() => rowNames(page)).toEqual(['Expiring partner key', 'ERP Integration EU']);
    const revokedRow = main.getByRole('row', { name: /ERP Integration EU/ });
    expect(await revokedRow.innerText()).toContain('Revoked');
    expect(await revokedRow.getByRole('button').count()).toBe(0);
    expect(await page.locator('.usage').innerText()).toBe('1/10 keys');

    // The limit: at 10 active keys the header says 10/10, and Generate gives way to the message.
    for (let i = 0; i < 9; i++) await seed.createKey({ name: `Filler ${i}` });
    void soon;
    await page.reload();
    await expect.poll(() => page.locator('.usage').innerText()).toBe('10/10 keys');
    const limit = page.locator('#key-limit');
    expect(await limit.innerText()).toContain('Keys count toward a tenant limit. Contact support to raise the limit');
    expect(await page.getByRole('button', { name: 'Generate API Key' }).isDisabled()).toBe(true);
    // And the API agrees, should anyone try without the console.
    const refused = await gql(base, 'mutation($g: ID!, $t: ID) { createApiKey(input: { name: "One too many", authorizationGroupId: $g, tenantId: $t }) { secret } }', { token: seed.platform.token }, { g: seed.keyGroup.id, t: seed.tenant.id });
    expect(refused.errors?.[0]?.extensions?.code).toBe('KEY_LIMIT_REACHED');
    await expectNoAxeViolations(page, 'the API keys page at its limit');

    expect(externalRequests).toEqual([]);
    expect(await problems()).toEqual([]);
    await context.close();
  }
});

async function fieldError(page: Page, field: string): Promise<string> {
  const error = page.locator(`#${field}-error`);
  return (await error.count()) ? error.innerText() : '';
}

async function rowNames(page: Page): Promise<string[]> {
  return page.locator('main tbody tr th[scope=row]').evaluateAll((cells) => cells.map((c) => c.childNodes[0]?.textContent ?? ''));
}
