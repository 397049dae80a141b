/**
 * Webhook endpoints: registered, edited, re-keyed and deleted with a signed-in session holding
 * webhooks:manage (access.ts 'webhook:manage'). The signing secret is returned once, at
 * creation and at rotation, and stored only encrypted (secrets.ts).
 */
import { actingTenantId, assertCan, assertWithinScope, tenantReach } from '../../auth/access.js';
import type { AuthenticatedPrincipal, Principal } from '../../auth/principal.js';
import { getConfig } from '../../config.js';
import { db } from '../../db.js';
import { badInput, notFound } from '../../errors.js';
import { optionalGracePeriod, optionalText } from '../../lib/validate.js';
import { recordAudit } from '../audit/audit.service.js';
import { isWebhookEventType, WEBHOOK_EVENT_TYPES } from './events.js';
import { encryptSecret, generateSigningSecret } from './secrets.js';
import { announceEndpointChange } from './run-updates.js';
import { assertDeliverableUrl } from './url-guard.js';

export type CreateWebhookEndpointInput = {
  url: string;
  events: readonly string[];
  organizationId: string;
  projectIds?: readonly string[] | null;
  description?: string | null;
};
export type UpdateWebhookEndpointInput = {
  url?: string | null;
  events?: readonly string[] | null;
  projectIds?: readonly string[] | null;
  description?: string | null;
};

const withProjects = { projects: { select: { projectId: true } } } as const;

/**
 * Whether an endpoint receives a project's events: ALL projects of its organization, or the
 * SELECTED ones. A SELECTED endpoint whose projects were all deleted listens to none.
 */
export function listensTo(endpoint: { projectAccess: 'ALL' | 'SELECTED'; projects: readonly { projectId: string }[] }, projectId: string): boolean {
  return endpoint.projectAccess === 'ALL' || endpoint.projects.some((link) => link.projectId === projectId);
}

/** An empty selection means every project of the organization (the API's default). */
const projectAccessOf = (projectIds: readonly string[]) => (projectIds.length > 0 ? ('SELECTED' as const) : ('ALL' as const));

export async function createWebhookEndpoint(principal: Principal, input: CreateWebhookEndpointInput) {
  const actor = assertCan(principal, 'webhook:manage');
  const organization = await db.organization.findFirst({ where: { id: input.organizationId, ...tenantReach(actor) } });
  if (!organization) throw notFound('Organization');
  assertWithinScope(actor, { what: 'Organization', tenantId: organization.tenantId, organizationId: organization.id });
  const url = await checkedUrl(input.url);
  const events = checkedEvents(input.events);
  const projectIds = await checkedProjects(organization.id, input.projectIds ?? []);
  const description = optionalText('description', input.description, 500) ?? '';
  const signingSecret = generateSigningSecret();
  const endpoint = await db.$transaction(async (tx) => {
    const created = await tx.webhookEndpoint.create({
      data: {
        tenantId: organization.tenantId,
        organizationId: organization.id,
        url,
        description,
        events,
        secretCiphertext: encryptSecret(signingSecret),
        projectAccess: projectAccessOf(projectIds),
        projects: { create: projectIds.map((projectId) => ({ projectId })) },
      },
    });
    await audit(tx, actor, created, 'webhook_endpoint.created', { events, projectIds });
    return created;
  });
  await announceEndpointChange(endpoint.tenantId);
  return { endpoint, signingSecret };
}

export async function updateWebhookEndpoint(principal: Principal, id: string, input: UpdateWebhookEndpointInput) {
  const actor = assertCan(principal, 'webhook:manage');
  const endpoint = await findManageableEndpoint(actor, id);
  const url = input.url != null ? await checkedUrl(input.url) : undefined;
  const events = input.events != null ? checkedEvents(input.events) : undefined;
  const projectIds = input.projectIds != null ? await checkedProjects(endpoint.organizationId, input.projectIds) : undefined;
  const description = optionalText('description', input.description, 500);
  if (projectIds) await assertKeepsRoutedWorkflows(endpoint.id, projectIds);
  return db.$transaction(async (tx) => {
    if (projectIds) {
      await tx.webhookEndpointProject.deleteMany({ where: { endpointId: endpoint.id } });
      await tx.webhookEndpointProject.createMany({ data: projectIds.map((projectId) => ({ endpointId: endpoint.id, projectId })) });
    }
    const projectAccess = projectIds ? projectAccessOf(projectIds) : undefined;
    const updated = await tx.webhookEndpoint.update({ where: { id: endpoint.id }, data: { url, events, description, projectAccess } });
    const changed = Object.entries({ url, events, projectIds, description }).filter(([, v]) => v !== undefined).map(([k]) => k);
    await audit(tx, actor, updated, 'webhook_endpoint.updated', { changed });
    return updated;
  });
}

/**
 * Workflows route their runs to one endpoint, which had to listen to their project
 * (createWorkflow): the endpoint's projects may not be narrowed away from under them.
 */
async function assertKeepsRoutedWorkflows(endpointId: string, projectIds: readonly string[]): Promise<void> {
  if (projectIds.length === 0) return; // every project of the organization
  const stranded = await db.workflow.findMany({ where: { endpointId, projectId: { notIn: [...projectIds] } }, select: { name: true }, take: 3 });
  if (stranded.length > 0) {
    throw badInput('projectIds', `workflows route their runs here from projects this would leave out (${stranded.map((w) => JSON.stringify(w.name)).join(', ')}); route them elsewhere first`);
  }
}

