import '../../helpers/own-database/webhook-delivery.js';
import './env.js';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { createLogger } from '../../../src/lib/logger.js';
import { WebhookDispatcher } from '../../../src/modules/webhook/dispatcher.js';
import { encryptSecret, generateSigningSecret } from '../../../src/modules/webhook/secrets.js';
import { ok } from '../../helpers/app.js';
import { seedTenant, type Seed } from '../../helpers/seed.js';
import { endpointFor, eventually, Receiver, routedWorkflow } from './support.js';

const TRIGGER = `mutation Trigger($input: TriggerWorkflowInput!) { triggerWorkflow(input: $input) { id status } }`;
const RUN = `query Run($id: ID!) { workflowRun(id: $id) { id status attempts { number httpStatus error durationMs succeeded startedAt } } }`;
const ROTATE_SECRET = `mutation RotateSecret($id: ID!) { rotateWebhookEndpointSecret(id: $id) { signingSecret } }`;
const REDELIVER = `mutation Redeliver($id: ID!) { redeliverWorkflowRun(id: $id) { id status } }`;

type RunView = { workflowRun: { id: string; status: string; attempts: { number: number; httpStatus: number | null; error: string | null; succeeded: boolean }[] } };

let dispatcher: WebhookDispatcher;
const receivers: Receiver[] = [];

beforeAll(() => {
  dispatcher = new WebhookDispatcher({ instanceId: 'delivery-test' }).start();
});
afterAll(async () => {
  await dispatcher.stop();
});
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.stop()));
});

async function setup(script: (number | 'stall')[] = [], then: number | 'stall' = 200) {
  const seed = await seedTenant();
  const receiver = new Receiver();
  receivers.push(receiver);
  receiver.answer(script, then);
  const { endpoint, signingSecret } = await endpointFor(seed, ['workflow.run.triggered'], receiver);
  const workflow = await routedWorkflow(seed, endpoint.id);
  const key = await seed.createKey();
  const trigger = async (input: unknown = { order: 42 }) =>
    (await ok<{ triggerWorkflow: { id: string; status: string } }, unknown>(TRIGGER, { input: { projectId: seed.project.id, workflowId: workflow.id, input } }, { apiKey: key.secret })).triggerWorkflow;
  const view = async (id: string) => (await ok<RunView, unknown>(RUN, { id }, { apiKey: key.secret })).workflowRun;
  return { seed, receiver, endpoint, signingSecret, workflow, key, trigger, view };
}

async function settled(view: (id: string) => Promise<RunView['workflowRun']>, id: string, status: string) {
  return eventually(async () => {
    const run = await view(id);
    return run.status === status ? run : null;
  });
}

