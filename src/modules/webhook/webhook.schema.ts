/** Webhook endpoints, delivery attempts and the live run subscription. */
import { initContextCache } from '@pothos/core';
import { Repeater, SlidingBuffer } from 'graphql-yoga';
import { keyCache, sessionCache } from '../../auth/invalidation.js';
import type { Principal } from '../../auth/principal.js';
import type { WebhookAttempt as WebhookAttemptRow } from '../../generated/prisma/client.js';
import { db } from '../../db.js';
import { builder } from '../../schema/builder.js';
import { ProjectAccess } from '../api-key/api-key.schema.js';
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  listWebhookEndpoints,
  rotateWebhookEndpointSecret,
  updateWebhookEndpoint,
} from './endpoint.service.js';
import { runUpdates } from './run-updates.js';
import { findReadableRun } from './runs.service.js';

export const WebhookAttempt = builder.objectRef<WebhookAttemptRow>('WebhookAttempt').implement({
  description: 'One HTTP attempt to deliver an event to an endpoint.',
  fields: (t) => ({
    number: t.exposeInt('number', { description: 'Which attempt this was, from 1.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', description: 'When the request was sent.' }),
    durationMs: t.exposeInt('durationMs', { description: 'How long until the answer, the error or the timeout, in milliseconds.' }),
    httpStatus: t.exposeInt('httpStatus', { nullable: true, description: 'The HTTP status the endpoint answered; null when there was no answer.' }),
    error: t.exposeString('error', { nullable: true, description: 'Why the attempt failed (timeout, connection refused, HTTP 500…); null when it succeeded.' }),
    succeeded: t.boolean({
      description: 'Whether the endpoint answered 2xx.',
      resolve: (attempt) => attempt.httpStatus !== null && attempt.httpStatus >= 200 && attempt.httpStatus < 300,
    }),
  }),
});

const WebhookEndpoint = builder.prismaObject('WebhookEndpoint', {
  description: 'A URL that receives signed events (Standard Webhooks). Its signing secret is shown only when created or rotated.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The endpoint’s id.' }),
    url: t.exposeString('url', { description: 'Where events are POSTed.' }),
    description: t.exposeString('description', { description: 'What the endpoint is for.' }),
    events: t.stringList({
      description: 'The event types it receives (see the README’s event catalogue).',
      select: { events: true },
      resolve: (endpoint) => (Array.isArray(endpoint.events) ? (endpoint.events as string[]) : []),
    }),
    organization: t.relation('organization', { description: 'The organization whose events it receives.' }),
    projectAccess: t.expose('projectAccess', {
      type: ProjectAccess,
      description: 'ALL projects of its organization, or the SELECTED ones in projectIds (none left once they are all deleted: it never falls back to ALL).',
    }),
    projectIds: t.idList({
      description: 'The SELECTED projects it listens to; empty with projectAccess ALL.',
      select: { projects: { select: { projectId: true } } },
      resolve: (endpoint) => endpoint.projects.map((link) => link.projectId),
    }),
    secretRotatedAt: t.expose('secretRotatedAt', { type: 'DateTime', nullable: true, description: 'When the signing secret was last rotated.' }),
    previousSecretExpiresAt: t.expose('previousSecretExpiresAt', {
      type: 'DateTime',
      nullable: true,
      description:
        'Until when attempts are also signed with the secret the last rotation replaced (its grace period); in the past once the grace is over; null when the last rotation had no grace.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the endpoint was registered.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the endpoint last changed.' }),
  }),
});

type EndpointWithSecret = { endpoint: { id: string }; signingSecret: string };

const WebhookEndpointWithSecret = builder.objectRef<EndpointWithSecret>('WebhookEndpointWithSecret').implement({
  description: 'An endpoint and its signing secret, shown this once: store it where the receiver verifies signatures.',
  fields: (t) => ({
    endpoint: t.prismaField({
      type: 'WebhookEndpoint',
      description: 'The endpoint.',
      resolve: (query, parent) => db.webhookEndpoint.findUniqueOrThrow({ ...query, where: { id: parent.endpoint.id } }),
    }),
    signingSecret: t.exposeString('signingSecret', { description: 'whsec_ followed by the base64 secret (Standard Webhooks). Never shown again.' }),
  }),
});

