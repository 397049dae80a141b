import '../../helpers/own-database/webhook-events.js';
import './env.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { getConfig } from '../../../src/config.js';
import { db } from '../../../src/db.js';
import { revokeApiKey } from '../../../src/modules/api-key/api-key.service.js';
import { WebhookDispatcher } from '../../../src/modules/webhook/dispatcher.js';
import { decryptSecret } from '../../../src/modules/webhook/secrets.js';
import { sendSigned } from '../../../src/modules/webhook/sender.js';
import { assertDeliverableUrl } from '../../../src/modules/webhook/url-guard.js';
import { errorOf, execute, logLines, ok } from '../../helpers/app.js';
import { seedTenant, signedIn } from '../../helpers/seed.js';
import { endpointFor, eventually, Receiver, routedWorkflow } from './support.js';

const CREATE = `mutation Create($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { signingSecret endpoint { id url events projectIds description organization { id } } } }`;
const LIST = `query List { webhookEndpoints { id url events } }`;
const UPDATE = `mutation Update($id: ID!, $input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $input) { id url events description } }`;
const ROTATE = `mutation Rotate($id: ID!) { rotateWebhookEndpointSecret(id: $id) { signingSecret endpoint { id secretRotatedAt } } }`;
const DELETE = `mutation Delete($id: ID!) { deleteWebhookEndpoint(id: $id) }`;
const CREATE_WORKFLOW = `mutation CreateWorkflow($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id endpointId } }`;
const TRIGGER = `mutation Trigger($input: TriggerWorkflowInput!) { triggerWorkflow(input: $input) { id } }`;
const DELIVER = `mutation Deliver($input: DeliverDataInput!) { deliverData(input: $input) { id } }`;

type Created = { createWebhookEndpoint: { signingSecret: string; endpoint: { id: string; url: string; events: string[]; projectIds: string[] } } };

const receivers: Receiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.stop()));
});

async function newReceiver() {
  const receiver = new Receiver();
  receivers.push(receiver);
  return { receiver, url: await receiver.start() };
}

