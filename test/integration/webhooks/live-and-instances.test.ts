import '../../helpers/own-database/webhook-live.js';
import './env.js';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { db } from '../../../src/db.js';
import { WebhookDispatcher } from '../../../src/modules/webhook/dispatcher.js';
import { ENDPOINTS_CHANNEL, publishRunUpdate, RUN_CHANNEL, startPgRunUpdates } from '../../../src/modules/webhook/run-updates.js';
import { createLogger } from '../../../src/lib/logger.js';
import { app, ok } from '../../helpers/app.js';
import { seedTenant, signedIn } from '../../helpers/seed.js';
import { endpointFor, eventually, Receiver, routedWorkflow } from './support.js';

const onPostgres = inject('databaseKind') === 'postgresql';
const TRIGGER = `mutation Trigger($input: TriggerWorkflowInput!) { triggerWorkflow(input: $input) { id } }`;

const receivers: Receiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.stop()));
});

/** Opens `workflowRunUpdated` over Server-Sent Events and collects each event's run; `credential`: an API key, or a session's token. */
async function subscribe(runId: string, credential: string | { token: string } | null, selection = 'id status attempts { number httpStatus }') {
  const credentialHeaders: Record<string, string> = credential === null ? {} : typeof credential === 'string' ? { 'x-api-key': credential } : { authorization: `Bearer ${credential.token}` };
  const response = await app.yoga.fetch(
    'http://keygate.test/graphql',
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...credentialHeaders },
      body: JSON.stringify({ query: `subscription Watch($id: ID!) { workflowRunUpdated(id: $id) { ${selection} } }`, variables: { id: runId } }),
    },
    { req: { socket: { remoteAddress: '127.0.0.1' } } },
  );
  expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
  const events: { status: string; attempts: { number: number }[]; triggeredBy?: { apiKey: { name: string } | null } }[] = [];
  const errors: unknown[] = [];
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const chunk = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = chunk.split('\n').find((line) => line.startsWith('data:'));
        if (!data || data.trim() === 'data:') continue;
        const body = JSON.parse(data.slice(5));
        if (body.errors) errors.push(...body.errors);
        if (body.data?.workflowRunUpdated) events.push(body.data.workflowRunUpdated);
      }
    }
  })();
  return { events, errors, ended: pump, close: async () => { await reader.cancel().catch(() => {}); await pump; } };
}

