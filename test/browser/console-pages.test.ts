/**
 * The console beyond the key flows, in headless Chromium against the real server: every main
 * page passes axe-core (and works: groups from the permission catalogue, structure, users,
 * audit, runs); the generate flow works from the keyboard alone; a member is not offered what
 * the API would refuse; the session lives in sessionStorage only and ends with the server's
 * KEYGATE_SESSION_TTL_MINUTES; requests pass keygate's CSRF rule unchanged.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db } from '../../src/db.js';
import { isolatedContext, launchBrowser, skipWithoutBrowser } from '../helpers/browser.js';
import { allowClipboard, expectNoAxeViolations, gql, recordPageProblems, signInThroughForm, startConsoleServer, type ConsoleServer } from '../helpers/console.js';
import { createAuthorizationGroup } from '../../src/modules/authorization-group/authorization-group.service.js';
import { PASSWORD, seedTenant, signedIn } from '../helpers/seed.js';

const SESSION_TTL_MINUTES = 30;

describe.skipIf(skipWithoutBrowser())('console: pages, accessibility, keyboard, permissions, session', () => {
  let browser: Browser;
  let server: ConsoleServer;
  beforeAll(async () => {
    [browser, server] = await Promise.all([launchBrowser(), startConsoleServer({ KEYGATE_SESSION_TTL_MINUTES: String(SESSION_TTL_MINUTES) })]);
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function newPage() {
    const { context, externalRequests } = await isolatedContext(browser, server.baseUrl);
    await allowClipboard(context, server.baseUrl);
    const page = await context.newPage();
    const problems = await recordPageProblems(page);
    return { context, page, externalRequests, problems };
  }

  it('every main page works and has no axe-core violations (tenant admin)', { timeout: 180_000 }, async () => {
    const seed = await seedTenant();
    const key = await seed.createKey({ name: 'Order sync' });
    const run = await gql(server.baseUrl, 'mutation($p: ID!, $w: ID!) { triggerWorkflow(input: { projectId: $p, workflowId: $w, input: { orderId: 42 } }) { id } }', { key: key.secret }, { p: seed.project.id, w: seed.workflow.id });
    expect(run.errors).toBeUndefined();
    const { context, page, externalRequests, problems } = await newPage();

    await page.goto(`${server.baseUrl}/console/`);
    await page.getByRole('heading', { name: 'keygate console' }).waitFor();
    await expectNoAxeViolations(page, 'the sign-in page');
    await signInThroughForm(page, server.baseUrl, seed.admin.user.email, PASSWORD);
    await page.getByRole('row', { name: /Order sync/ }).waitFor();
    await expectNoAxeViolations(page, 'API keys');

    // Authorization groups: permissions picked from the catalogue, each with its description.
    await openPage(page, 'Authorization groups');
    await page.getByRole('row', { name: new RegExp(seed.keyGroup.name) }).waitFor();
    await expectNoAxeViolations(page, 'Authorization groups');
    await page.getByRole('button', { name: 'Create group' }).click();
    const groupDialog = page.getByRole('dialog', { name: 'Create authorization group' });
    const readKeys = groupDialog.getByRole('checkbox', { name: 'api_keys:read' });
    expect(await readKeys.getAttribute('aria-describedby')).toBeTruthy();
    expect(await groupDialog.innerText()).toContain('List and read API keys (never their secrets)');
    await expectNoAxeViolations(page, 'the group dialog');
    await groupDialog.getByLabel('Name').fill('Auditors');
    await groupDialog.getByLabel('Type').selectOption('USER');
    await readKeys.check();
    await groupDialog.getByRole('checkbox', { name: 'audit:read' }).check();
    await groupDialog.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('row', { name: /Auditors/ }).waitFor();
    const group = await db.authorizationGroup.findFirstOrThrow({ where: { tenantId: seed.tenant.id, name: 'Auditors' } });
    expect([...(group.permissions as string[])].sort()).toEqual(['api_keys:read', 'audit:read']);

    // Organizations, workspaces and projects.
    await openPage(page, 'Organizations');
    await page.getByRole('row', { name: /^Main organization/ }).waitFor();
    await expectNoAxeViolations(page, 'Organizations');
    await page.getByLabel('New organization: name').fill('Acme EU');
    await page.getByRole('form', { name: 'New organization' }).getByRole('button', { name: 'Create' }).click();
    await page.getByRole('row', { name: /Acme EU/ }).waitFor();
    await page.getByLabel('New project: name').fill('Checkout');
    await page.getByRole('form', { name: 'New project' }).getByRole('button', { name: 'Create' }).click();
    await page.getByRole('row', { name: /Checkout/ }).waitFor();
    expect(await db.project.count({ where: { tenantId: seed.tenant.id, name: 'Checkout' } })).toBe(1);
    expect(await db.organization.count({ where: { tenantId: seed.tenant.id, name: 'Acme EU' } })).toBe(1);
    await page.getByRole('button', { name: 'Delete Checkout' }).click();
    const confirmDelete = page.getByRole('dialog', { name: 'Delete project Checkout' });
    expect(await confirmDelete.innerText()).toContain('This cannot be undone.');
    await expectNoAxeViolations(page, 'the delete dialog');
    await confirmDelete.getByRole('button', { name: 'Delete' }).click();
    await confirmDelete.waitFor({ state: 'detached' });
    await expect.poll(() => db.project.count({ where: { tenantId: seed.tenant.id, name: 'Checkout' } })).toBe(0);

    // Users: an API error lands next to its field (extensions.field), then a user is created.
    await openPage(page, 'Users');
    await page.getByRole('row', { name: new RegExp(seed.member.user.email) }).waitFor();
    await expectNoAxeViolations(page, 'Users');
    const email = `auditor-${seed.tenant.id.slice(0, 6)}@example.test`;
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('short');
    await page.getByLabel('Authorization group').selectOption({ label: 'Auditors' });
    await page.getByRole('button', { name: 'Create user' }).click();
    await expect.poll(() => page.locator('#user-password-error').count()).toBe(1);
    expect(await page.getByLabel('Password').getAttribute('aria-invalid')).toBe('true');
    await expectNoAxeViolations(page, 'Users with a field error');
    await page.getByLabel('Password').fill('a-long-enough-password');
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('row', { name: new RegExp(email) }).waitFor();
    expect((await db.user.findFirstOrThrow({ where: { tenantId: seed.tenant.id, email } })).authorizationGroupId).toBe(group.id);
    await page.getByRole('button', { name: `Edit ${email}` }).click();
    const editUser = page.getByRole('dialog', { name: `Edit user ${email}` });
    await expectNoAxeViolations(page, 'the edit-user dialog');
    await editUser.getByLabel('Role').selectOption('TENANT_ADMIN');
    await editUser.getByLabel('Authorization group').selectOption('');
    await editUser.getByRole('button', { name: 'Save' }).click();
    await editUser.waitFor({ state: 'detached' });
    await expect.poll(async () => (await db.user.findFirstOrThrow({ where: { tenantId: seed.tenant.id, email } })).role).toBe('TENANT_ADMIN');
    expect((await db.user.findFirstOrThrow({ where: { tenantId: seed.tenant.id, email } })).authorizationGroupId).toBeNull();

    // Audit log.
    await openPage(page, 'Audit log');
    await page.getByRole('row', { name: /user\.created/ }).first().waitFor();
    await expectNoAxeViolations(page, 'Audit log');

    // Workflow runs, with a row's details expanded.
    await openPage(page, 'Workflow runs');
    const runRow = page.getByRole('row', { name: /Sync orders/ });
    await runRow.waitFor();
    expect(await runRow.innerText()).toContain('key Order sync');
    await runRow.getByRole('button', { name: /Show/ }).click();
    await expect.poll(() => page.locator('.run-details').innerText()).toContain('"orderId": 42');
    await expectNoAxeViolations(page, 'Workflow runs');

    // A reload keeps the page (keygate serves the console for each of its paths).
    await page.reload();
    await page.getByRole('heading', { name: 'Workflow runs' }).waitFor();

    expect(externalRequests).toEqual([]);
    expect(await problems()).toEqual([]);
    await context.close();
  });

  it('generates a key, copies its secret and closes the dialog with the keyboard alone', { timeout: 90_000 }, async () => {
    const seed = await seedTenant();
    const { context, page, problems } = await newPage();
    await page.goto(`${server.baseUrl}/console/`);
    await page.getByLabel('Email').waitFor();

    await tabTo(page, 'Email');
    await page.keyboard.type(seed.admin.user.email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('navigation', { name: 'Console' }).waitFor();
    await expect.poll(() => page.locator('.usage').innerText()).toBe('0/10 keys');

    await tabTo(page, 'Generate API Key');
    await page.keyboard.press('Enter');
    await page.getByRole('dialog', { name: 'Generate API Key' }).waitFor();
    expect(await focusedName(page)).toBe('Key Name'); // showModal moved focus into the form
    await page.keyboard.type('Keyboard key');
    // The groups arrive by their own query after the dialog opens: a keyboard user waits for them too.
    const groupSelect = page.getByRole('dialog', { name: 'Generate API Key' }).getByLabel('Authorization Group');
    await expect.poll(() => groupSelect.locator('option').count()).toBeGreaterThan(1);
    await tabTo(page, 'Authorization Group');
    await page.keyboard.press('ArrowDown'); // the first group after the placeholder
    expect(await groupSelect.inputValue()).toBe(seed.keyGroup.id);
    await tabTo(page, 'Generate');
    await page.keyboard.press('Enter');

    const secretDialog = page.getByRole('dialog', { name: 'API key Keyboard key generated' });
    const secret = await secretDialog.getByLabel('Secret').inputValue();
    await tabTo(page, 'Copy secret');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    await page.keyboard.press('Escape');
    await secretDialog.waitFor({ state: 'detached' });
    await page.getByRole('row', { name: /Keyboard key/ }).waitFor();
    expect(await page.content()).not.toContain(secret);
    expect(await db.apiKey.count({ where: { tenantId: seed.tenant.id, name: 'Keyboard key', authorizationGroupId: seed.keyGroup.id } })).toBe(1);
    expect(await problems()).toEqual([]);
    await context.close();
  });

  it('generates a key bound to an organization with selected projects', { timeout: 60_000 }, async () => {
    const seed = await seedTenant();
    const { context, page, problems } = await newPage();
    await signInThroughForm(page, server.baseUrl, seed.admin.user.email, PASSWORD);
    await page.getByRole('button', { name: 'Generate API Key' }).click();
    const form = page.getByRole('dialog', { name: 'Generate API Key' });
    await form.getByLabel('Key Name').fill('Checkout only');
    await form.getByLabel('Authorization Group').selectOption({ label: seed.keyGroup.name });
    await form.getByLabel('Expiration', { exact: true }).selectOption('DATE');
    await form.getByLabel('Expiration Date').fill('2001-01-01');
    await form.getByLabel('Organization').selectOption({ label: seed.organization.name });
    await form.getByLabel('Project Access').selectOption('SELECTED');
    await form.getByRole('button', { name: 'Generate' }).click();
    await expect.poll(() => page.locator('#expiresAt-error').innerText()).toBe('The expiration date must be in the future.');
    expect(await page.locator('#projectIds-error').innerText()).toBe('Select at least one project.');
    await expectNoAxeViolations(page, 'the generate form with its optional fields');
    await form.getByLabel('Expiration Date').fill(`${new Date().getUTCFullYear() + 1}-06-30`);
    await form.getByRole('checkbox', { name: new RegExp(seed.project.name) }).check();
    await form.getByRole('button', { name: 'Generate' }).click();
    await page.getByRole('dialog', { name: 'API key Checkout only generated' }).getByRole('button', { name: 'Close' }).click();
    const row = page.getByRole('row', { name: /Checkout only/ });
    expect(await row.innerText()).toContain(`${seed.organization.name} only`);
    const key = await db.apiKey.findFirstOrThrow({ where: { tenantId: seed.tenant.id, name: 'Checkout only' }, include: { projects: true } });
    expect(key.organizationId).toBe(seed.organization.id);
    expect(key.projectAccess).toBe('SELECTED');
    expect(key.projects.map((p) => p.projectId)).toEqual([seed.project.id]);
    expect(key.expiresAt?.toISOString()).toBe(`${new Date().getUTCFullYear() + 1}-06-30T23:59:59.000Z`);
    expect(await problems()).toEqual([]);
    await context.close();
  });

  it('offers a member only what the member may do, and the API still refuses the rest', { timeout: 60_000 }, async () => {
    const seed = await seedTenant();
    await seed.createKey({ name: 'Read-only view' });
    const { context, page, problems } = await newPage();
    await signInThroughForm(page, server.baseUrl, seed.member.user.email, PASSWORD);
    await page.getByRole('row', { name: /Read-only view/ }).waitFor();
    expect(await page.getByRole('button', { name: 'Generate API Key' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /^(Edit|Rotate|Revoke) / }).count()).toBe(0);
    expect(await page.getByRole('columnheader', { name: 'Actions' }).count()).toBe(0);
    const nav = await page.getByRole('navigation', { name: 'Console' }).innerText();
    expect(nav).not.toContain('Users');
    expect(nav).not.toContain('Audit log');
    await expectNoAxeViolations(page, 'API keys as a member');

    const token = await sessionToken(page);
    const refused = await gql(server.baseUrl, 'mutation($g: ID!) { createApiKey(input: { name: "Not mine", authorizationGroupId: $g }) { secret } }', { token }, { g: seed.keyGroup.id });
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    // A page the navigation does not offer, opened by its address, is not shown either.
    for (const path of ['users', 'audit', 'webhooks']) {
      await page.goto(`${server.baseUrl}/console/${path}`);
      await page.getByRole('heading', { name: 'Not available' }).waitFor();
      expect(await page.getByRole('button', { name: /Create user|Add endpoint/ }).count()).toBe(0);
      expect(await page.getByRole('alert').count()).toBe(0);
    }
    await expectNoAxeViolations(page, 'a page not offered');
    await page.getByRole('link', { name: 'Go to API keys' }).click();
    await page.getByRole('row', { name: /Read-only view/ }).waitFor();
    expect(await problems()).toEqual([]);
    await context.close();
  });

  it('offers only what the viewer could give: key and user groups, roles, permissions, Edit and Rotate on keys, Edit and Deactivate on users; no one Deactivate on their own row', { timeout: 60_000 }, async () => {
    const seed = await seedTenant();
    const managers = await createAuthorizationGroup(seed.platform.principal, { tenantId: seed.tenant.id, name: 'Key managers', type: 'USER', permissions: ['api_keys:read', 'api_keys:manage'] });
    const readOnlyKeys = await createAuthorizationGroup(seed.platform.principal, { tenantId: seed.tenant.id, name: 'Readers', type: 'TENANT_API_KEY', permissions: ['api_keys:read'] });
    await seed.createKey({ name: 'Within reach', authorizationGroupId: readOnlyKeys.id });
    const beyond = await seed.createKey({ name: 'Beyond reach' }); // its group triggers workflows, which the manager cannot
    const manager = await signedIn(seed.tenant.id, 'MEMBER', managers.id);
    const { context, page, problems } = await newPage();
    await signInThroughForm(page, server.baseUrl, manager.user.email, PASSWORD);
    await page.getByRole('row', { name: /Beyond reach/ }).waitFor();
    for (const action of ['Edit', 'Rotate', 'Revoke']) expect(await page.getByRole('button', { name: `${action} Within reach` }).count(), action).toBe(1);
    expect(await page.getByRole('button', { name: 'Edit Beyond reach' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Rotate Beyond reach' }).count()).toBe(0);
    // What was not offered, the API refuses; Revoke only takes power away and stays offered.
    const refused = await gql(server.baseUrl, 'mutation($id: ID!) { rotateApiKey(id: $id) { secret } }', { token: await sessionToken(page) }, { id: beyond.id });
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    await page.getByRole('button', { name: 'Revoke Beyond reach' }).click();
    await page.getByRole('dialog', { name: 'Revoke API Key' }).getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(async () => (await db.apiKey.findUniqueOrThrow({ where: { id: beyond.id } })).status).toBe('REVOKED');
    expect(await problems()).toEqual([]);
    await context.close();

    // A manager who may manage users, groups and keys, but holds little: offered what it could give only.
    const powerful = await createAuthorizationGroup(seed.platform.principal, { tenantId: seed.tenant.id, name: 'Auditors', type: 'USER', permissions: ['audit:read'] });
    const limited = await createAuthorizationGroup(seed.platform.principal, { tenantId: seed.tenant.id, name: 'Limited managers', type: 'USER', permissions: ['api_keys:read', 'api_keys:manage', 'users:manage', 'authorization_groups:manage'] });
    const managerOfUsers = await signedIn(seed.tenant.id, 'MEMBER', limited.id);
    const other = await newPage();
    await signInThroughForm(other.page, server.baseUrl, managerOfUsers.user.email, PASSWORD);
    await other.page.getByRole('button', { name: 'Generate API Key' }).click();
    const generate = other.page.getByRole('dialog', { name: 'Generate API Key' });
    await expect.poll(() => generate.getByLabel('Authorization Group').innerText()).toContain('Readers');
    expect(await generate.getByLabel('Authorization Group').innerText()).not.toContain(seed.keyGroup.name); // it triggers workflows
    await other.page.keyboard.press('Escape');
    await openPage(other.page, 'Users');
    await other.page.getByRole('row', { name: new RegExp(seed.member.user.email) }).waitFor();
    expect(await other.page.getByRole('button', { name: `Edit ${seed.admin.user.email}` }).count()).toBe(0); // a tenant administrator
    expect(await other.page.getByRole('button', { name: `Deactivate ${seed.admin.user.email}` }).count()).toBe(0);
    const newUser = other.page.getByRole('form', { name: 'New user' });
    expect(await newUser.getByLabel('Role').locator('option').allInnerTexts()).toEqual(['Member']);
    expect(await newUser.getByLabel('Authorization group').innerText()).not.toContain(powerful.name);
    await openPage(other.page, 'Authorization groups');
    await other.page.getByRole('button', { name: 'Create group' }).click();
    const createGroup = other.page.getByRole('dialog', { name: 'Create authorization group' });
    expect(await createGroup.getByRole('checkbox', { name: 'audit:read' }).isDisabled()).toBe(true);
    expect(await createGroup.getByRole('checkbox', { name: 'api_keys:read' }).isDisabled()).toBe(false);
    expect(await other.problems()).toEqual([]);
    await other.context.close();

    const admin = await newPage();
    await signInThroughForm(admin.page, server.baseUrl, seed.admin.user.email, PASSWORD);
    await openPage(admin.page, 'Users');
    await admin.page.getByRole('button', { name: `Deactivate ${seed.member.user.email}` }).waitFor();
    expect(await admin.page.getByRole('button', { name: `Deactivate ${seed.admin.user.email}` }).count()).toBe(0);
    expect(await admin.page.getByRole('button', { name: `Edit ${seed.admin.user.email}` }).count()).toBe(1);
    expect(await admin.problems()).toEqual([]);
    await admin.context.close();
  });

  it('a wrong password shows the sign-in error only, never "your session has ended"', { timeout: 60_000 }, async () => {
    const seed = await seedTenant();
    const { context, page } = await newPage();
    await page.goto(`${server.baseUrl}/console/`);
    await page.getByLabel('Email').fill(seed.admin.user.email);
    await page.getByLabel('Password').fill('not-the-password');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('alert').allInnerTexts()).toEqual([expect.stringContaining('Invalid email or password')]);
    expect(await page.content()).not.toContain('session has ended');
    await context.close();
  });

  it('what is made on one page is offered by the others without a reload', { timeout: 90_000 }, async () => {
    const seed = await seedTenant();
    const { context, page, problems } = await newPage();
    await signInThroughForm(page, server.baseUrl, seed.admin.user.email, PASSWORD);
    // Every form that offers groups and organizations is opened once first, so their choices are cached.
    await page.getByRole('button', { name: 'Generate API Key' }).click();
    await page.getByRole('dialog', { name: 'Generate API Key' }).getByLabel('Organization').waitFor();
    await page.keyboard.press('Escape');
    await openPage(page, 'Users');
    await page.getByRole('row', { name: new RegExp(seed.member.user.email) }).waitFor();
    await openPage(page, 'Webhook endpoints');
    await page.getByRole('heading', { name: 'Webhook endpoints' }).waitFor();

    await openPage(page, 'Authorization groups');
    for (const [name, type] of [['Fresh keys', 'TENANT_API_KEY'], ['Fresh users', 'USER']]) {
      await page.getByRole('button', { name: 'Create group' }).click();
      const dialog = page.getByRole('dialog', { name: 'Create authorization group' });
      await dialog.getByLabel('Name').fill(name!);
      await dialog.getByLabel('Type').selectOption(type!);
      await dialog.getByRole('checkbox', { name: 'api_keys:read' }).check();
      await dialog.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('row', { name: new RegExp(name!) }).waitFor();
    }
    await openPage(page, 'Organizations');
    await page.getByLabel('New organization: name').fill('Fresh org');
    await page.getByRole('form', { name: 'New organization' }).getByRole('button', { name: 'Create' }).click();
    await page.getByRole('row', { name: /Fresh org/ }).waitFor();

    await openPage(page, 'API keys');
    await page.getByRole('button', { name: 'Generate API Key' }).click();
    const form = page.getByRole('dialog', { name: 'Generate API Key' });
    await expect.poll(() => form.getByLabel('Authorization Group').innerText()).toContain('Fresh keys');
    await expect.poll(() => form.getByLabel('Organization').innerText()).toContain('Fresh org');
    await page.keyboard.press('Escape');
    await openPage(page, 'Users');
    await expect.poll(() => page.getByLabel('Authorization group').innerText()).toContain('Fresh users');
    await openPage(page, 'Webhook endpoints');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await expect.poll(() => page.getByRole('dialog').getByLabel('Organization').innerText()).toContain('Fresh org');
    await page.keyboard.press('Escape');

    // A parent picked, then deleted: the form creates under the one it shows instead.
    await openPage(page, 'Organizations');
    const newWorkspace = page.getByRole('form', { name: 'New workspace' });
    await newWorkspace.getByLabel('Organization').selectOption({ label: 'Fresh org' });
    await page.getByRole('button', { name: 'Delete Fresh org' }).click();
    await page.getByRole('dialog', { name: 'Delete organization Fresh org' }).getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => db.organization.count({ where: { tenantId: seed.tenant.id, name: 'Fresh org' } })).toBe(0);
    await expect.poll(() => newWorkspace.getByLabel('Organization').innerText()).not.toContain('Fresh org');
    await page.getByLabel('New workspace: name').fill('Shown parent');
    await newWorkspace.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('row', { name: /Shown parent/ }).waitFor();
    expect((await db.workspace.findFirstOrThrow({ where: { tenantId: seed.tenant.id, name: 'Shown parent' } })).organizationId).toBe(seed.organization.id);
    expect(await problems()).toEqual([]);
    await context.close();
  });

  it('lists past the API’s 100 rows a page: every project shown and offered, users by pages, deactivation confirmed', { timeout: 90_000 }, async () => {
    const seed = await seedTenant();
    await db.project.createMany({
      data: Array.from({ length: 104 }, (_, i) => ({ tenantId: seed.tenant.id, organizationId: seed.organization.id, workspaceId: seed.workspace.id, name: `Bulk ${String(i).padStart(3, '0')}`, slug: `bulk-${i}` })),
    });
    await db.user.createMany({
      data: Array.from({ length: 100 }, (_, i) => ({ tenantId: seed.tenant.id, email: `bulk-${i}-${seed.tenant.id}@example.test`, passwordHash: 'not-a-usable-hash' })),
    });
    const { context, page, problems } = await newPage();
    await signInThroughForm(page, server.baseUrl, seed.admin.user.email, PASSWORD);

    await openPage(page, 'Organizations');
    await page.getByRole('heading', { name: 'Projects (105)' }).waitFor();
    expect(await page.getByRole('table', { name: 'Projects' }).getByRole('row').count()).toBe(106); // with its header
    await page.getByRole('row', { name: /Bulk 103/ }).waitFor();

    await openPage(page, 'API keys');
    await page.getByRole('button', { name: 'Generate API Key' }).click();
    const form = page.getByRole('dialog', { name: 'Generate API Key' });
    await form.getByLabel('Project Access').selectOption('SELECTED');
    await expect.poll(() => form.getByRole('checkbox').count()).toBe(105);
    await page.keyboard.press('Escape');

    await openPage(page, 'Users');
    const users = page.getByRole('table', { name: 'Users' }).getByRole('row');
    await expect.poll(() => page.locator('.pager').innerText()).toContain('102 user(s)');
    expect(await users.count()).toBe(101); // 100 and the header
    const memberOnFirstPage = (await page.getByRole('button', { name: `Deactivate ${seed.member.user.email}` }).count()) === 1;
    await page.getByRole('button', { name: 'Next page' }).click();
    await expect.poll(() => users.count()).toBe(3);
    if (memberOnFirstPage) await page.getByRole('button', { name: 'Previous page' }).click();

    await page.getByRole('button', { name: `Deactivate ${seed.member.user.email}` }).click();
    const confirm = page.getByRole('dialog', { name: `Deactivate ${seed.member.user.email}` });
    await expectNoAxeViolations(page, 'the deactivate dialog');
    expect((await db.user.findUniqueOrThrow({ where: { id: seed.member.user.id } })).deactivatedAt).toBeNull();
    await confirm.getByRole('button', { name: 'Deactivate' }).click();
    await confirm.waitFor({ state: 'detached' });
    expect((await db.user.findUniqueOrThrow({ where: { id: seed.member.user.id } })).deactivatedAt).not.toBeNull();
    expect(await problems()).toEqual([]);
    await context.close();
  });

  it('revoking the only key on the last page of keys steps back to the page before', { timeout: 60_000 }, async () => {
    const seed = await seedTenant({ apiKeyLimit: 100 });
    for (let i = 0; i < 21; i++) await seed.createKey({ name: `Paged ${String(i).padStart(2, '0')}` });
    const { context, page, problems } = await newPage();
    await signInThroughForm(page, server.baseUrl, seed.admin.user.email, PASSWORD);
    await page.getByRole('row', { name: /Paged/ }).first().waitFor();
    await page.getByRole('button', { name: 'Next page' }).click();
    const lastOne = page.getByRole('button', { name: /^Revoke Paged/ });
    await expect.poll(() => lastOne.count()).toBe(1);
    await lastOne.click();
    await page.getByRole('dialog', { name: 'Revoke API Key' }).getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(() => page.getByRole('button', { name: /^Revoke Paged/ }).count()).toBe(20);
    expect(await page.getByRole('button', { name: 'Previous page' }).isDisabled()).toBe(true);
    expect(await page.getByText('No keys match these filters.').count()).toBe(0);
    expect(await problems()).toEqual([]);
    await context.close();
  });

  it('a refusal the form has no field for is shown on top (a key revoked while its edit dialog was open); focus stays on the page', { timeout: 60_000 }, async () => {
    const seed = await seedTenant();
    const key = await seed.createKey({ name: 'Meanwhile revoked' });
    await seed.createKey({ name: 'Revoked by keyboard' });
    const { context, page, problems } = await newPage();
    await signInThroughForm(page, server.baseUrl, seed.admin.user.email, PASSWORD);
    await page.getByRole('button', { name: 'Edit Meanwhile revoked' }).click();
    const editForm = page.getByRole('dialog', { name: 'Edit API Key Meanwhile revoked' });
    const revoked = await gql(server.baseUrl, 'mutation($id: ID!) { revokeApiKey(id: $id) { status } }', { token: seed.admin.token }, { id: key.id });
    expect(revoked.errors).toBeUndefined();
    await editForm.getByLabel('Description').fill('Edited too late');
    await editForm.getByRole('button', { name: 'Save' }).click();
    await editForm.getByRole('alert').filter({ hasText: 'The key is revoked; revoked keys cannot be edited' }).waitFor();
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).description).toBe('');
    await editForm.getByRole('button', { name: 'Cancel' }).click();

    // Revoked from the keyboard, a key's row (and the button that opened the dialog) leaves the Active list: focus goes to the page, not <body>.
    await page.getByRole('button', { name: 'Revoke Revoked by keyboard' }).focus();
    await page.keyboard.press('Enter');
    const revokeDialog = page.getByRole('dialog', { name: 'Revoke API Key' });
    await revokeDialog.getByRole('button', { name: 'Revoke' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('button', { name: 'Revoke Revoked by keyboard' }).count()).toBe(0);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    expect(await problems()).toEqual([]);
    await context.close();
  });

  it('keeps the session in sessionStorage only, sends what the CSRF rule asks, signs out, and ends at the TTL', { timeout: 90_000 }, async () => {
    const seed = await seedTenant();
    const { context, page } = await newPage();
    await page.clock.install();
    const graphqlRequests: { method: string; headers: Record<string, string> }[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/graphql') graphqlRequests.push({ method: request.method(), headers: request.headers() });
    });
    await signInThroughForm(page, server.baseUrl, seed.admin.user.email, PASSWORD);
    await page.locator('.usage').waitFor();

    const token = await sessionToken(page);
    expect(token).toMatch(/^kgs_/);
    expect(await context.cookies()).toEqual([]);
    expect(await page.evaluate(() => JSON.stringify(localStorage))).not.toContain('kgs_');
    // JSON POSTs with the session as a Bearer header: what src/security/csrf.ts lets through.
    expect(graphqlRequests.length).toBeGreaterThan(1);
    for (const request of graphqlRequests) {
      expect(request.method).toBe('POST');
      expect(request.headers['content-type']).toContain('application/json');
    }
    expect(graphqlRequests.at(-1)!.headers.authorization).toBe(`Bearer ${token}`);
    // The rule itself is unchanged: a GET without the CSRF header is still refused.
    const csrf = await fetch(`${server.baseUrl}/graphql?query=${encodeURIComponent('{ viewer { kind } }')}`);
    expect(csrf.status).toBe(403);

    // Sign out: the server ends the session too.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect((await gql(server.baseUrl, '{ viewer { kind } }', { token })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);

    // The session's expiry is the server's KEYGATE_SESSION_TTL_MINUTES: signed out right after it.
    await signInThroughForm(page, server.baseUrl, seed.admin.user.email, PASSWORD);
    await page.clock.fastForward(`${SESSION_TTL_MINUTES - 1}:00`);
    expect(await page.getByRole('navigation', { name: 'Console' }).count()).toBe(1);
    await page.clock.fastForward('02:00');
    await expect.poll(() => page.getByRole('status').first().innerText()).toBe('Your session has expired. Sign in again.');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await context.close();
  });
});

async function openPage(page: Page, name: string) {
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name }).click();
  await page.getByRole('heading', { level: 1 }).filter({ hasText: name === 'Organizations' ? 'Organizations, workspaces and projects' : name }).waitFor();
}

async function sessionToken(page: Page): Promise<string> {
  return page.evaluate(() => JSON.parse(sessionStorage.getItem('keygate.console.session') ?? '{}').token as string);
}

/** The accessible name of the focused element (its label, or its text for a button). */
async function focusedName(page: Page): Promise<string> {
  return page.evaluate(() => {
    const element = document.activeElement as HTMLElement | null;
    if (!element) return '';
    const labelled = element.getAttribute('aria-label');
    if (labelled) return labelled;
    const label = element.id ? document.querySelector(`label[for="${element.id}"]`) : null;
    return (label?.textContent ?? element.textContent ?? '').replace(/\s*\*$/, '').trim();
  });
}

/** Presses Tab until the element named `name` has the focus (as a keyboard user would). */
async function tabTo(page: Page, name: string) {
  for (let i = 0; i < 60; i++) {
    if ((await focusedName(page)) === name) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached "${name}"`);
}
