/**
 * Key lifecycle safety (issue 17), on top of the API-key and tenant types: rotation grace
 * fields and `endRotationGrace`, leak reports by administrators, tenant key policies, and
 * usage counts. The HTTP leak-report endpoint is leak-report.ts; the CLI scanner cli/scan.ts.
 */
import { db } from '../../db.js';
import { builder } from '../../schema/builder.js';
import { endRotationGrace } from './api-key.service.js';
import { keyPolicyOf, updateTenantKeyPolicy, type KeyPolicy } from './key-policy.js';
import { reportLeakedApiKey, type LeakAction as LeakActionValue } from './leak.service.js';
import { registerListSize } from '../../security/query-cost.js';
import { keyUsage, usageBucketCount, type UsageBucket } from './usage.service.js';

// ── Rotation grace ───────────────────────────────────────────────────────────────────────

builder.prismaObjectFields('ApiKey', (t) => ({
  previousSecretExpiresAt: t.expose('previousSecretExpiresAt', {
    type: 'DateTime',
    nullable: true,
    description:
      'Until when the secret replaced by the last rotation keeps working (its grace period); in the past once the grace is over or was ended; null when the last rotation had no grace.',
  }),
  previousSecretLastUsedAt: t.expose('previousSecretLastUsedAt', {
    type: 'DateTime',
    nullable: true,
    description: 'When the previous secret was last used during the current grace, to the minute; null if it has not been. Shows when every client has moved to the new secret.',
  }),
}));

builder.mutationFields((t) => ({
  endRotationGrace: t.prismaField({
    type: 'ApiKey',
    description:
      'Ends a rotation grace at once: the previous secret stops working on every instance within the same bound as a revoke. Needs a session with api_keys:manage.',
    args: { id: t.arg.id({ required: true, description: 'The key whose previous secret should stop working.' }) },
    authScopes: { can: 'api_key:manage' },
    resolve: async (query, _root, { id }, { auth }) => {
      await endRotationGrace(auth, String(id));
      return db.apiKey.findUniqueOrThrow({ ...query, where: { id: String(id) } });
    },
  }),
}));

// ── Leak response ────────────────────────────────────────────────────────────────────────

const LeakResponse = builder.enumType('LeakResponse', {
  description: 'What happens to a key of the tenant when it is reported as leaked.',
  values: {
    REVOKE: { description: 'Revoke it at once (or, for the previous secret of a rotation grace, end the grace). The default.' },
    NOTIFY: { description: 'Change nothing; record an audit event and send the api_key.leaked webhook event.' },
  } as const,
});

const LeakAction = builder.enumType('LeakAction', {
  description: 'What a leak report did to the key.',
  values: {
    REVOKED: { description: 'The key was revoked.' },
    GRACE_ENDED: { description: 'The leaked secret was the previous one of a rotation grace; the grace was ended, the current secret still works.' },
    NOTIFIED: { description: 'The tenant’s policy is NOTIFY: nothing changed, the report was recorded and announced.' },
    NONE: { description: 'The secret no longer worked (key revoked, or grace over): nothing to do; the report was recorded.' },
  } as const,
});

const LeakedApiKeyReport = builder.objectRef<{ action: LeakActionValue; apiKeyId: string }>('LeakedApiKeyReport').implement({
  description: 'The outcome of reportLeakedApiKey.',
  fields: (t) => ({
    action: t.field({ type: LeakAction, description: 'What was done to the key.', resolve: (report) => report.action }),
    apiKey: t.prismaField({
      type: 'ApiKey',
      description: 'The key the secret belongs to.',
      resolve: (query, report) => db.apiKey.findUniqueOrThrow({ ...query, where: { id: report.apiKeyId } }),
    }),
  }),
});

builder.mutationFields((t) => ({
  reportLeakedApiKey: t.field({
    type: LeakedApiKeyReport,
    description:
      'Reports a secret found where it should not be; the key’s tenant policy decides (REVOKE or NOTIFY), with an api_key.leaked audit and webhook event. Needs a session with api_keys:manage; a secret of another tenant’s key is NOT_FOUND. The secret is never stored or logged.',
    args: { secret: t.arg.string({ required: true, description: 'The full secret that leaked.' }) },
    authScopes: { can: 'api_key:manage' },
    resolve: (_root, { secret }, { auth }) => reportLeakedApiKey(auth, secret),
  }),
}));

// ── Tenant key policies ──────────────────────────────────────────────────────────────────

const TenantKeyPolicy = builder.objectRef<KeyPolicy>('TenantKeyPolicy').implement({
  description: 'Rules for the tenant’s API keys, enforced when a secret is issued (createApiKey, rotateApiKey).',
  fields: (t) => ({
    maxLifetimeDays: t.exposeInt('maxLifetimeDays', {
      nullable: true,
      description: 'A key must expire at most this many days after its secret is issued; null for no maximum.',
    }),
    requireExpiry: t.exposeBoolean('requireExpiry', { description: 'Every key must have an expiry.' }),
    requireIpAllowlist: t.exposeBoolean('requireIpAllowlist', { description: 'Every key must have a non-empty IP allowlist.' }),
    leakResponse: t.field({ type: LeakResponse, description: 'What a leak report does to a key (default REVOKE).', resolve: (p) => p.leakResponse }),
  }),
});

