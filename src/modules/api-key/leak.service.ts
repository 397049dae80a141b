/**
 * Leak response: what keygate does when a key's secret is reported as exposed, by a secret
 * scanner (POST /leaks/report, leak-report.ts) or by an administrator (reportLeakedApiKey).
 * All of it happens in `respondToLeak`, in one transaction:
 *
 * - the tenant's `keyPolicy.leakResponse` decides: REVOKE (the default) revokes the key, or,
 *   when the leaked secret is the previous one of a rotation grace, ends that grace (the
 *   current secret was never exposed); NOTIFY changes nothing and only tells (audit event,
 *   webhook event) so a team can rotate on its own schedule;
 * - an `api_key.leaked` audit event records the report (key prefix, source, where it was
 *   found, what was done) — never the secret;
 * - the `api_key.leaked` webhook event is enqueued in the same transaction (and
 *   `api_key.revoked` when the key was revoked).
 *
 * The secret itself is only ever digested: it is not logged, stored or put in an error.
 */
import { assertCan, assertMayIssueKeyRole, assertWithinScope, type Target } from '../../auth/access.js';
import { digestSecret, parseKey, type KeyFormat } from '../../auth/credentials.js';
import { publishKeyChange } from '../../auth/invalidation.js';
import type { AuthenticatedPrincipal, Principal } from '../../auth/principal.js';
import { getConfig } from '../../config.js';
import { db, type Tx } from '../../db.js';
import { badInput, notFound } from '../../errors.js';
import { recordAudit } from '../audit/audit.service.js';
import { announceKeyEvent, apiKeyEventData, enqueueEvent } from '../webhook/events.js';
import { endedGrace } from './api-key.service.js';

export type LeakAction = 'REVOKED' | 'GRACE_ENDED' | 'NOTIFIED' | 'NONE';

export type LeakSource =
  | { kind: 'REPORT'; reporter: string; url?: string | null; sourceType?: string | null }
  | { kind: 'ADMIN'; actor: AuthenticatedPrincipal };

type LeakedKey = NonNullable<Awaited<ReturnType<typeof findKeyBySecret>>>;

/**
 * The key this secret belongs to (as its current secret, or its previous one while the grace
 * lasts), or null; no database call for a non-key. A previous secret whose grace is over works
 * nowhere, even before the hourly clean-up forgets its digest: it is no key's.
 */
export async function findKeyBySecret(format: KeyFormat, secret: string, now = new Date()) {
  if (!parseKey(format, secret)) return null;
  const digest = digestSecret(secret);
  const key = await db.apiKey.findFirst({
    where: { OR: [{ secretDigest: digest }, { previousSecretDigest: digest, previousSecretExpiresAt: { gt: now } }] },
  });
  return key ? { key, matchedPreviousSecret: key.previousSecretDigest === digest } : null;
}

/** Applies the tenant's leak response to a reported key. Returns what was done. */
export async function respondToLeak({ key, matchedPreviousSecret }: LeakedKey, source: LeakSource): Promise<LeakAction> {
  const action = await db.$transaction(async (tx) => {
    const tenant = await tx.tenant.findUniqueOrThrow({ where: { id: key.tenantId }, select: { keyPolicyLeakResponse: true } });
    const action = await applyLeakResponse(tx, key, matchedPreviousSecret, tenant.keyPolicyLeakResponse);
    const metadata: Record<string, unknown> & { response: string; secret: string; source: string; url?: string | null } = {
      prefix: key.prefix,
      response: tenant.keyPolicyLeakResponse,
      action,
      secret: matchedPreviousSecret ? 'PREVIOUS' : 'CURRENT',
      source: source.kind === 'REPORT' ? 'report' : 'admin',
      ...(source.kind === 'REPORT'
        ? { reporterKey: source.reporter, url: source.url?.slice(0, 500) ?? null, sourceType: source.sourceType?.slice(0, 100) ?? null }
        : {}),
    };
    await recordAudit(tx, source.kind === 'ADMIN' ? source.actor : 'SYSTEM', {
      tenantId: key.tenantId,
      organizationId: key.organizationId,
      action: 'api_key.leaked',
      targetType: 'ApiKey',
      targetId: key.id,
      metadata,
    });
    // The `api_key.leaked` webhook event, in this transaction (a revoke also announces itself
    // as `api_key.revoked`, like revokeApiKey, for endpoints that listen to that one only).
    const announced = { ...key, status: action === 'REVOKED' ? 'REVOKED' : key.status };
    await enqueueEvent(tx, {
      tenantId: key.tenantId,
      organizationId: key.organizationId,
      type: 'api_key.leaked',
      data: { ...apiKeyEventData(announced), leak: { response: metadata.response, action, secret: metadata.secret, source: metadata.source, url: metadata.url ?? null } },
    });
    if (action === 'REVOKED') await announceKeyEvent(tx, announced, 'api_key.revoked');
    return action;
  });
  if (action === 'REVOKED' || action === 'GRACE_ENDED') publishKeyChange({ keyId: key.id });
  return action;
}

async function applyLeakResponse(tx: Tx, key: LeakedKey['key'], matchedPreviousSecret: boolean, response: 'REVOKE' | 'NOTIFY'): Promise<LeakAction> {
  const now = new Date();
  if (key.status === 'REVOKED') return 'NONE';
  if (matchedPreviousSecret && (!key.previousSecretExpiresAt || key.previousSecretExpiresAt <= now)) return 'NONE';
  if (response === 'NOTIFY') return 'NOTIFIED';
  if (matchedPreviousSecret) {
    const { count } = await tx.apiKey.updateMany({ where: { id: key.id, previousSecretDigest: key.previousSecretDigest }, data: endedGrace(key, now) });
    return count ? 'GRACE_ENDED' : 'NONE';
  }
  // Conditional on ACTIVE, like revokeApiKey: a concurrent revoke frees the tenant's slot once.
  const { count } = await tx.apiKey.updateMany({
    where: { id: key.id, status: 'ACTIVE' },
    data: { status: 'REVOKED', revokedAt: now, revokedById: null, ...endedGrace(key, now) },
  });
  if (count === 0) return 'NONE';
  await tx.tenant.update({ where: { id: key.tenantId }, data: { activeApiKeyCount: { decrement: 1 } } });
  return 'REVOKED';
}

/**
 * `reportLeakedApiKey(secret)`: an administrator found a secret somewhere it should not be.
 * Needs what revoking needs (a session with api_keys:manage); a secret of a key outside the
 * caller's tenant is NOT_FOUND, like an unknown one, so this cannot probe other tenants.
 */
export async function reportLeakedApiKey(principal: Principal, secret: string) {
  const actor = assertCan(principal, 'api_key:manage');
  const format = getConfig().keyFormat;
  const candidate = secret.trim();
  // Never quote the input: it is a secret.
  if (!parseKey(format, candidate)) throw badInput('secret', "is not an API key of this deployment's format, or its checksum does not match");
  const found = await findKeyBySecret(format, candidate);
  if (!found) throw notFound('API key');
  const target: Target = { what: 'API key', tenantId: found.key.tenantId, organizationId: found.key.organizationId };
  assertWithinScope(actor, target);
  // As for a revoke: an ADMIN key acts in every tenant, so only a platform administrator handles one.
  assertMayIssueKeyRole(actor, found.key.role);
  const action = await respondToLeak(found, { kind: 'ADMIN', actor });
  return { action, apiKeyId: found.key.id };
}
