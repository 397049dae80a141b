/**
 * A real HTTP receiver on an ephemeral port that verifies every request with the
 * `standardwebhooks` package, and answers as the test scripts it: 200, an error status, or
 * a stall (no answer until the connection is closed).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { db } from '../../../src/db.js';
import { createWebhookEndpoint } from '../../../src/modules/webhook/endpoint.service.js';
import type { Seed } from '../../helpers/seed.js';

export type Received = {
  id: string;
  headers: Record<string, string>;
  body: string;
  payload: { type: string; timestamp: string; data: Record<string, any> };
  verified: boolean;
};

type Answer = number | 'stall';

export class Receiver {
  readonly received: Received[] = [];
  private script: Answer[] = [];
  private fallback: Answer = 200;
  private server: Server | undefined;
  private readonly stalled = new Set<ServerResponse>();
  private waiters: (() => void)[] = [];
  secret = '';

  /** Answers in order, then `then` for every later request. */
  answer(script: Answer[], then: Answer = 200) {
    this.script = [...script];
    this.fallback = then;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  async stop() {
    for (const res of this.stalled) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Resolves once `count` requests (verified or not) arrived. */
  async waitFor(count: number, timeoutMs = 10_000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (Date.now() > deadline) throw new Error(`receiver got ${this.received.length} of ${count} requests`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.received;
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    let verified = false;
    try {
      new Webhook(this.secret).verify(body, headers);
      verified = true;
    } catch {
      verified = false;
    }
    this.received.push({ id: headers['webhook-id']!, headers, body, payload: JSON.parse(body), verified });
    for (const wake of this.waiters.splice(0)) wake();
    const answer = this.script.length > 0 ? this.script.shift()! : this.fallback;
    if (answer === 'stall') {
      this.stalled.add(res);
      return;
    }
    res.writeHead(answer, { 'content-type': 'text/plain' }).end('ok');
  }
}

/** A receiver and an endpoint registered for it in the seed's organization. */
export async function endpointFor(seed: Seed, events: string[], receiver: Receiver, projectIds?: string[]) {
  const url = await receiver.start();
  const { endpoint, signingSecret } = await createWebhookEndpoint(seed.platform.principal, {
    url,
    events,
    organizationId: seed.organization.id,
    projectIds,
  });
  receiver.secret = signingSecret;
  return { endpoint, signingSecret, url };
}

/** A workflow of the seed's project routed to `endpointId`. */
export function routedWorkflow(seed: Seed, endpointId: string, name = `Routed ${Math.random().toString(36).slice(2, 8)}`) {
  return db.workflow.create({ data: { tenantId: seed.tenant.id, projectId: seed.project.id, name, endpointId } });
}

/** Polls until `check` returns a truthy value. */
export async function eventually<T>(check: () => Promise<T | null | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
}