describe('delivering workflow runs', () => {
  it('writes the run and its outbox message together, and delivers it signed (verified with standardwebhooks)', async () => {
    const { receiver, trigger, view, workflow } = await setup();
    const run = await trigger({ order: 42 });
    expect(run.status).toBe('QUEUED');
    const message = await db.webhookMessage.findFirstOrThrow({ where: { workflowRunId: run.id } });
    expect(message).toMatchObject({ eventType: 'workflow.run.triggered', endpointId: workflow.endpointId });

    const [received] = await receiver.waitFor(1);
    expect(received!.verified).toBe(true);
    expect(received!.headers['webhook-id']).toBe(message.id);
    expect(received!.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/=]+$/);
    expect(received!.payload.type).toBe('workflow.run.triggered');
    expect(received!.payload.data.run).toMatchObject({ id: run.id, input: { order: 42 }, workflow: { id: workflow.id } });
    expect(received!.body).not.toMatch(/whsec_|kg_/);

    const delivered = await settled(view, run.id, 'DELIVERED');
    expect(delivered.attempts).toMatchObject([{ number: 1, httpStatus: 200, error: null, succeeded: true }]);
    const stored = await db.webhookDelivery.findFirstOrThrow({ where: { workflowRunId: run.id } });
    expect(stored).toMatchObject({ status: 'SUCCEEDED', attemptCount: 1, lockedBy: null });
  });

  it('retries after a 500 with the same webhook-id, and records every attempt', async () => {
    const { receiver, trigger, view } = await setup([500]);
    const run = await trigger();
    const delivered = await settled(view, run.id, 'DELIVERED');
    expect(delivered.attempts.map((a) => [a.number, a.httpStatus, a.error])).toEqual([
      [1, 500, 'HTTP 500'],
      [2, 200, null],
    ]);
    expect(new Set(receiver.received.map((r) => r.id)).size).toBe(1);
    expect(receiver.received.every((r) => r.verified)).toBe(true);
  });

  it('gives up after the last attempt (FAILED), and redeliverWorkflowRun sends it again', async () => {
    const { seed, receiver, trigger, view } = await setup([], 503);
    const run = await trigger();
    const failed = await settled(view, run.id, 'FAILED');
    expect(failed.attempts.map((a) => a.httpStatus)).toEqual([503, 503, 503]);

    receiver.answer([], 200);
    const again = await ok<{ redeliverWorkflowRun: { status: string } }, unknown>(REDELIVER, { id: run.id }, { token: seed.admin.token });
    expect(again.redeliverWorkflowRun.status).toBe('QUEUED');
    const delivered = await settled(view, run.id, 'DELIVERED');
    expect(delivered.attempts.map((a) => a.number)).toEqual([1, 2, 3, 4]);
  });

  it('an endpoint secret stored under another webhook key fails each attempt, saying so; after a rotation it is delivered', async () => {
    const { seed, receiver, endpoint, trigger, view } = await setup();
    const anotherKey = randomBytes(32);
    await db.webhookEndpoint.update({ where: { id: endpoint.id }, data: { secretCiphertext: encryptSecret(generateSigningSecret(), anotherKey) } });
    const run = await trigger();
    const failed = await settled(view, run.id, 'FAILED');
    expect(failed.attempts.length).toBeGreaterThan(1); // retried like any failure: another instance may hold the key
    for (const attempt of failed.attempts) {
      expect(attempt.error).toMatch(/signing secret cannot be decrypted with this server's webhook key \(.*\): restore the key it was stored with, or rotate the endpoint's secret/);
    }
    expect(receiver.received).toHaveLength(0);
    // A dispatcher starting now says so once, naming where its key comes from.
    await dispatcher.stop();
    const lines: string[] = [];
    dispatcher = new WebhookDispatcher({ instanceId: 'key-check', logger: createLogger('info', (line) => lines.push(line)) }).start();
    const said = await eventually(async () => lines.find((line) => line.includes('webhook signing secrets in the database cannot be decrypted with')));
    expect(JSON.parse(said).level).toBe('error');

    const rotated = await ok<{ rotateWebhookEndpointSecret: { signingSecret: string } }, unknown>(ROTATE_SECRET, { id: endpoint.id }, { token: seed.admin.token });
    receiver.secret = rotated.rotateWebhookEndpointSecret.signingSecret;
    await ok(REDELIVER, { id: run.id }, { token: seed.admin.token });
    await settled(view, run.id, 'DELIVERED');
    expect((await receiver.waitFor(1))[0]!.verified).toBe(true);
  });

  it('two redeliveries at once: one wins, the other is refused, and the run is sent once', async () => {
    const { seed, receiver, trigger, view } = await setup([], 503);
    const run = await trigger();
    await settled(view, run.id, 'FAILED');
    const failedAttempts = receiver.received.length;
    receiver.answer([], 200);
    const { execute } = await import('../../helpers/app.js');
    const answers = await Promise.all([1, 2].map(() => execute(REDELIVER, { id: run.id }, { token: seed.admin.token })));
    expect(answers.filter((answer) => !answer.errors).length).toBe(1);
    expect(answers.find((answer) => answer.errors)?.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    await settled(view, run.id, 'DELIVERED');
    await new Promise((resolve) => setTimeout(resolve, 500)); // a second delivery would come now
    expect(receiver.received.length - failedAttempts).toBe(1);
    expect(await db.auditEvent.count({ where: { targetId: run.id, action: 'workflow_run.redelivered' } })).toBe(1);
  });

  it('refuses to redeliver a run that has not failed', async () => {
    const { seed, trigger, view } = await setup();
    const run = await trigger();
    await settled(view, run.id, 'DELIVERED');
    const { execute } = await import('../../helpers/app.js');
    const result = await execute(REDELIVER, { id: run.id }, { token: seed.admin.token });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
  });

  it('times out a stalled endpoint and records the timeout', async () => {
    const { trigger, view } = await setup(['stall']);
    const run = await trigger();
    const delivered = await settled(view, run.id, 'DELIVERED');
    expect(delivered.attempts[0]).toMatchObject({ number: 1, httpStatus: null, succeeded: false });
    expect(delivered.attempts[0]!.error).toMatch(/timed out/);
    expect(delivered.attempts[1]).toMatchObject({ number: 2, httpStatus: 200 });
  });

  it('never leaves a workflow run and its message apart: no message, no run', async () => {
    const { seed, workflow, key } = await setup();
    // A workflow that does not exist fails before anything is written.
    const { execute } = await import('../../helpers/app.js');
    const before = await db.webhookMessage.count({ where: { tenantId: seed.tenant.id } });
    await execute(TRIGGER, { input: { projectId: seed.project.id, workflowId: 'nope', input: {} } }, { apiKey: key.secret });
    expect(await db.webhookMessage.count({ where: { tenantId: seed.tenant.id } })).toBe(before);
    expect(workflow.endpointId).toBeTruthy();
  });
});

