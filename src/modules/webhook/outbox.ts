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