describe('managing webhook endpoints', () => {
  it('creates an endpoint with a whsec_ secret shown once and stored only encrypted', async () => {
    const seed = await seedTenant();
    const { url } = await newReceiver();
    const created = await ok<Created, unknown>(
      CREATE,
      { input: { url, events: ['api_key.created', 'workflow.run.triggered'], organizationId: seed.organization.id, description: 'ERP' } },
      { token: seed.admin.token },
    );
    const { signingSecret, endpoint } = created.createWebhookEndpoint;
    expect(signingSecret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(endpoint.events).toEqual(['api_key.created', 'workflow.run.triggered']);

    const row = await db.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } });
    const stored = JSON.stringify(row);
    expect(stored).not.toContain(signingSecret);
    expect(stored).not.toContain(signingSecret.slice('whsec_'.length));
    expect(decryptSecret(row.secretCiphertext)).toBe(signingSecret);
    expect(logLines.join('\n')).not.toContain(signingSecret.slice('whsec_'.length));
    const audit = await db.auditEvent.findMany({ where: { targetId: endpoint.id } });
    expect(JSON.stringify(audit)).not.toContain(signingSecret.slice(6));

    const listed = await ok<{ webhookEndpoints: { id: string }[] }, unknown>(LIST, {}, { token: seed.admin.token });
    expect(listed.webhookEndpoints.map((e) => e.id)).toEqual([endpoint.id]);
    expect(JSON.stringify(listed)).not.toContain('whsec_');
  });

  it('updates, rotates (new secret, old one gone) and deletes', async () => {
    const seed = await seedTenant();
    const { url } = await newReceiver();
    const { createWebhookEndpoint: created } = await ok<Created, unknown>(CREATE, { input: { url, events: ['api_key.created'], organizationId: seed.organization.id } }, { token: seed.admin.token });
    const id = created.endpoint.id;
    const updated = await ok<{ updateWebhookEndpoint: { events: string[]; description: string } }, unknown>(
      UPDATE,
      { id, input: { events: ['api_key.revoked'], description: 'changed' } },
      { token: seed.admin.token },
    );
    expect(updated.updateWebhookEndpoint).toMatchObject({ events: ['api_key.revoked'], description: 'changed' });

    const rotated = await ok<{ rotateWebhookEndpointSecret: { signingSecret: string } }, unknown>(ROTATE, { id }, { token: seed.admin.token });
    expect(rotated.rotateWebhookEndpointSecret.signingSecret).not.toBe(created.signingSecret);
    const row = await db.webhookEndpoint.findUniqueOrThrow({ where: { id } });
    expect(decryptSecret(row.secretCiphertext)).toBe(rotated.rotateWebhookEndpointSecret.signingSecret);
    expect(row.secretCiphertext).not.toContain(rotated.rotateWebhookEndpointSecret.signingSecret.slice(6));

    expect((await ok<{ deleteWebhookEndpoint: string }, unknown>(DELETE, { id }, { token: seed.admin.token })).deleteWebhookEndpoint).toBe(id);
    expect(await db.webhookEndpoint.count({ where: { id } })).toBe(0);
    expect(await db.auditEvent.count({ where: { targetId: id } })).toBe(4);
  });

  it('is session-only with webhooks:manage; other tenants get NOT_FOUND', async () => {
    const seed = await seedTenant();
    const other = await seedTenant();
    const { url } = await newReceiver();
    const input = { url, events: ['api_key.created'], organizationId: seed.organization.id };
    const key = await seed.createKey();
    expect(errorOf(await execute(CREATE, { input }, { apiKey: key.secret })).code).toBe('FORBIDDEN');
    expect(errorOf(await execute(CREATE, { input }, { token: seed.member.token })).code).toBe('FORBIDDEN');
    expect(errorOf(await execute(CREATE, { input }, { token: other.admin.token })).code).toBe('NOT_FOUND');
    const { createWebhookEndpoint } = await ok<Created, unknown>(CREATE, { input }, { token: seed.admin.token });
    expect(errorOf(await execute(ROTATE, { id: createWebhookEndpoint.endpoint.id }, { token: other.admin.token })).code).toBe('NOT_FOUND');
    expect(errorOf(await execute(DELETE, { id: createWebhookEndpoint.endpoint.id }, { token: seed.member.token })).code).toBe('FORBIDDEN');
  });

  it('validates url, events and projects before writing', async () => {
    const seed = await seedTenant();
    const other = await seedTenant();
    const base = { url: 'https://example.com/hooks', events: ['api_key.created'], organizationId: seed.organization.id };
    const refuse = async (input: object, field: string) => {
      const error = errorOf(await execute(CREATE, { input: { ...base, ...input } }, { token: seed.admin.token }));
      expect(error, JSON.stringify(input)).toMatchObject({ code: 'BAD_USER_INPUT', field });
    };
    await refuse({ url: 'ftp://example.com/x' }, 'url');
    await refuse({ url: 'not a url' }, 'url');
    await refuse({ url: 'https://user:pw@example.com/' }, 'url');
    await refuse({ events: [] }, 'events');
    await refuse({ events: ['api_key.exploded'] }, 'events');
    await refuse({ projectIds: [other.project.id] }, 'projectIds');
    expect(await db.webhookEndpoint.count({ where: { tenantId: seed.tenant.id } })).toBe(0);
  });

  it('routes a workflow to an endpoint listening to its project', async () => {
    const seed = await seedTenant();
    const { url } = await newReceiver();
    const { createWebhookEndpoint } = await ok<Created, unknown>(
      CREATE,
      { input: { url, events: ['workflow.run.triggered'], organizationId: seed.organization.id, projectIds: [seed.project.id] } },
      { token: seed.admin.token },
    );
    const endpointId = createWebhookEndpoint.endpoint.id;
    const workflow = await ok<{ createWorkflow: { endpointId: string } }, unknown>(
      CREATE_WORKFLOW,
      { input: { projectId: seed.project.id, name: 'Routed', endpointId } },
      { token: seed.admin.token },
    );
    expect(workflow.createWorkflow.endpointId).toBe(endpointId);
    const other = await seedTenant();
    expect(errorOf(await execute(CREATE_WORKFLOW, { input: { projectId: seed.project.id, name: 'Foreign', endpointId: 'missing' } }, { token: seed.admin.token })).code).toBe('NOT_FOUND');
    expect(other.tenant.id).not.toBe(seed.tenant.id);
  });
});