describe('who acted, in event payloads', () => {
  it('an actor of another tenant (the platform administrator) shows as its kind alone, as the API shows it', async () => {
    const seed = await seedTenant();
    const receiver = new Receiver();
    receivers.push(receiver);
    const { endpoint } = await endpointFor(seed, ['workflow.run.triggered', 'data.delivered'], receiver);
    const workflow = await routedWorkflow(seed, endpoint.id);
    const DELIVER = 'mutation($input: DeliverDataInput!) { deliverData(input: $input) { id } }';
    const payloads = async (token: string) => {
      const { triggerWorkflow } = await ok<{ triggerWorkflow: { id: string } }, unknown>(TRIGGER, { input: { projectId: seed.project.id, workflowId: workflow.id, input: {} } }, { token });
      const { deliverData } = await ok<{ deliverData: { id: string } }, unknown>(DELIVER, { input: { projectId: seed.project.id, source: 'erp', payload: {} } }, { token });
      const run = await db.webhookMessage.findFirstOrThrow({ where: { workflowRunId: triggerWorkflow.id } });
      const delivered = (await db.webhookMessage.findMany({ where: { tenantId: seed.tenant.id, eventType: 'data.delivered' } })).find(
        (message) => (message.payload as { data: { delivery: { id: string } } }).data.delivery.id === deliverData.id,
      );
      return { run: (run.payload as { data: { run: { triggeredBy: unknown } } }).data.run.triggeredBy, delivery: (delivered!.payload as { data: { delivery: { deliveredBy: unknown } } }).data.delivery.deliveredBy };
    };
    expect(await payloads(seed.platform.token)).toEqual({ run: { kind: 'USER', apiKeyId: null, userId: null }, delivery: { kind: 'USER', id: null, apiKeyId: null, userId: null } });
    expect(JSON.stringify(await db.webhookMessage.findMany({ where: { tenantId: seed.tenant.id } }))).not.toContain(seed.platform.user.id);
    expect(await payloads(seed.admin.token)).toEqual({ run: { kind: 'USER', apiKeyId: null, userId: seed.admin.user.id }, delivery: { kind: 'USER', id: seed.admin.user.id, apiKeyId: null, userId: seed.admin.user.id } });
  });
});

