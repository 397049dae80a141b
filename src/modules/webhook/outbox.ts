/**
 * The outbox's shared parts: the columns of a message for batched inserts, and the in-process
 * signal that wakes the dispatcher once a batch with messages committed (instead of waiting
 * for its next poll). Other instances find the messages on their next poll.
 */
import { EventEmitter } from 'node:events';
import type { InsertColumn } from '../../db/insert-many.js';
import type { WebhookMessage } from '../../generated/prisma/client.js';

export const MESSAGE_COLUMNS: InsertColumn<WebhookMessage>[] = [
  { name: 'id' },
  { name: 'tenantId' },
  { name: 'organizationId' },
  { name: 'projectId' },
  { name: 'eventType' },
  { name: 'payload', json: true, pgType: 'jsonb' },
  { name: 'endpointId' },
  { name: 'workflowRunId' },
  { name: 'dedupeKey' },
  { name: 'fannedOutAt' },
  { name: 'createdAt' },
];

export const outboxSignal = new EventEmitter();
outboxSignal.setMaxListeners(0);

/** Call after a commit that wrote outbox messages. */
export function outboxWritten(): void {
  outboxSignal.emit('written');
}

/**
 * Whether a tenant has any webhook endpoint, cached briefly: the hot write paths
 * (deliverData, triggerWorkflow of a workflow without endpoint) skip the outbox message
 * for tenants nobody listens to, so they pay nothing for webhooks. Changes made on this
 * instance apply at once; on other instances as soon as they hear of it (PostgreSQL's NOTIFY,
 * run-updates.ts), and within ENDPOINT_PRESENCE_TTL_MS should that fail.
 */
export const ENDPOINT_PRESENCE_TTL_MS = 5_000;
const presence = new Map<string, { has: boolean; until: number }>();

export async function tenantHasEndpoints(tenantId: string, lookup: (tenantId: string) => Promise<boolean>): Promise<boolean> {
  const cached = presence.get(tenantId);
  if (cached && cached.until > Date.now()) return cached.has;
  const has = await lookup(tenantId);
  if (presence.size > 100_000) presence.clear();
  presence.set(tenantId, { has, until: Date.now() + ENDPOINT_PRESENCE_TTL_MS });
  return has;
}

/** After an endpoint is created or deleted here. */
export function forgetEndpointPresence(tenantId: string): void {
  presence.delete(tenantId);
}
