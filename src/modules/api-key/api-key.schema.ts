import { reach, requireAuthenticated, visibleUser } from '../../auth/access.js';
import { db } from '../../db.js';
import { builder } from '../../schema/builder.js';
import { CURSOR_ROW, keysetPage } from '../../schema/pagination.js';
import { User } from '../user/user.schema.js';
import { parseAddressRange } from '../../lib/ip.js';
import {
  apiKeyCount,
  apiKeyFilter,
  apiKeyListFilter,
  apiKeyUsage,
  createApiKey,
  expirationState,
  findReadableKey,
  revokeApiKey,
  rotateApiKey,
  updateApiKey,
} from './api-key.service.js';

export const ApiKeyRole = builder.enumType('ApiKeyRole', {
  description: 'What kind of key it is.',
  values: {
    API_USER: { description: 'A key of one tenant, acting within its group, organization and projects.' },
    ADMIN: { description: 'A system-tenant key acting in every tenant within its group; only platform administrators issue one.' },
  } as const,
});
export const ApiKeyStatus = builder.enumType('ApiKeyStatus', {
  description: 'Whether a key works.',
  values: {
    ACTIVE: { description: 'The key works (unless expired).' },
    REVOKED: { description: 'Revoked for good: it stays listed but never works again.' },
  } as const,
});
export const ExpirationState = builder.enumType('ExpirationState', {
  description: 'Where a key stands against its expiry, computed when read.',
  values: {
    VALID: { description: 'No expiry, or one further away than the warning window (7 days by default).' },
    EXPIRING_SOON: { description: 'Expires within the warning window.' },
    EXPIRED: { description: 'Past its expiry: it no longer works.' },
  } as const,
});
export const ProjectAccess = builder.enumType('ProjectAccess', {
  description: 'Which projects a key may act on.',
  values: {
    ALL: { description: 'Every project of its tenant (or organization), now and later.' },
    SELECTED: { description: 'Exactly the listed projects; none when they have all been deleted.' },
  } as const,
});
const ExpiresIn = builder.enumType('ExpiresIn', {
  description: 'Expiration policies, counted from creation (or from the rotation that sets them).',
  values: {
    NEVER: { description: 'The key does not expire.' },
    DAYS_7: { description: 'Expires in 7 days.' },
    DAYS_30: { description: 'Expires in 30 days.' },
    DAYS_60: { description: 'Expires in 60 days.' },
    DAYS_90: { description: 'Expires in 90 days.' },
  } as const,
});

export const ApiKey = builder.prismaObject('ApiKey', {
  description: 'An API key. Its secret is returned once, by createApiKey or rotateApiKey, and never again.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The key’s id (not its secret).' }),
    name: t.exposeString('name', { description: 'Display name, 2–200 characters.' }),
    description: t.exposeString('description', { description: 'Free text, at most 1000 characters.' }),
    prefix: t.exposeString('prefix', { description: 'The first characters of the secret, for recognizing the key.' }),
    role: t.expose('role', { type: ApiKeyRole, description: 'API_USER, or ADMIN for a system-tenant key acting in every tenant.' }),
    status: t.expose('status', { type: ApiKeyStatus, description: 'ACTIVE or REVOKED.' }),
    expirationState: t.field({ type: ExpirationState, description: 'VALID, EXPIRING_SOON or EXPIRED, as of now.', resolve: (key) => expirationState(key.expiresAt) }),
    authorizationGroup: t.relation('authorizationGroup', {
      description: 'The group whose permissions the key has. A revoked key keeps showing its group, even one deleted since.',
    }),
    tenant: t.relation('tenant', { description: 'The tenant the key belongs to.' }),
    organization: t.relation('organization', { nullable: true, description: 'The organization the key is bound to; null for a tenant-wide key.' }),
    projectAccess: t.expose('projectAccess', { type: ProjectAccess, description: 'ALL projects, or the SELECTED ones in `projects`.' }),
    projects: t.prismaField({
      type: ['Project'],
      description: 'The selected projects (empty when projectAccess is ALL); for a caller limited to projects itself, only those among them.',
      select: { id: true },
      // Another key's selection must not show a SELECTED caller projects beyond its own.
      resolve: (query, key, _args, { auth }) =>
        db.project.findMany({ ...query, where: { apiKeys: { some: { apiKeyId: key.id } }, ...reach(requireAuthenticated(auth)).project }, orderBy: { name: 'asc' } }),
    }),
    ipAllowlist: t.stringList({
      description: 'Addresses and CIDR ranges the key may be used from; empty allows any address.',
      resolve: (key) => (Array.isArray(key.ipAllowlist) ? (key.ipAllowlist as string[]).map((e) => parseAddressRange(e).text) : []),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the key was created.' }),
    createdBy: t.field({
      type: User,
      nullable: true,
      description: 'Who created the key; null when that user is outside your reach (a platform administrator) or gone.',
      select: { createdBy: true },
      resolve: (key, _args, { auth }) => visibleUser(auth, key.createdBy),
    }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true, description: 'When the key stops working; null for never.' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'When the key was last used, to the minute; null if never.' }),
    lastUsedIp: t.exposeString('lastUsedIp', { nullable: true, description: 'The client address of the last use; null if never used.' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true, description: 'When the key was revoked; null while active.' }),
    revokedBy: t.field({
      type: User,
      nullable: true,
      description: 'Who revoked the key; null when that user is outside your reach (a platform administrator) or gone.',
      select: { revokedBy: true },
      resolve: (key, _args, { auth }) => visibleUser(auth, key.revokedBy),
    }),
    rotatedAt: t.expose('rotatedAt', { type: 'DateTime', nullable: true, description: 'When the secret was last rotated; null if never.' }),
  }),
});