describe('rotating the signing secret', () => {
  const ROTATE_WITH_GRACE = `mutation RotateSecret($id: ID!, $input: RotateWebhookEndpointSecretInput) {
    rotateWebhookEndpointSecret(id: $id, input: $input) { signingSecret endpoint { secretRotatedAt previousSecretExpiresAt } }
  }`;
  type Rotated = { rotateWebhookEndpointSecret: { signingSecret: string; endpoint: { secretRotatedAt: string; previousSecretExpiresAt: string | null } } };
  const verifiesWith = (secret: string, received: { body: string; headers: Record<string, string> }) => {
    try {
      new Webhook(secret).verify(received.body, received.headers);
      return true;
    } catch {
      return false;
    }
  };

  it('with gracePeriodMinutes, signs each attempt with the new and the replaced secret until the grace ends', async () => {
    const { seed, receiver, endpoint, signingSecret: oldSecret, trigger, view } = await setup();
    const before = Date.now();
    const { rotateWebhookEndpointSecret: rotated } = await ok<Rotated, unknown>(ROTATE_WITH_GRACE, { id: endpoint.id, input: { gracePeriodMinutes: 30 } }, { token: seed.admin.token });
    const graceEnd = Date.parse(rotated.endpoint.previousSecretExpiresAt!);
    expect(graceEnd - before).toBeGreaterThanOrEqual(30 * 60_000 - 1000);
    expect(graceEnd - Date.now()).toBeLessThanOrEqual(30 * 60_000);

    const stored = await db.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } });
    expect(stored.previousSecretCiphertext).toBe(endpoint.secretCiphertext); // still sealed, never in clear
    expect(JSON.stringify(stored)).not.toContain(oldSecret.slice(6));
    expect(JSON.stringify(stored)).not.toContain(rotated.signingSecret.slice(6));

    const run = await trigger();
    await settled(view, run.id, 'DELIVERED');
    const [during] = await receiver.waitFor(1);
    expect(during!.headers['webhook-signature']).toMatch(/^v1,\S+ v1,\S+$/);
    expect(verifiesWith(rotated.signingSecret, during!)).toBe(true); // a receiver that switched
    expect(verifiesWith(oldSecret, during!)).toBe(true); // one that has not yet

    // Once the grace is over, the replaced secret signs nothing more.
    await db.webhookEndpoint.update({ where: { id: endpoint.id }, data: { previousSecretExpiresAt: new Date(Date.now() - 1000) } });
    const later = await trigger();
    await settled(view, later.id, 'DELIVERED');
    const [, after] = await receiver.waitFor(2);
    expect(after!.headers['webhook-signature']).toMatch(/^v1,\S+$/);
    expect(verifiesWith(rotated.signingSecret, after!)).toBe(true);
    expect(verifiesWith(oldSecret, after!)).toBe(false);
  });

  it('without a grace the replaced secret signs nothing more, and rotating again drops an earlier grace', async () => {
    const { seed, receiver, endpoint, signingSecret: firstSecret, trigger, view } = await setup();
    const rotate = async (input?: unknown) => (await ok<Rotated, unknown>(ROTATE_WITH_GRACE, { id: endpoint.id, input }, { token: seed.admin.token })).rotateWebhookEndpointSecret;
    const second = await rotate({ gracePeriodMinutes: 60 });
    const third = await rotate();
    expect(third.endpoint.previousSecretExpiresAt).toBeNull();
    expect(await db.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } })).toMatchObject({ previousSecretCiphertext: null, previousSecretExpiresAt: null });

    const run = await trigger();
    await settled(view, run.id, 'DELIVERED');
    const [received] = await receiver.waitFor(1);
    expect(received!.headers['webhook-signature']).toMatch(/^v1,\S+$/);
    expect(verifiesWith(third.signingSecret, received!)).toBe(true);
    expect(verifiesWith(second.signingSecret, received!)).toBe(false);
    expect(verifiesWith(firstSecret, received!)).toBe(false);
  });

  it('refuses a grace outside 1–1440 minutes, naming the field, and changes nothing', async () => {
    const { seed, endpoint } = await setup();
    const { execute } = await import('../../helpers/app.js');
    for (const gracePeriodMinutes of [0, -5, 1441]) {
      const result = await execute(ROTATE_WITH_GRACE, { id: endpoint.id, input: { gracePeriodMinutes } }, { token: seed.admin.token });
      expect(result.errors?.[0]?.extensions, String(gracePeriodMinutes)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'gracePeriodMinutes' });
    }
    expect(await db.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } })).toMatchObject({
      secretCiphertext: endpoint.secretCiphertext,
      secretRotatedAt: null,
      previousSecretCiphertext: null,
    });
  });
});