describe('the SSRF guard (KEYGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS off)', () => {
  const guarded = { allowPrivateNetworks: false };
  it('refuses loopback, private, link-local and metadata addresses at registration', async () => {
    for (const url of ['http://127.0.0.1/x', 'http://10.0.0.8/', 'http://192.168.1.1/', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/', 'http://[fd00::1]/', 'http://localhost:8080/', 'http://0.0.0.0/', 'http://100.64.0.1/', 'http://[::127.0.0.1]/', 'http://[::ffff:169.254.169.254]/', 'http://[64:ff9b::a9fe:a9fe]/', 'http://[2002:a9fe:a9fe::]/']) {
      await expect(assertDeliverableUrl('url', url, guarded), url).rejects.toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'url' } });
    }
    await expect(assertDeliverableUrl('url', 'https://93.184.215.14/hooks', guarded)).resolves.toBeInstanceOf(URL);
  });

  it('refuses at delivery too, for literal addresses and for names resolving to them', async () => {
    const { receiver, url } = await newReceiver();
    // With a stop signal, as the dispatcher sends: a refusal before any request must still settle.
    const request = {
      messageId: 'msg_test',
      body: '{}',
      secrets: ['whsec_' + Buffer.alloc(32, 1).toString('base64')],
      timeoutMs: 1000,
      allowPrivateNetworks: false,
      signal: new AbortController().signal,
    };
    const literal = await sendSigned({ ...request, url });
    expect(literal).toMatchObject({ httpStatus: null, error: expect.stringMatching(/refused/) });
    const byName = await sendSigned({ ...request, url: url.replace('127.0.0.1', 'localhost') });
    expect(byName).toMatchObject({ httpStatus: null, error: expect.stringMatching(/refused/) });
    expect(await sendSigned({ ...request, url: 'not a url' })).toMatchObject({ httpStatus: null, error: 'invalid URL' });
    expect(receiver.received).toHaveLength(0);
  });

  it('an endpoint registered while private networks were allowed: each attempt is recorded as refused, and the run ends FAILED', async () => {
    const seed = await seedTenant();
    const { receiver } = await newReceiver();
    const { endpoint } = await endpointFor(seed, ['workflow.run.triggered'], receiver);
    const workflow = await routedWorkflow(seed, endpoint.id);
    const key = await seed.createKey();
    const { triggerWorkflow: run } = await ok<{ triggerWorkflow: { id: string } }, unknown>(
      TRIGGER,
      { input: { projectId: seed.project.id, workflowId: workflow.id, input: {} } },
      { apiKey: key.secret },
    );
    const config = getConfig();
    const dispatcher = new WebhookDispatcher({ instanceId: 'ssrf-test', config: { ...config, webhooks: { ...config.webhooks, allowPrivateNetworks: false } } }).start();
    try {
      await eventually(async () => (await db.workflowRun.findUniqueOrThrow({ where: { id: run.id } })).status === 'FAILED');
      const attempts = await db.webhookAttempt.findMany({ where: { workflowRunId: run.id }, orderBy: { number: 'asc' } });
      expect(attempts.map((attempt) => attempt.number)).toEqual(Array.from({ length: config.webhooks.maxAttempts }, (_, i) => i + 1));
      for (const attempt of attempts) expect(attempt).toMatchObject({ httpStatus: null, error: expect.stringMatching(/^refused: /) });
      expect(receiver.received).toHaveLength(0);
    } finally {
      await dispatcher.stop();
    }
  });
});