const CreateWebhookEndpointInput = builder.inputType('CreateWebhookEndpointInput', {
  description: 'A new webhook endpoint.',
  fields: (t) => ({
    url: t.string({ required: true, description: 'An http(s) URL on the public internet.' }),
    events: t.stringList({ required: true, description: 'Event types to receive, e.g. ["workflow.run.triggered", "api_key.revoked"].' }),
    organizationId: t.id({ required: true, description: 'The organization whose events it receives.' }),
    projectIds: t.idList({ description: 'Only these projects of the organization (default: all of them).' }),
    description: t.string({ description: 'What the endpoint is for, up to 500 characters.' }),
  }),
});

const UpdateWebhookEndpointInput = builder.inputType('UpdateWebhookEndpointInput', {
  description: 'Changes to an endpoint; what is left out stays.',
  fields: (t) => ({
    url: t.string({ description: 'A new URL.' }),
    events: t.stringList({ description: 'The new list of event types.' }),
    projectIds: t.idList({ description: 'The new list of projects (empty: all of the organization’s).' }),
    description: t.string({ description: 'A new description.' }),
  }),
});

const RotateWebhookEndpointSecretInput = builder.inputType('RotateWebhookEndpointSecretInput', {
  description: 'How the replaced secret bows out.',
  fields: (t) => ({
    gracePeriodMinutes: t.int({
      description:
        '1–1440: attempts are also signed with the replaced secret this many minutes (until previousSecretExpiresAt), so the receiver can switch without rejecting any. Default: the replaced secret signs nothing more.',
    }),
  }),
});