const ApiKeyUsage = builder.objectRef<{ active: number; limit: number }>('ApiKeyUsage').implement({
  description: 'Active keys against the tenant limit: the "2/10 keys" of a page header.',
  fields: (t) => ({
    active: t.exposeInt('active', { description: 'ACTIVE keys of the tenant now.' }),
    limit: t.exposeInt('limit', { description: 'The tenant’s maximum of ACTIVE keys.' }),
  }),
});

builder.queryFields((t) => ({
  apiKeys: t.prismaConnection(
    {
      type: 'ApiKey',
      cursor: 'id',
      description: 'Newest first. Without a status filter only ACTIVE keys are listed.',
      args: {
        tenantId: t.arg.id({ description: 'Platform administrators: the tenant to list.' }),
        status: t.arg({ type: [ApiKeyStatus], description: 'Default [ACTIVE]; add REVOKED to show revoked keys.' }),
        expirationState: t.arg({ type: [ExpirationState], description: 'Only keys in one of these expiration states.' }),
        policyViolation: t.arg.boolean({
          description: 'true: only keys that break their tenant’s key policy (issued before it got stricter); false: only keys that keep it.',
        }),
      },
      authScopes: { permission: 'api_keys:read' },
      resolve: async (query, _root, args, { auth }) => {
        const tenantId = args.tenantId?.toString();
        const where = await apiKeyListFilter(auth, { ...args, tenantId });
        // The cursor row need only be a key the caller sees, of any status: a key revoked (or
        // expired) since the last page still marks where the next one starts.
        const visible = apiKeyFilter(auth, { tenantId, status: ['ACTIVE', 'REVOKED'] });
        return db.apiKey.findMany({
          ...(await keysetPage(query, where, (id) => db.apiKey.findFirst({ where: { AND: [{ id }, visible] }, select: CURSOR_ROW }))),
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        });
      },
      totalCount: (_connection, args, { auth }) => apiKeyCount(auth, { ...args, tenantId: args.tenantId?.toString() }),
    },
    { name: 'ApiKeyConnection', description: 'A page of API keys.' },
    { name: 'ApiKeyEdge', description: 'An API key in a page.' },
  ),
  apiKey: t.prismaField({
    type: 'ApiKey',
    description: 'One API key. Needs api_keys:read; another tenant’s key is NOT_FOUND.',
    args: { id: t.arg.id({ required: true, description: 'The key’s id.' }) },
    authScopes: { permission: 'api_keys:read' },
    resolve: async (query, _root, { id }, { auth }) => {
      await findReadableKey(auth, String(id));
      return db.apiKey.findUniqueOrThrow({ ...query, where: { id: String(id) } });
    },
  }),
  apiKeyUsage: t.field({
    type: ApiKeyUsage,
    description: 'Active keys against the tenant’s limit. Needs api_keys:read.',
    args: { tenantId: t.arg.id({ description: 'Platform administrators: the tenant to read.' }) },
    authScopes: { permission: 'api_keys:read' },
    resolve: (_root, { tenantId }, { auth }) => apiKeyUsage(auth, tenantId?.toString()),
  }),
}));

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  description: 'A new API key.',
  fields: (t) => ({
    tenantId: t.id({ description: "Platform administrators: the tenant the key belongs to. Default: the caller's." }),
    name: t.string({ required: true, description: '2–200 characters, trimmed.' }),
    description: t.string({ description: 'At most 1000 characters.' }),
    authorizationGroupId: t.id({ required: true, description: 'A TENANT_API_KEY group of the same tenant.' }),
    role: t.field({ type: ApiKeyRole, description: 'Default API_USER; ADMIN only in the system tenant.' }),
    expiresAt: t.field({ type: 'DateTime', description: 'A future instant. Exclusive with expiresIn.' }),
    expiresIn: t.field({ type: ExpiresIn, description: 'An expiration policy. Default: never.' }),
    ipAllowlist: t.stringList({ description: 'IPv4/IPv6 addresses or CIDR ranges; an empty list allows any address (an empty entry is refused).' }),
    organizationId: t.id({ description: "Binds the key to one organization; others' resources are FORBIDDEN to it." }),
    projectAccess: t.field({ type: ProjectAccess, description: 'Default ALL.' }),
    projectIds: t.idList({ description: 'With projectAccess SELECTED: the projects the key may act on.' }),
  }),
});