describe('events', () => {
  let dispatcher: WebhookDispatcher;
  beforeAll(() => {
    dispatcher = new WebhookDispatcher({ instanceId: 'events-test' }).start();
  });
  afterAll(async () => {
    await dispatcher.stop();
  });

  it('sends api_key.created and api_key.revoked, signed, without any secret', async () => {
    const seed = await seedTenant();
    const { receiver, url } = await newReceiver();
    const { createWebhookEndpoint } = await ok<Created, unknown>(
      CREATE,
      { input: { url, events: ['api_key.created', 'api_key.revoked'], organizationId: seed.organization.id } },
      { token: seed.admin.token },
    );
    receiver.secret = createWebhookEndpoint.signingSecret;
    const key = await seed.createKey({ organizationId: seed.organization.id });
    await revokeApiKey(seed.platform.principal, key.id);
    const received = await receiver.waitFor(2);
    expect(received.map((r) => r.payload.type).sort()).toEqual(['api_key.created', 'api_key.revoked']);
    expect(received.every((r) => r.verified)).toBe(true);
    expect(received[0]!.payload.data.apiKey).toMatchObject({ id: key.id, prefix: key.prefix });
    for (const r of received) expect(r.body).not.toContain(key.secret);
  });

  it('sends data.delivered to endpoints of the project', async () => {
    const seed = await seedTenant();
    const { receiver, url } = await newReceiver();
    const { createWebhookEndpoint } = await ok<Created, unknown>(
      CREATE,
      { input: { url, events: ['data.delivered'], organizationId: seed.organization.id, projectIds: [seed.project.id] } },
      { token: seed.admin.token },
    );
    receiver.secret = createWebhookEndpoint.signingSecret;
    const key = await seed.createKey();
    const { deliverData } = await ok<{ deliverData: { id: string } }, unknown>(DELIVER, { input: { projectId: seed.project.id, source: 'erp', payload: { sku: 'A-1' } } }, { apiKey: key.secret });
    const [received] = await receiver.waitFor(1);
    expect(received!.verified).toBe(true);
    expect(received!.payload).toMatchObject({ type: 'data.delivered', data: { delivery: { id: deliverData.id, source: 'erp', payload: { sku: 'A-1' } } } });
  });

  it('an endpoint of SELECTED projects whose projects are all deleted listens to none, never to all', async () => {
    const seed = await seedTenant();
    const root = { token: seed.admin.token };
    const PROJECT = `mutation P($input: CreateProjectInput!) { createProject(input: $input) { id } }`;
    const listed = (await ok<{ createProject: { id: string } }, unknown>(PROJECT, { input: { workspaceId: seed.workspace.id, name: 'Listed' } }, root)).createProject.id;
    const secret = (await ok<{ createProject: { id: string } }, unknown>(PROJECT, { input: { workspaceId: seed.workspace.id, name: 'Secret' } }, root)).createProject.id;
    const selected = await newReceiver();
    const everything = await newReceiver();
    const narrow = await ok<Created, unknown>(CREATE, { input: { url: selected.url, events: ['data.delivered'], organizationId: seed.organization.id, projectIds: [listed] } }, root);
    await ok<Created, unknown>(CREATE, { input: { url: everything.url, events: ['data.delivered'], organizationId: seed.organization.id } }, root);
    await ok(`mutation D($id: ID!) { deleteProject(id: $id) }`, { id: listed }, root);

    const ENDPOINT = `query E { webhookEndpoints { id projectAccess projectIds } }`;
    const shown = (await ok<{ webhookEndpoints: { id: string; projectAccess: string; projectIds: string[] }[] }, unknown>(ENDPOINT, {}, root)).webhookEndpoints;
    expect(shown.find((endpoint) => endpoint.id === narrow.createWebhookEndpoint.endpoint.id)).toMatchObject({ projectAccess: 'SELECTED', projectIds: [] });
    expect(await db.webhookEndpoint.findUniqueOrThrow({ where: { id: narrow.createWebhookEndpoint.endpoint.id } })).toMatchObject({ projectAccess: 'SELECTED' });

    const key = await seed.createKey();
    await ok(DELIVER, { input: { projectId: secret, source: 'erp', payload: { confidential: 42 } } }, { apiKey: key.secret });
    // The endpoint of every project gets it; by then the dispatcher has handled the message for both.
    await everything.receiver.waitFor(1);
    expect(selected.receiver.received).toEqual([]);
    expect(await db.webhookDelivery.count({ where: { endpointId: narrow.createWebhookEndpoint.endpoint.id } })).toBe(0);
  });

  it('an endpoint’s projects cannot be narrowed away from a workflow routed to it', async () => {
    const seed = await seedTenant();
    const root = { token: seed.admin.token };
    const { url } = await newReceiver();
    const created = await ok<Created, unknown>(CREATE, { input: { url, events: ['workflow.run.triggered'], organizationId: seed.organization.id } }, root);
    const endpointId = created.createWebhookEndpoint.endpoint.id;
    await ok(CREATE_WORKFLOW, { input: { projectId: seed.project.id, name: 'Routed orders', endpointId } }, root);
    const other = (await ok<{ createProject: { id: string } }, unknown>(`mutation P($input: CreateProjectInput!) { createProject(input: $input) { id } }`, { input: { workspaceId: seed.workspace.id, name: 'Other' } }, root)).createProject.id;

    const narrowed = await execute(UPDATE, { id: endpointId, input: { projectIds: [other], description: 'narrowed' } }, root);
    expect(errorOf(narrowed)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'projectIds' });
    expect(narrowed.errors![0]!.message).toContain('"Routed orders"');
    expect(await db.webhookEndpoint.findUniqueOrThrow({ where: { id: endpointId }, include: { projects: true } })).toMatchObject({ projectAccess: 'ALL', projects: [], description: '' });
    // Keeping the routed workflow's project is fine.
    await ok(UPDATE, { id: endpointId, input: { projectIds: [seed.project.id, other] } }, root);
    expect(await db.webhookEndpoint.findUniqueOrThrow({ where: { id: endpointId } })).toMatchObject({ projectAccess: 'SELECTED' });
  });

  it('keys announced already do not hold back the others: a tenant with more expiring keys than a sweep takes delays no one', async () => {
    const crowded = await seedTenant();
    const template = await db.apiKey.findUniqueOrThrow({ where: { id: (await crowded.createKey()).id } });
    const announcedAt = new Date();
    // Expiring before everyone else's, and announced: the sweep used to take them first and look no further.
    await db.apiKey.createMany({
      data: Array.from({ length: 501 }, (_, n) => ({
        tenantId: crowded.tenant.id,
        authorizationGroupId: template.authorizationGroupId,
        name: `Crowd ${n}`,
        prefix: `kg_crowd${n}`,
        secretDigest: `crowd-${crowded.tenant.id}-${n}`,
        ipAllowlist: [],
        expiresAt: new Date(Date.now() + 60_000 + n),
        expiringSoonAnnouncedAt: announcedAt,
      })),
    });
    const seed = await seedTenant();
    const later = await seed.createKey({ expiresAt: new Date(Date.now() + 3 * 24 * 3600_000) });
    await dispatcher.announceKeyExpiry();
    expect(await db.webhookMessage.count({ where: { dedupeKey: `api_key.expiring_soon:${later.id}` } })).toBe(1);
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: later.id } })).expiringSoonAnnouncedAt).not.toBeNull();
    expect(await db.webhookMessage.count({ where: { tenantId: crowded.tenant.id, eventType: 'api_key.expiring_soon' } })).toBe(0);
    // Once: the next sweep announces it no more.
    await dispatcher.announceKeyExpiry();
    expect(await db.webhookMessage.count({ where: { dedupeKey: `api_key.expiring_soon:${later.id}` } })).toBe(1);
  });

  it('announces api_key.expiring_soon and api_key.expired once each', async () => {
    const seed = await seedTenant();
    const { receiver, url } = await newReceiver();
    const { createWebhookEndpoint } = await ok<Created, unknown>(
      CREATE,
      { input: { url, events: ['api_key.expiring_soon', 'api_key.expired'], organizationId: seed.organization.id } },
      { token: seed.admin.token },
    );
    receiver.secret = createWebhookEndpoint.signingSecret;
    const soon = await seed.createKey({ organizationId: seed.organization.id, expiresAt: new Date(Date.now() + 3600_000) });
    const gone = await seed.createKey({ organizationId: seed.organization.id });
    await db.apiKey.update({ where: { id: gone.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    await dispatcher.announceKeyExpiry();
    await dispatcher.announceKeyExpiry();
    await receiver.waitFor(2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const mine = receiver.received.map((r) => `${r.payload.type}:${r.payload.data.apiKey.id}`).sort();
    expect(mine).toEqual([`api_key.expired:${gone.id}`, `api_key.expiring_soon:${soon.id}`].sort());
    expect(await db.webhookMessage.count({ where: { dedupeKey: { in: [`api_key.expiring_soon:${soon.id}`, `api_key.expired:${gone.id}`] } } })).toBe(2);
    await eventually(async () => (await db.webhookDelivery.count({ where: { tenantId: seed.tenant.id, status: 'SUCCEEDED' } })) === 2);
    // A member with its own session cannot see endpoints at all.
    const member = await signedIn(seed.tenant.id, 'MEMBER');
    expect(errorOf(await execute(LIST, {}, { token: member.token })).code).toBe('FORBIDDEN');
  });
});