builder.prismaObjectFields('Tenant', (t) => ({
  keyPolicy: t.field({
    type: TenantKeyPolicy,
    description: 'The tenant’s key policy.',
    select: { keyPolicyMaxLifetimeDays: true, keyPolicyRequireExpiry: true, keyPolicyRequireIpAllowlist: true, keyPolicyLeakResponse: true },
    resolve: (tenant) => keyPolicyOf(tenant),
  }),
}));

const UpdateTenantKeyPolicyInput = builder.inputType('UpdateTenantKeyPolicyInput', {
  description: 'Changes to a tenant’s key policy; omitted fields stay as they are.',
  fields: (t) => ({
    maxLifetimeDays: t.int({ description: '1–3650 days; null removes the maximum.' }),
    requireExpiry: t.boolean({ description: 'Whether every key must have an expiry.' }),
    requireIpAllowlist: t.boolean({ description: 'Whether every key must have an IP allowlist.' }),
    leakResponse: t.field({ type: LeakResponse, description: 'REVOKE or NOTIFY.' }),
  }),
});

builder.mutationFields((t) => ({
  updateTenantKeyPolicy: t.prismaField({
    type: 'Tenant',
    description:
      'Sets a tenant’s key policy. Tenant administrators for their tenant, platform administrators for any. Keys issued before a stricter policy are listed by apiKeys(policyViolation: true).',
    args: {
      tenantId: t.arg.id({ required: true, description: 'The tenant whose policy changes.' }),
      input: t.arg({ type: UpdateTenantKeyPolicyInput, required: true, description: 'The changes.' }),
    },
    authScopes: { can: 'tenant:key_policy' },
    resolve: async (query, _root, { tenantId, input }, { auth }) => {
      const updated = await updateTenantKeyPolicy(auth, String(tenantId), input);
      return db.tenant.findUniqueOrThrow({ ...query, where: { id: updated.id } });
    },
  }),
}));

// ── Usage counts ─────────────────────────────────────────────────────────────────────────

const UsageInterval = builder.enumType('UsageInterval', {
  description: 'The width of a usage bucket.',
  values: {
    HOUR: { description: 'One bucket per UTC hour.' },
    DAY: { description: 'One bucket per UTC day.' },
  } as const,
});

const UsageRejections = builder.objectRef<UsageBucket['rejectedBy']>('ApiKeyUsageRejections').implement({
  description: 'Refused requests by reason.',
  fields: (t) => ({
    forbidden: t.exposeInt('forbidden', { description: 'Refused for lack of permission or scope (FORBIDDEN).' }),
    ipAddress: t.exposeInt('ipAddress', { description: 'From an address outside the key’s IP allowlist.' }),
    rateLimit: t.exposeInt('rateLimit', { description: 'Over the per-key or per-tenant rate limit.' }),
    budget: t.exposeInt('budget', { description: 'Over the group’s query-cost budget.' }),
    untrustedOperation: t.exposeInt('untrustedOperation', { description: 'An operation the key’s group does not trust.' }),
  }),
});

const UsageBucketRef = builder.objectRef<UsageBucket>('ApiKeyUsageBucket').implement({
  description: 'Requests made with a key in one hour or day.',
  fields: (t) => ({
    start: t.field({ type: 'DateTime', description: 'The start of the bucket (UTC).', resolve: (b) => b.start }),
    accepted: t.exposeInt('accepted', { description: 'Requests served.' }),
    acceptedWithPreviousSecret: t.exposeInt('acceptedPreviousSecret', {
      description: 'Of the accepted requests, those made with the previous secret during a rotation grace.',
    }),
    rejected: t.exposeInt('rejected', { description: 'Requests refused, all reasons together.' }),
    rejectedBy: t.field({ type: UsageRejections, description: 'Refused requests by reason.', resolve: (b) => b.rejectedBy }),
  }),
});

// Priced by the rows it returns, as a page of `first` rows is.
registerListSize('ApiKey', 'usage', (argument) => usageBucketCount(argument('from'), argument('to'), argument('interval') ?? 'HOUR'));

builder.prismaObjectFields('ApiKey', (t) => ({
  usage: t.field({
    type: [UsageBucketRef],
    description:
      'Requests made with this key per hour or day, zeros included, over at most the last 90 days (counts are kept that long). Written within KEYGATE_LAST_USED_FLUSH_MS of the requests.',
    args: {
      from: t.arg({ type: 'DateTime', required: true, description: 'The first bucket is the one holding this instant.' }),
      to: t.arg({ type: 'DateTime', required: true, description: 'Buckets start before this instant.' }),
      interval: t.arg({ type: UsageInterval, defaultValue: 'HOUR', description: 'HOUR (default) or DAY.' }),
    },
    select: { id: true },
    resolve: (key, { from, to, interval }) => keyUsage(key.id, from, to, interval ?? 'HOUR'),
  }),
}));