const UpdateApiKeyInput = builder.inputType('UpdateApiKeyInput', {
  description: 'What an edit may change. Expiry and secret are not editable: rotate or create a key instead.',
  fields: (t) => ({
    name: t.string({ description: '2–200 characters, trimmed.' }),
    description: t.string({ description: 'At most 1000 characters.' }),
    authorizationGroupId: t.id({ description: 'A TENANT_API_KEY group of the key’s tenant, holding nothing you do not hold.' }),
    ipAllowlist: t.stringList({ description: 'Replaces the allowlist; an empty list allows any address (an empty entry is refused).' }),
  }),
});

const RotateApiKeyInput = builder.inputType('RotateApiKeyInput', {
  description: 'A new expiry for the rotated key, with the rules of creation; without one the expiry stays.',
  fields: (t) => ({
    expiresAt: t.field({ type: 'DateTime', description: 'A future instant. Exclusive with expiresIn.' }),
    expiresIn: t.field({ type: ExpiresIn, description: 'An expiration policy counted from now; NEVER removes the expiry.' }),
    gracePeriodMinutes: t.int({
      description: '1–1440: the replaced secret keeps working this many minutes (until previousSecretExpiresAt). Default: it stops at once.',
    }),
  }),
});

/** createApiKey and rotateApiKey answer the same way: the key, and its secret this once. */
function secretPayload(name: string) {
  return builder.objectRef<{ secret: string; apiKeyId: string }>(name).implement({
    description: 'The key and its full secret, shown this once.',
    fields: (t) => ({
      secret: t.exposeString('secret', { description: 'The full key. Shown only in this response: store it now.' }),
      apiKey: t.prismaField({
        type: 'ApiKey',
        description: 'The key.',
        resolve: (query, parent) => db.apiKey.findUniqueOrThrow({ ...query, where: { id: parent.apiKeyId } }),
      }),
    }),
  });
}

const CreateApiKeyPayload = secretPayload('CreateApiKeyPayload');
const RotateApiKeyPayload = secretPayload('RotateApiKeyPayload');

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreateApiKeyPayload,
    description: 'Creates a key and returns its secret, once. Needs a session with api_keys:manage holding every permission of the key’s group.',
    args: { input: t.arg({ type: CreateApiKeyInput, required: true, description: 'The new key.' }) },
    authScopes: { can: 'api_key:manage' },
    resolve: async (_root, { input }, { auth }) => {
      const { apiKey, secret } = await createApiKey(auth, {
        ...input,
        tenantId: input.tenantId?.toString(),
        authorizationGroupId: String(input.authorizationGroupId),
        organizationId: input.organizationId?.toString(),
        projectIds: input.projectIds?.map(String),
      });
      return { secret, apiKeyId: apiKey.id };
    },
  }),
  updateApiKey: t.prismaField({
    type: 'ApiKey',
    description: 'Edits a key’s name, description, group or IP allowlist. Needs a session with api_keys:manage.',
    args: {
      id: t.arg.id({ required: true, description: 'The key to edit.' }),
      input: t.arg({ type: UpdateApiKeyInput, required: true, description: 'The changes.' }),
    },
    authScopes: { can: 'api_key:manage' },
    resolve: async (query, _root, { id, input }, { auth }) => {
      await updateApiKey(auth, String(id), { ...input, authorizationGroupId: input.authorizationGroupId?.toString() });
      return db.apiKey.findUniqueOrThrow({ ...query, where: { id: String(id) } });
    },
  }),
  rotateApiKey: t.field({
    type: RotateApiKeyPayload,
    description:
      'Gives the key a new secret (returned once); the old one stops working at once, or after gracePeriodMinutes. Optionally sets a new expiry. Needs a session with api_keys:manage.',
    args: {
      id: t.arg.id({ required: true, description: 'The key to rotate.' }),
      input: t.arg({ type: RotateApiKeyInput, description: 'A new expiry; omit to keep the current one.' }),
    },
    authScopes: { can: 'api_key:manage' },
    resolve: async (_root, { id, input }, { auth }) => {
      const { apiKey, secret } = await rotateApiKey(auth, String(id), {
        expiresAt: input?.expiresAt,
        expiresIn: input?.expiresIn,
        gracePeriodMinutes: input?.gracePeriodMinutes,
      });
      return { secret, apiKeyId: apiKey.id };
    },
  }),
  revokeApiKey: t.prismaField({
    type: 'ApiKey',
    description: 'Revokes a key at once and for good; it stays listed as REVOKED. Needs a session with api_keys:manage.',
    args: { id: t.arg.id({ required: true, description: 'The key to revoke.' }) },
    authScopes: { can: 'api_key:manage' },
    resolve: async (query, _root, { id }, { auth }) => {
      await revokeApiKey(auth, String(id));
      return db.apiKey.findUniqueOrThrow({ ...query, where: { id: String(id) } });
    },
  }),
}));
