/**
 * The event catalogue and the outbox's entry point. Services announce what happened with
 * `enqueueEvent(tx, …)` inside the transaction of the change itself: the event is committed
 * with it or not at all, and the dispatcher (dispatcher.ts) delivers it afterwards.
 */
import { randomBytes } from 'node:crypto';
import type { Tx } from '../../db.js';

export const WEBHOOK_EVENT_TYPES = {
  'workflow.run.triggered': 'A workflow was triggered; sent to the workflow’s endpoint, whose answer sets the run’s status.',
  'data.delivered': 'An integration delivered data to a project (deliverData or the inbound webhook).',
  'api_key.created': 'An API key was created.',
  'api_key.rotated': 'An API key’s secret was rotated.',
  'api_key.revoked': 'An API key was revoked.',
  'api_key.expiring_soon': 'An API key entered the expiring-soon window (sent once per key).',
  'api_key.expired': 'An API key passed its expiry date (sent once per key).',
  'api_key.leaked': 'An API key’s secret was found exposed (leak response).',
} as const;

export type WebhookEventType = keyof typeof WEBHOOK_EVENT_TYPES;

export function isWebhookEventType(value: string): value is WebhookEventType {
  return Object.hasOwn(WEBHOOK_EVENT_TYPES, value);
}

/** A Standard Webhooks message id: `msg_` and 24 random base62-ish characters. */
export function newMessageId(): string {
  return 'msg_' + randomBytes(18).toString('base64url');
}

export type WebhookEvent = {
  tenantId: string;
  /** Endpoints of this organization hear it; null (a tenant-wide key): every endpoint of the tenant. */
  organizationId: string | null;
  /** When set, only endpoints listening to this project (or to all their organization's). */
  projectId?: string | null;
  type: WebhookEventType;
  /** The event's `data`: ids, names, prefixes — never a secret. */
  data: Record<string, unknown>;
  /** Fires the event at most once for this key, e.g. `api_key.expired:<id>`. */
  dedupeKey?: string;
};

/** The body every endpoint receives: `{ type, timestamp, data }` (Standard Webhooks). */
export function eventPayload(type: string, data: unknown, at: Date) {
  return { type, timestamp: at.toISOString(), data };
}

/**
 * Records an event in the outbox, in the caller's transaction. The seam for any service
 * (api-key lifecycle, leak response): call it next to the audit record.
 */
export async function enqueueEvent(tx: Tx, event: WebhookEvent): Promise<string> {
  const id = newMessageId();
  const now = new Date();
  await tx.webhookMessage.create({
    data: {
      id,
      tenantId: event.tenantId,
      organizationId: event.organizationId,
      projectId: event.projectId ?? null,
      eventType: event.type,
      payload: eventPayload(event.type, event.data, now) as object,
      dedupeKey: event.dedupeKey ?? null,
      createdAt: now,
    },
  });
  return id;
}

/** What an API key event says about the key: nothing secret. */
export function apiKeyEventData(key: { id: string; name: string; prefix: string; organizationId: string | null; expiresAt?: Date | null; status?: string }) {
  return {
    apiKey: {
      id: key.id,
      name: key.name,
      prefix: key.prefix,
      organizationId: key.organizationId,
      expiresAt: key.expiresAt?.toISOString() ?? null,
      ...(key.status ? { status: key.status } : {}),
    },
  };
}

type AnnouncedKey = { id: string; tenantId: string; name: string; prefix: string; organizationId: string | null; expiresAt: Date | null; status: string };

/** api_key.* events: heard by the key's organization's endpoints, or the whole tenant's for a tenant-wide key. */
export function announceKeyEvent(tx: Tx, key: AnnouncedKey, type: WebhookEventType): Promise<string> {
  return enqueueEvent(tx, { tenantId: key.tenantId, organizationId: key.organizationId, type, data: apiKeyEventData(key) });
}