describe('workflowRunUpdated over Server-Sent Events', () => {
  let dispatcher: WebhookDispatcher | undefined;
  afterAll(async () => {
    await dispatcher?.stop();
  });

  it('streams the run as it goes from QUEUED to DELIVERED', async () => {
    const seed = await seedTenant();
    const receiver = new Receiver();
    receivers.push(receiver);
    receiver.answer([500], 200);
    const { endpoint } = await endpointFor(seed, ['workflow.run.triggered'], receiver);
    const workflow = await routedWorkflow(seed, endpoint.id);
    const key = await seed.createKey();
    const run = (await ok<{ triggerWorkflow: { id: string } }, unknown>(TRIGGER, { input: { projectId: seed.project.id, workflowId: workflow.id } }, { apiKey: key.secret })).triggerWorkflow;
    const stream = await subscribe(run.id, key.secret);
    await eventually(async () => stream.events.length >= 1);
    expect(stream.events[0]!.status).toBe('QUEUED');
    dispatcher = new WebhookDispatcher({ instanceId: 'sse-test' }).start();
    const last = await eventually(async () => stream.events.find((e) => e.status === 'DELIVERED'));
    expect(last.attempts.map((a) => a.number)).toEqual([1, 2]);
    await stream.close();
  });

  it('refuses a run of another tenant, anonymous callers and keys without permission', async () => {
    const seed = await seedTenant();
    const other = await seedTenant();
    const key = await other.createKey();
    const run = await db.workflowRun.create({ data: { tenantId: seed.tenant.id, projectId: seed.project.id, workflowId: seed.workflow.id, input: {}, triggeredByKind: 'SYSTEM' } });
    const stream = await subscribe(run.id, key.secret);
    await eventually(async () => stream.errors.length > 0 || null);
    expect(stream.errors[0]).toMatchObject({ extensions: { code: 'NOT_FOUND' } });
    expect(stream.events).toEqual([]);
    await stream.close();

    // Anonymous, and a key of the run's tenant without projects:read or workflows:trigger.
    const anonymous = await subscribe(run.id, null);
    await eventually(async () => anonymous.errors.length > 0 || null);
    expect(anonymous.errors[0]).toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    await anonymous.close();
    const group = await db.authorizationGroup.create({ data: { tenantId: seed.tenant.id, name: 'Nothing', type: 'TENANT_API_KEY', permissions: [] } });
    const powerless = await seed.createKey({ authorizationGroupId: group.id });
    const refused = await subscribe(run.id, powerless.secret);
    await eventually(async () => refused.errors.length > 0 || null);
    expect(refused.errors[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
    expect(refused.events).toEqual([]);
    await refused.close();
  });
});

describe('workflowRunUpdated checks the credential again before every event', () => {
  const RUN_FIELDS = { tenantId: '', projectId: '', workflowId: '', input: {}, triggeredByKind: 'SYSTEM' as const };
  const runOf = (seed: Awaited<ReturnType<typeof seedTenant>>) =>
    db.workflowRun.create({ data: { ...RUN_FIELDS, tenantId: seed.tenant.id, projectId: seed.project.id, workflowId: seed.workflow.id } });

  /** The stream's first event, then a change of the run that the subscriber may no longer see: the refusal ends the stream. */
  async function expectEndedBy(stream: Awaited<ReturnType<typeof subscribe>>, runId: string, refusal: Record<string, unknown>) {
    await db.workflowRun.update({ where: { id: runId }, data: { status: 'FAILED' } });
    await publishRunUpdate(runId);
    await eventually(async () => stream.errors.length > 0 || null);
    await stream.ended;
    expect(stream.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining(refusal) })]);
    expect(stream.events.map((event) => event.status)).toEqual(['QUEUED']);
  }

  /** Without any change of the run: the credential's change alone ends the stream. */
  async function expectEndedAtOnce(stream: Awaited<ReturnType<typeof subscribe>>, refusal: Record<string, unknown>) {
    await stream.ended;
    expect(stream.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining(refusal) })]);
    expect(stream.events.map((event) => event.status)).toEqual(['QUEUED']);
  }

  it('a revoked key gets UNAUTHENTICATED (REVOKED) at once, without waiting for the run, and the stream ends', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const run = await runOf(seed);
    const stream = await subscribe(run.id, key.secret);
    await eventually(async () => stream.events.length >= 1 || null);
    await ok(`mutation($id: ID!) { revokeApiKey(id: $id) { status } }`, { id: key.id }, { token: seed.admin.token });
    await expectEndedAtOnce(stream, { code: 'UNAUTHENTICATED', reason: 'REVOKED' });
    expect(await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).toMatchObject({ status: 'REVOKED' });
  });

  it('a deactivated user’s session gets UNAUTHENTICATED at once, and the stream ends', async () => {
    const seed = await seedTenant();
    const member = await signedIn(seed.tenant.id, 'MEMBER');
    const run = await runOf(seed);
    const stream = await subscribe(run.id, { token: member.token });
    await eventually(async () => stream.events.length >= 1 || null);
    await ok(`mutation($id: ID!) { deactivateUser(id: $id) { id } }`, { id: member.user.id }, { token: seed.admin.token });
    await expectEndedAtOnce(stream, { code: 'UNAUTHENTICATED' });
  });

  it('a key whose group lost the permission gets FORBIDDEN, and the stream ends', async () => {
    const seed = await seedTenant();
    const group = await db.authorizationGroup.create({ data: { tenantId: seed.tenant.id, name: 'Watchers', type: 'TENANT_API_KEY', permissions: ['projects:read'] } });
    const key = await seed.createKey({ authorizationGroupId: group.id });
    const run = await runOf(seed);
    const stream = await subscribe(run.id, key.secret);
    await eventually(async () => stream.events.length >= 1 || null);
    await ok(`mutation($id: ID!) { updateAuthorizationGroup(id: $id, input: { permissions: ["api_keys:read"] }) { id } }`, { id: group.id }, { token: seed.admin.token });
    await expectEndedBy(stream, run.id, { code: 'FORBIDDEN' });
  });

  it('later events resolve with the subscriber’s permissions as they are now: a group edit hides what it no longer may read', async () => {
    const seed = await seedTenant();
    const group = await db.authorizationGroup.create({ data: { tenantId: seed.tenant.id, name: 'Watchers', type: 'TENANT_API_KEY', permissions: ['projects:read', 'api_keys:read'] } });
    const watcher = await seed.createKey({ authorizationGroupId: group.id });
    const trigger = await seed.createKey({ name: 'The trigger' });
    const run = await db.workflowRun.create({
      data: { ...RUN_FIELDS, tenantId: seed.tenant.id, projectId: seed.project.id, workflowId: seed.workflow.id, triggeredByKind: 'API_KEY', triggeredByKeyId: trigger.id, triggeredByUserId: null },
    });
    const stream = await subscribe(run.id, watcher.secret, 'id status triggeredBy { kind apiKey { name } }');
    await eventually(async () => stream.events.length >= 1 || null);
    expect(stream.events[0]!.triggeredBy).toEqual({ kind: 'API_KEY', apiKey: { name: 'The trigger' } });

    await ok(`mutation($id: ID!) { updateAuthorizationGroup(id: $id, input: { permissions: ["projects:read"] }) { id } }`, { id: group.id }, { token: seed.admin.token });
    await db.workflowRun.update({ where: { id: run.id }, data: { status: 'DELIVERED' } });
    await publishRunUpdate(run.id);
    await eventually(async () => stream.events.length >= 2 || null);
    expect(stream.events[1]).toMatchObject({ status: 'DELIVERED', triggeredBy: { kind: 'API_KEY', apiKey: null } });
    expect(stream.errors).toEqual([]);
    await stream.close();
  });

  it('a key that still may watch gets every event, another key’s revocation notwithstanding', async () => {
    const seed = await seedTenant();
    const [key, other] = await Promise.all([seed.createKey(), seed.createKey()]);
    const run = await runOf(seed);
    const stream = await subscribe(run.id, key.secret);
    await eventually(async () => stream.events.length >= 1 || null);
    await ok(`mutation($id: ID!) { revokeApiKey(id: $id) { status } }`, { id: other.id }, { token: seed.admin.token });
    await db.workflowRun.update({ where: { id: run.id }, data: { status: 'DELIVERED' } });
    await publishRunUpdate(run.id);
    await eventually(async () => stream.events.length >= 2 || null);
    expect(stream.events.map((event) => event.status)).toEqual(['QUEUED', 'DELIVERED']);
    expect(stream.errors).toEqual([]);
    await stream.close();
  });
});

