import './env.js';
import { describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { app, errorOf, execute } from '../../helpers/app.js';
import { seedTenant } from '../../helpers/seed.js';

const TRIGGER = `mutation Trigger($input: TriggerWorkflowInput!) { triggerWorkflow(input: $input) { id } }`;
const DELIVER = `mutation Deliver($input: DeliverDataInput!) { deliverData(input: $input) { id } }`;

function inbound(projectId: string, source: string | null, body: string, headers: Record<string, string> = {}) {
  const query = source === null ? '' : `?source=${encodeURIComponent(source)}`;
  return app.yoga.fetch(
    `http://keygate.test/webhooks/projects/${projectId}/deliveries${query}`,
    { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body },
    { req: { socket: { remoteAddress: '127.0.0.1' } } },
  );
}

describe('Idempotency-Key', () => {
  it('50 concurrent identical triggerWorkflow requests create exactly one run', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const input = { projectId: seed.project.id, workflowId: seed.workflow.id, input: { order: 7 } };
    const results = await Promise.all(
      Array.from({ length: 50 }, () => execute(TRIGGER, { input }, { apiKey: key.secret, headers: { 'idempotency-key': 'order-7' } })),
    );
    const ids = results.map((r) => (r.data as { triggerWorkflow: { id: string } } | null)?.triggerWorkflow.id);
    expect(results.flatMap((r) => r.errors ?? [])).toEqual([]);
    expect(new Set(ids).size).toBe(1);
    expect(await db.workflowRun.count({ where: { workflowId: seed.workflow.id } })).toBe(1);
    expect(await db.idempotencyRecord.count({ where: { principalId: key.id } })).toBe(1);

    const later = await execute(TRIGGER, { input }, { apiKey: key.secret, headers: { 'idempotency-key': 'order-7' } });
    expect((later.data as { triggerWorkflow: { id: string } }).triggerWorkflow.id).toBe(ids[0]);
  });

  it('refuses the same key with a different request (IDEMPOTENCY_CONFLICT)', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const headers = { 'idempotency-key': 'k-1' };
    await execute(TRIGGER, { input: { projectId: seed.project.id, workflowId: seed.workflow.id, input: { a: 1 } } }, { apiKey: key.secret, headers });
    const conflict = await execute(TRIGGER, { input: { projectId: seed.project.id, workflowId: seed.workflow.id, input: { a: 2 } } }, { apiKey: key.secret, headers });
    expect(errorOf(conflict).code).toBe('IDEMPOTENCY_CONFLICT');
    expect(await db.workflowRun.count({ where: { workflowId: seed.workflow.id } })).toBe(1);
  });

  it('keeps keys of different callers apart, and expires after 24 hours', async () => {
    const seed = await seedTenant();
    const [one, two] = await Promise.all([seed.createKey(), seed.createKey()]);
    const input = { projectId: seed.project.id, source: 'erp', payload: { n: 1 } };
    const headers = { 'idempotency-key': 'same' };
    const a = await execute(DELIVER, { input }, { apiKey: one.secret, headers });
    const b = await execute(DELIVER, { input }, { apiKey: two.secret, headers });
    expect((a.data as any).deliverData.id).not.toBe((b.data as any).deliverData.id);
    await db.idempotencyRecord.updateMany({ where: { principalId: one.id }, data: { createdAt: new Date(Date.now() - 25 * 3600_000) } });
    const c = await execute(DELIVER, { input }, { apiKey: one.secret, headers });
    expect((c.data as any).deliverData.id).not.toBe((a.data as any).deliverData.id);
    expect(await db.dataDelivery.count({ where: { projectId: seed.project.id } })).toBe(3);
  });

  it('checks the header', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const result = await execute(DELIVER, { input: { projectId: seed.project.id, source: 'erp', payload: {} } }, { apiKey: key.secret, headers: { 'idempotency-key': 'x'.repeat(300) } });
    expect(errorOf(result)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'Idempotency-Key' });
  });
});