describe('restarts', () => {
  let seed: Seed;
  beforeAll(async () => {
    seed = await seedTenant();
  });

  it('a delivery interrupted by a graceful stop is made by the next dispatcher', async () => {
    await dispatcher.stop();
    const receiver = new Receiver();
    receivers.push(receiver);
    receiver.answer(['stall'], 200);
    const { endpoint } = await endpointFor(seed, ['workflow.run.triggered'], receiver);
    const workflow = await routedWorkflow(seed, endpoint.id);
    const key = await seed.createKey();
    const first = new WebhookDispatcher({ instanceId: 'first' }).start();
    const run = (await ok<{ triggerWorkflow: { id: string } }, unknown>(TRIGGER, { input: { projectId: seed.project.id, workflowId: workflow.id } }, { apiKey: key.secret })).triggerWorkflow;
    await receiver.waitFor(1);
    await first.stop(); // mid-delivery: the receiver has not answered
    const interrupted = await db.webhookDelivery.findFirstOrThrow({ where: { workflowRunId: run.id } });
    expect(interrupted).toMatchObject({ status: 'PENDING', lockedBy: null, attemptCount: 1 });

    dispatcher = new WebhookDispatcher({ instanceId: 'second' }).start();
    await receiver.waitFor(2);
    const delivered = await eventually(async () => {
      const row = await db.workflowRun.findUniqueOrThrow({ where: { id: run.id } });
      return row.status === 'DELIVERED' ? row : null;
    });
    expect(delivered.status).toBe('DELIVERED');
    const attempts = await db.webhookAttempt.findMany({ where: { workflowRunId: run.id }, orderBy: { number: 'asc' } });
    expect(attempts.map((a) => a.number)).toEqual([1, 2]);
    expect(attempts[0]!.error).toMatch(/interrupted/);
    expect(receiver.received[0]!.id).toBe(receiver.received[1]!.id);
  });

  it('a delivery left leased by a crashed instance is taken over once its lease has passed', async () => {
    await dispatcher.stop();
    const receiver = new Receiver();
    receivers.push(receiver);
    const { endpoint } = await endpointFor(seed, ['workflow.run.triggered'], receiver);
    const workflow = await routedWorkflow(seed, endpoint.id);
    const key = await seed.createKey();
    const run = (await ok<{ triggerWorkflow: { id: string } }, unknown>(TRIGGER, { input: { projectId: seed.project.id, workflowId: workflow.id } }, { apiKey: key.secret })).triggerWorkflow;
    // What a crashed instance leaves: the message fanned out, the delivery claimed, no attempt recorded.
    const message = await db.webhookMessage.findFirstOrThrow({ where: { workflowRunId: run.id } });
    await db.webhookMessage.update({ where: { id: message.id }, data: { fannedOutAt: new Date() } });
    const delivery = await db.webhookDelivery.create({
      data: {
        id: `crashed-${run.id}`,
        tenantId: seed.tenant.id,
        messageId: message.id,
        endpointId: endpoint.id,
        workflowRunId: run.id,
        attemptCount: 1,
        attemptLimit: 3,
        nextAttemptAt: new Date(),
        lockedBy: 'crashed-instance',
        lockedUntil: new Date(Date.now() + 700),
      },
    });
    dispatcher = new WebhookDispatcher({ instanceId: 'survivor' }).start();
    await receiver.waitFor(1);
    const after = await eventually(async () => {
      const row = await db.webhookDelivery.findUniqueOrThrow({ where: { id: delivery.id } });
      return row.status === 'SUCCEEDED' ? row : null;
    });
    expect(after.attemptCount).toBe(2);
    expect(receiver.received[0]!.verified).toBe(true);
  });
});