builder.queryFields((t) => ({
  webhookEndpoints: t.prismaField({
    type: ['WebhookEndpoint'],
    description: 'The tenant’s webhook endpoints, oldest first. Needs a session with webhooks:manage.',
    args: {
      tenantId: t.arg.id({ description: 'Platform administrators: the tenant to list.' }),
      organizationId: t.arg.id({ description: 'Only this organization’s endpoints.' }),
    },
    authScopes: { can: 'webhook:manage' },
    resolve: async (query, _root, args, { auth }) => {
      const rows = await listWebhookEndpoints(auth, { tenantId: args.tenantId?.toString(), organizationId: args.organizationId?.toString() });
      return db.webhookEndpoint.findMany({ ...query, where: { id: { in: rows.map((row) => row.id) } }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    },
  }),
}));

builder.mutationFields((t) => ({
  createWebhookEndpoint: t.field({
    type: WebhookEndpointWithSecret,
    description: 'Registers an endpoint and returns its signing secret once. Needs a session with webhooks:manage.',
    args: { input: t.arg({ type: CreateWebhookEndpointInput, required: true, description: 'The new endpoint.' }) },
    authScopes: { can: 'webhook:manage' },
    resolve: (_root, { input }, { auth }) =>
      createWebhookEndpoint(auth, {
        url: input.url,
        events: input.events,
        organizationId: String(input.organizationId),
        projectIds: input.projectIds?.map(String),
        description: input.description,
      }),
  }),
  updateWebhookEndpoint: t.prismaField({
    type: 'WebhookEndpoint',
    description: 'Changes an endpoint’s URL, events, projects or description. Needs a session with webhooks:manage.',
    args: {
      id: t.arg.id({ required: true, description: 'The endpoint.' }),
      input: t.arg({ type: UpdateWebhookEndpointInput, required: true, description: 'The changes.' }),
    },
    authScopes: { can: 'webhook:manage' },
    resolve: async (query, _root, { id, input }, { auth }) => {
      const updated = await updateWebhookEndpoint(auth, String(id), { ...input, projectIds: input.projectIds?.map(String) });
      return db.webhookEndpoint.findUniqueOrThrow({ ...query, where: { id: updated.id } });
    },
  }),
  rotateWebhookEndpointSecret: t.field({
    type: WebhookEndpointWithSecret,
    description:
      'Replaces the signing secret and returns the new one once. It signs every later attempt; the replaced one signs nothing more, or signs alongside it for gracePeriodMinutes. Needs a session with webhooks:manage.',
    args: {
      id: t.arg.id({ required: true, description: 'The endpoint.' }),
      input: t.arg({ type: RotateWebhookEndpointSecretInput, description: 'A grace period for the replaced secret; omit to drop it at once.' }),
    },
    authScopes: { can: 'webhook:manage' },
    resolve: (_root, { id, input }, { auth }) => rotateWebhookEndpointSecret(auth, String(id), { gracePeriodMinutes: input?.gracePeriodMinutes }),
  }),
  deleteWebhookEndpoint: t.id({
    description: 'Deletes an endpoint; its workflows stop routing runs to it. Returns its id. Needs a session with webhooks:manage.',
    args: { id: t.arg.id({ required: true, description: 'The endpoint.' }) },
    authScopes: { can: 'webhook:manage' },
    resolve: async (_root, { id }, { auth }) => (await deleteWebhookEndpoint(auth, String(id))).id,
  }),
}));

builder.subscriptionType({
  description: 'Live updates, served as Server-Sent Events (POST /graphql with Accept: text/event-stream).',
  authScopes: { authenticated: true },
});

builder.subscriptionFields((t) => ({
  workflowRunUpdated: t.prismaField({
    type: 'WorkflowRun',
    description:
      'The run now, then again each time its status or attempts change (on any instance). Needs projects:read or workflows:trigger and access to its project, checked again before every event and whenever a key or session changes: a revoked key, an ended session or a lost permission ends the stream at once, with that error as its last event.',
    args: { id: t.arg.id({ required: true, description: 'The run to watch.' }) },
    authScopes: { can: 'workflow:read' },
    subscribe: (_root, { id }, context) => watchRun(context, String(id)),
    // Each event is a run the subscriber may read as of now (watchRun checked): read afresh, with what it selected.
    resolve: (query, event: unknown) => {
      const runEvent = event as RunEvent;
      if ('refusal' in runEvent) throw runEvent.refusal;
      return db.workflowRun.findUniqueOrThrow({ ...query, where: { id: runEvent.runId } });
    },
  }),
}));

/** An event of the stream: a run the subscriber may read, or why the stream ends. */
type RunEvent = { runId: string } | { refusal: unknown };

/**
 * Checks access first (an error ends the subscription before it starts), then yields the run
 * at every change. The stream outlives its request, so the credential is checked again, and
 * the run's access with it, before each event and whenever a key or session changes (here or
 * on another instance): once either fails (a revoked key, an ended session, a lost permission
 * or project), the refusal is the stream's last event, without waiting for the run.
 *
 * A Repeater rather than an async generator: a generator waiting for its next event cannot be
 * stopped until that event comes, and the client that went away would keep its listeners.
 */
function watchRun(context: { auth: Principal; reauthenticate(): Promise<Principal>; workspaceId: string | null }, id: string): Repeater<RunEvent> {
  return new Repeater<RunEvent>(async (push, stop) => {
    const run = await findReadableRun(context.auth, id, 'workflow:read', context.workspaceId);
    // credentialChanges starts with a signal, so the credential is checked again as soon as
    // its listeners are in place: a change made before that is not missed.
    const events = Repeater.merge([runUpdates.subscribe(`run:${run.id}`), credentialChanges()]);
    await push({ runId: run.id });
    const stopped: Promise<typeof STOPPED> = stop.then(() => STOPPED);
    let checkedAs: Principal | null = null;
    for (;;) {
      const next = await Promise.race([events.next(), stopped]);
      if (next === STOPPED || next.done) break;
      const runChanged = next.value !== CREDENTIALS_CHANGED;
      try {
        const principal = await context.reauthenticate();
        // The caches hand out the same principal until its credential changes: another key's
        // or user's change costs this stream no query.
        if (runChanged || principal !== checkedAs) await findReadableRun(principal, run.id, 'workflow:read', context.workspaceId);
        checkedAs = principal;
        if (principal !== context.auth) actAs(context, principal);
      } catch (refusal) {
        await push({ refusal });
        break;
      }
      if (runChanged) await push({ runId: run.id });
    }
    await events.return();
    stop();
  });
}

/**
 * Later events resolve as the subscriber is now (a group edited since, say): every event
 * shares the subscription's context, so its principal is replaced, and with it Pothos's
 * per-request caches (the auth scopes decided for earlier events) start afresh. Otherwise a
 * field that checks a permission (triggeredBy.apiKey needs api_keys:read) would still answer
 * as the stream's first request did.
 */
function actAs(context: { auth: Principal }, principal: Principal): void {
  context.auth = principal;
  Object.assign(context, initContextCache());
}

const CREDENTIALS_CHANGED = Symbol('credentials changed');
const STOPPED = Symbol('stopped');

/**
 * A signal at once, then each time a key or a session may have changed (the verified caches
 * were invalidated). Changes in a burst are one signal: the buffer keeps only the latest.
 */
function credentialChanges(): Repeater<typeof CREDENTIALS_CHANGED> {
  return new Repeater<typeof CREDENTIALS_CHANGED>(async (push, stop) => {
    const signal = () => void push(CREDENTIALS_CHANGED);
    const unsubscribers = [keyCache.onInvalidation(signal), sessionCache.onInvalidation(signal)];
    signal();
    await stop;
    for (const unsubscribe of unsubscribers) unsubscribe();
  }, new SlidingBuffer(1));
}

export { WebhookEndpoint };