describe('the inbound webhook route', () => {
  it('stores a data delivery like deliverData and answers 202 with its id', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const response = await inbound(seed.project.id, 'erp', JSON.stringify({ order: { id: 9 } }), { 'x-api-key': key.secret });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    const stored = await db.dataDelivery.findUniqueOrThrow({ where: { id } });
    expect(stored).toMatchObject({ projectId: seed.project.id, source: 'erp', payload: { order: { id: 9 } }, deliveredByKind: 'API_KEY', deliveredById: key.id });
    const bearer = await inbound(seed.project.id, 'erp', '[1,2]', { authorization: `Bearer ${key.secret}` });
    expect(bearer.status).toBe(202);
    // A byte-order mark before the JSON is not part of it.
    const marked = await inbound(seed.project.id, 'erp', '\ufeff{"marked":true}', { 'x-api-key': key.secret });
    expect(marked.status).toBe(202);
    expect((await db.dataDelivery.findUniqueOrThrow({ where: { id: ((await marked.json()) as { id: string }).id } })).payload).toEqual({ marked: true });
  });

  it('a body of null is refused in the route’s own words, naming the body', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const response = await inbound(seed.project.id, 'erp', 'null', { 'x-api-key': key.secret });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { code: 'BAD_USER_INPUT', message: 'body: must be a JSON value other than null', field: 'body' } });
    expect(await db.dataDelivery.count({ where: { projectId: seed.project.id } })).toBe(0);
  });

  it('answers errors with HTTP statuses: 401, 403, 404, 400, 409', async () => {
    const seed = await seedTenant();
    const other = await seedTenant();
    const key = await seed.createKey();
    const noPermission = await seed.createKey({ authorizationGroupId: (await db.authorizationGroup.create({ data: { tenantId: seed.tenant.id, name: 'None', type: 'TENANT_API_KEY', permissions: [] } })).id });
    expect((await inbound(seed.project.id, 'erp', '{}')).status).toBe(401);
    expect((await inbound(seed.project.id, 'erp', '{}', { 'x-api-key': noPermission.secret })).status).toBe(403);
    expect((await inbound(other.project.id, 'erp', '{}', { 'x-api-key': key.secret })).status).toBe(404);
    expect((await inbound(seed.project.id, 'erp', '{not json', { 'x-api-key': key.secret })).status).toBe(400);
    expect((await inbound(seed.project.id, null, '{}', { 'x-api-key': key.secret })).status).toBe(400);
    const headers = { 'x-api-key': key.secret, 'idempotency-key': 'inbound-1' };
    const first = await inbound(seed.project.id, 'erp', '{"a":1}', headers);
    const again = await inbound(seed.project.id, 'erp', '{"a":1}', headers);
    expect(again.status).toBe(202);
    expect(((await again.json()) as { id: string }).id).toBe(((await first.json()) as { id: string }).id);
    const conflict = await inbound(seed.project.id, 'erp', '{"a":2}', headers);
    expect(conflict.status).toBe(409);
    expect(((await conflict.json()) as { error: { code: string } }).error.code).toBe('IDEMPOTENCY_CONFLICT');
    expect(await db.dataDelivery.count({ where: { projectId: seed.project.id } })).toBe(1);
  });

  it('50 concurrent identical inbound requests store exactly one delivery', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => inbound(seed.project.id, 'erp', '{"batch":5}', { 'x-api-key': key.secret, 'idempotency-key': 'batch-5' })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(202));
    const ids = await Promise.all(responses.map(async (r) => ((await r.json()) as { id: string }).id));
    expect(new Set(ids).size).toBe(1);
    expect(await db.dataDelivery.count({ where: { projectId: seed.project.id } })).toBe(1);
  });
});

describe('the inbound webhook over HTTP', () => {
  async function served() {
    const { createServer } = await import('node:http');
    const server = createServer(app.handleNodeRequest);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    return {
      url: `http://127.0.0.1:${port}`,
      close: () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    };
  }

  it('a malformed escape in the project id is 404 with the JSON error, never a stack', async () => {
    const seed = await seedTenant();
    const key = await seed.createKey();
    const http = await served();
    try {
      const response = await fetch(`${http.url}/webhooks/projects/%E0%A4%A/deliveries?source=erp`, { method: 'POST', headers: { 'x-api-key': key.secret, 'content-type': 'application/json' }, body: '{}' });
      expect(response.status).toBe(404);
      const text = await response.text();
      expect(JSON.parse(text)).toEqual({ error: { code: 'NOT_FOUND', message: 'Project not found.' } });
      expect(text).not.toMatch(/URIError|\bat /);
    } finally {
      await http.close();
    }
  });

  it('a chunked body past the limit is refused (413) while it is read, not after it was read whole', async () => {
    const seed = await seedTenant();
    const http = await served();
    const chunk = new Uint8Array(64 * 1024).fill(0x20);
    let sent = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        // 256 MiB if the server read it all; it stops reading a little past 1 MiB.
        if (sent >= 256 * 1024 * 1024) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    try {
      const response = await fetch(`${http.url}/webhooks/projects/${seed.project.id}/deliveries?source=erp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: endless,
        duplex: 'half',
      } as RequestInit);
      expect(response.status).toBe(413);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('REQUEST_ENTITY_TOO_LARGE');
      expect(sent).toBeLessThan(64 * 1024 * 1024);
      expect(await db.dataDelivery.count({ where: { projectId: seed.project.id } })).toBe(0);
    } finally {
      await endless.cancel().catch(() => {});
      await http.close();
    }
  });
});