describe.runIf(onPostgres)('several instances on one PostgreSQL', () => {
  const url = () => process.env.DATABASE_URL!;
  let channel: ReturnType<typeof startPgRunUpdates> | undefined;
  afterAll(async () => {
    await channel?.stop();
  });

  it('two dispatchers never deliver the same attempt twice (SKIP LOCKED claims)', async () => {
    const seed = await seedTenant();
    const receiver = new Receiver();
    receivers.push(receiver);
    const { endpoint } = await endpointFor(seed, ['workflow.run.triggered'], receiver);
    const workflow = await routedWorkflow(seed, endpoint.id);
    const key = await seed.createKey();
    const runs = await Promise.all(
      Array.from({ length: 40 }, (_, n) =>
        ok<{ triggerWorkflow: { id: string } }, unknown>(TRIGGER, { input: { projectId: seed.project.id, workflowId: workflow.id, input: { n } } }, { apiKey: key.secret }),
      ),
    );
    // Generous timeouts: this one process is the receiver and both instances, on a shared machine.
    const patient = { ...app.config, webhooks: { ...app.config.webhooks, timeoutMs: 10_000 } };
    const one = new WebhookDispatcher({ instanceId: 'instance-one', config: patient }).start();
    const two = new WebhookDispatcher({ instanceId: 'instance-two', config: patient }).start();
    try {
      await receiver.waitFor(40);
      await eventually(async () => (await db.workflowRun.count({ where: { workflowId: workflow.id, status: 'DELIVERED' } })) === 40);
    } finally {
      await Promise.all([one.stop(), two.stop()]);
    }
    const ids = receiver.received.map((r) => r.id);
    expect(ids).toHaveLength(40);
    expect(new Set(ids).size).toBe(40);
    expect(receiver.received.every((r) => r.verified)).toBe(true);
    const attempts = await db.webhookAttempt.findMany({ where: { workflowRunId: { in: runs.map((r) => r.triggerWorkflow.id) } } });
    expect(attempts).toHaveLength(40);
    expect(attempts.every((a) => a.number === 1)).toBe(true);
  });

  it('a tenant’s first endpoint, made on another instance, is heard at once: this one looks again before its next write', async () => {
    channel ??= startPgRunUpdates({ connectionString: url(), logger: createLogger('silent') });
    await channel.ready;
    const { tenantHasEndpoints } = await import('../../../src/modules/webhook/outbox.js');
    const tenantId = `tenant-elsewhere-${Date.now()}`;
    // This instance has just seen none, and caches that for a few seconds.
    expect(await tenantHasEndpoints(tenantId, async () => false)).toBe(false);
    const elsewhere = new pg.Client({ connectionString: url() });
    await elsewhere.connect();
    try {
      // Another instance created one and announced it (announceEndpointChange), on a connection of its own.
      await elsewhere.query('SELECT pg_notify($1, $2)', [ENDPOINTS_CHANNEL, tenantId]);
      await eventually(async () => (await tenantHasEndpoints(tenantId, async () => true)) || null);
    } finally {
      await elsewhere.end();
    }
  });

  it('carries run updates across instances through LISTEN/NOTIFY', async () => {
    channel ??= startPgRunUpdates({ connectionString: url(), logger: createLogger('silent') });
    await channel.ready;
    const { runUpdates } = await import('../../../src/modules/webhook/run-updates.js');
    const heard = (async () => {
      for await (const id of runUpdates.subscribe('run:from-elsewhere')) return id;
    })();
    // Another instance's NOTIFY, on a connection of its own.
    const elsewhere = new pg.Client({ connectionString: url() });
    await elsewhere.connect();
    try {
      await eventually(async () => {
        await elsewhere.query('SELECT pg_notify($1, $2)', [RUN_CHANNEL, 'from-elsewhere']);
        return (await Promise.race([heard, new Promise((resolve) => setTimeout(() => resolve(null), 100))])) as string | null;
      });
    } finally {
      await elsewhere.end();
    }
  });
});

describe.skipIf(onPostgres)('several instances on one PostgreSQL', () => {
  it.skip('needs PostgreSQL (KEYGATE_TEST_PG_URL): SQLite runs one dispatcher', () => {});

  it('SQLite refuses a second dispatcher in the process', () => {
    const first = new WebhookDispatcher({ instanceId: 'only' }).start();
    try {
      expect(() => new WebhookDispatcher({ instanceId: 'second' }).start()).toThrow(/one webhook dispatcher/);
    } finally {
      void first.stop();
    }
  });
});