export type RotateWebhookEndpointSecretInput = { gracePeriodMinutes?: number | null };

/**
 * A new secret, returned this once, signing every later attempt. Without `gracePeriodMinutes`
 * the old one signs nothing more; with it (1–1440) attempts carry a signature with each secret
 * until `previousSecretExpiresAt` (Standard Webhooks lists several in `webhook-signature`), so a
 * receiver verifies throughout, whichever secret it holds while it switches. Only the last
 * replaced secret has a grace: rotating again drops the earlier one.
 */
export async function rotateWebhookEndpointSecret(principal: Principal, id: string, input: RotateWebhookEndpointSecretInput = {}) {
  const actor = assertCan(principal, 'webhook:manage');
  const endpoint = await findManageableEndpoint(actor, id);
  const grace = optionalGracePeriod(input.gracePeriodMinutes);
  const now = new Date();
  const signingSecret = generateSigningSecret();
  const previousSecret = grace
    ? { previousSecretCiphertext: endpoint.secretCiphertext, previousSecretExpiresAt: new Date(now.getTime() + grace * 60_000) }
    : { previousSecretCiphertext: null, previousSecretExpiresAt: null };
  const updated = await db.$transaction(async (tx) => {
    const rotated = await tx.webhookEndpoint.update({
      where: { id: endpoint.id },
      data: { secretCiphertext: encryptSecret(signingSecret), secretRotatedAt: now, ...previousSecret },
    });
    await audit(tx, actor, rotated, 'webhook_endpoint.secret_rotated', grace ? { gracePeriodMinutes: grace, previousSecretExpiresAt: previousSecret.previousSecretExpiresAt?.toISOString() } : {});
    return rotated;
  });
  return { endpoint: updated, signingSecret };
}

/**
 * Deletes the endpoint. Its workflows stop routing runs (endpointId becomes null); its pending
 * deliveries fail with "the endpoint was deleted" at their next attempt; history stays.
 */
export async function deleteWebhookEndpoint(principal: Principal, id: string) {
  const actor = assertCan(principal, 'webhook:manage');
  const endpoint = await findManageableEndpoint(actor, id);
  await db.$transaction(async (tx) => {
    await tx.webhookEndpoint.delete({ where: { id: endpoint.id } });
    await audit(tx, actor, endpoint, 'webhook_endpoint.deleted');
  });
  await announceEndpointChange(endpoint.tenantId);
  return endpoint;
}

export async function listWebhookEndpoints(principal: Principal, args: { tenantId?: string | null; organizationId?: string | null }) {
  const actor = assertCan(principal, 'webhook:manage');
  const tenantId = actingTenantId(actor, args.tenantId);
  return db.webhookEndpoint.findMany({
    where: { tenantId, ...(args.organizationId != null ? { organizationId: args.organizationId } : {}) },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
  });
}

/** An endpoint by id: NOT_FOUND in another tenant, FORBIDDEN without webhooks:manage. */
export async function findManageableEndpoint(actor: AuthenticatedPrincipal, id: string) {
  assertCan(actor, 'webhook:manage');
  const endpoint = await db.webhookEndpoint.findFirst({ where: { id, ...tenantReach(actor) }, include: withProjects });
  if (!endpoint) throw notFound('WebhookEndpoint');
  assertWithinScope(actor, { what: 'WebhookEndpoint', tenantId: endpoint.tenantId, organizationId: endpoint.organizationId });
  return endpoint;
}

async function checkedUrl(url: string): Promise<string> {
  return (await assertDeliverableUrl('url', url.trim(), { allowPrivateNetworks: getConfig().webhooks.allowPrivateNetworks })).toString();
}

function checkedEvents(events: readonly string[]): string[] {
  const unique = [...new Set(events.map((event) => event.trim()))];
  if (unique.length === 0) throw badInput('events', 'name at least one event type');
  const unknown = unique.filter((event) => !isWebhookEventType(event));
  if (unknown.length > 0) {
    throw badInput('events', `unknown event type ${unknown.slice(0, 3).join(', ')}; known: ${Object.keys(WEBHOOK_EVENT_TYPES).join(', ')}`);
  }
  return unique.sort();
}

/** Projects of the endpoint's organization; none means all of them. */
async function checkedProjects(organizationId: string, projectIds: readonly string[]): Promise<string[]> {
  const unique = [...new Set(projectIds)];
  if (unique.length > 100) throw badInput('projectIds', 'at most 100 projects');
  if (unique.length === 0) return [];
  const found = await db.project.count({ where: { id: { in: unique }, organizationId } });
  if (found !== unique.length) throw badInput('projectIds', 'every project must belong to the endpoint’s organization');
  return unique;
}

type Tx = Parameters<Parameters<typeof db.$transaction>[0]>[0];

function audit(tx: Tx, actor: AuthenticatedPrincipal, endpoint: { id: string; tenantId: string; organizationId: string; url: string }, action: string, extra: Record<string, unknown> = {}) {
  // The host only: a URL's path or query may carry the receiver's own token.
  return recordAudit(tx, actor, {
    tenantId: endpoint.tenantId,
    organizationId: endpoint.organizationId,
    action,
    targetType: 'WebhookEndpoint',
    targetId: endpoint.id,
    metadata: { host: new URL(endpoint.url).host, ...extra },
  });
}
