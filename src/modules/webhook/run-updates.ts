/**
 * "This run changed": what feeds the `workflowRunUpdated` subscription. In-process through a
 * Yoga pubsub; across instances on PostgreSQL through LISTEN/NOTIFY on one channel (the
 * payload is the run id only, never data), so a browser connected to instance A hears about
 * a delivery instance B made. A second channel on the same connection carries "this tenant's
 * endpoints changed" (the tenant id).
 */
import { createPubSub } from 'graphql-yoga';
import pg from 'pg';
import type { Logger } from '../../lib/logger.js';
import { forgetEndpointPresence } from './outbox.js';

export const RUN_CHANNEL = 'keygate_workflow_run';
/** "This tenant's webhook endpoints changed": each instance forgets its cached presence (outbox.ts). */
export const ENDPOINTS_CHANNEL = 'keygate_webhook_endpoints';

export const runUpdates = createPubSub<{ [key: `run:${string}`]: [string] }>();

let publishRemote: ((runId: string) => Promise<void>) | null = null;
let announceRemote: ((tenantId: string) => Promise<void>) | null = null;

/**
 * After a tenant's endpoint was created or deleted: every instance, not only this one, looks
 * again whether the tenant has endpoints before its next write. Otherwise another instance's
 * cached "none" would skip the outbox messages of a tenant's first endpoint for seconds.
 */
export async function announceEndpointChange(tenantId: string): Promise<void> {
  forgetEndpointPresence(tenantId);
  await announceRemote?.(tenantId).catch(() => {});
}

/** Announces a change of `runId` to this instance's subscribers and, on PostgreSQL, to the others'. */
export async function publishRunUpdate(runId: string): Promise<void> {
  if (publishRemote) {
    // The NOTIFY comes back to this instance's own listener too: published locally from there.
    await publishRemote(runId).catch(() => runUpdates.publish(`run:${runId}`, runId));
    return;
  }
  runUpdates.publish(`run:${runId}`, runId);
}

/**
 * LISTENs for run changes on PostgreSQL; NOTIFYs go through the same connection. Reconnects
 * after a lost connection (a subscriber then misses nothing that matters: each update
 * re-reads the run, and the next one brings it up to date).
 */
export function startPgRunUpdates(options: { connectionString: string; logger: Logger }) {
  let client: pg.Client | null = null;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;

  async function connect(): Promise<void> {
    const next = new pg.Client({ connectionString: options.connectionString });
    next.on('notification', (message) => {
      if (!message.payload) return;
      if (message.channel === RUN_CHANNEL) runUpdates.publish(`run:${message.payload}`, message.payload);
      else if (message.channel === ENDPOINTS_CHANNEL) forgetEndpointPresence(message.payload);
    });
    next.on('error', (error) => {
      options.logger.warn('run update channel lost', { error: error.message });
      if (client === next) client = null;
      scheduleReconnect();
    });
    await next.connect();
    await next.query(`LISTEN ${RUN_CHANNEL}; LISTEN ${ENDPOINTS_CHANNEL}`);
    if (stopped) return void (await next.end());
    client = next;
  }

  function scheduleReconnect() {
    if (stopped || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      connect().catch(() => scheduleReconnect());
    }, 1_000);
    retry.unref();
  }

  const ready = connect().catch((error: Error) => {
    options.logger.warn('run update channel unavailable', { error: error.message });
    scheduleReconnect();
  });
  const notify = (channel: string) => async (payload: string) => {
    if (!client) throw new Error('not connected');
    await client.query('SELECT pg_notify($1, $2)', [channel, payload]);
  };
  publishRemote = notify(RUN_CHANNEL);
  announceRemote = notify(ENDPOINTS_CHANNEL);

  return {
    ready,
    async stop() {
      stopped = true;
      publishRemote = null;
      announceRemote = null;
      clearTimeout(retry);
      await client?.end().catch(() => {});
      client = null;
    },
  };
}
