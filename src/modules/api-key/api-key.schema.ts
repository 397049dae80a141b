import { visibleUser } from '../../auth/access.js';
import { db } from '../../db.js';
import { builder } from '../../schema/builder.js';
import { CURSOR_ROW, keysetPage } from '../../schema/pagination.js';
import { User } from '../user/user.schema.js';
import { parseAddressRange } from '../../lib/ip.js';
import {
  apiKeyCount,
  apiKeyFilter,
  apiKeyUsage,
  createApiKey,
  expirationState,
  findReadableKey,
  revokeApiKey,
  rotateApiKey,
  updateApiKey,
} from './api-key.service.js';

export const ApiKeyRole = builder.enumType('ApiKeyRole', { values: ['API_USER', 'ADMIN'] as const });
export const ApiKeyStatus = builder.enumType('ApiKeyStatus', { values: ['ACTIVE', 'REVOKED'] as const });
export const ExpirationState = builder.enumType('ExpirationState', {
  values: ['VALID', 'EXPIRING_SOON', 'EXPIRED'] as const,
});
export const ProjectAccess = builder.enumType('ProjectAccess', { values: ['ALL', 'SELECTED'] as const });
const ExpiresIn = builder.enumType('ExpiresIn', {
  description: 'Expiration policies, counted from creation.',
  values: ['NEVER', 'DAYS_7', 'DAYS_30', 'DAYS_60', 'DAYS_90'] as const,
});

export const ApiKey = builder.prismaObject('ApiKey', {
  description: 'An API key. Its secret is returned once, by createApiKey or rotateApiKey, and never again.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    prefix: t.exposeString('prefix', { description: 'The first characters of the secret, for recognizing the key.' }),
    role: t.expose('role', { type: ApiKeyRole }),
    status: t.expose('status', { type: ApiKeyStatus }),
    expirationState: t.field({ type: ExpirationState, resolve: (key) => expirationState(key.expiresAt) }),
    authorizationGroup: t.relation('authorizationGroup'),
    tenant: t.relation('tenant'),
    organization: t.relation('organization', { nullable: true }),
    projectAccess: t.expose('projectAccess', { type: ProjectAccess }),
    projects: t.prismaField({
      type: ['Project'],
      description: 'The selected projects (empty when projectAccess is ALL).',
      select: { id: true },
      resolve: (query, key) =>
        db.project.findMany({ ...query, where: { apiKeys: { some: { apiKeyId: key.id } } }, orderBy: { name: 'asc' } }),
    }),
    ipAllowlist: t.stringList({
      resolve: (key) => (Array.isArray(key.ipAllowlist) ? (key.ipAllowlist as string[]).map((e) => parseAddressRange(e).text) : []),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    createdBy: t.field({
      type: User,
      nullable: true,
      description: 'Who created the key; null when that user is outside your reach (a platform administrator) or gone.',
      select: { createdBy: true },
      resolve: (key, _args, { auth }) => visibleUser(auth, key.createdBy),
    }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
    lastUsedIp: t.exposeString('lastUsedIp', { nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    revokedBy: t.field({
      type: User,
      nullable: true,
      description: 'Who revoked the key; null when that user is outside your reach (a platform administrator) or gone.',
      select: { revokedBy: true },
      resolve: (key, _args, { auth }) => visibleUser(auth, key.revokedBy),
    }),
    rotatedAt: t.expose('rotatedAt', { type: 'DateTime', nullable: true }),
  }),
});

const ApiKeyUsage = builder.objectRef<{ active: number; limit: number }>('ApiKeyUsage').implement({
  description: 'Active keys against the tenant limit: the "2/10 keys" of a page header.',
  fields: (t) => ({ active: t.exposeInt('active'), limit: t.exposeInt('limit') }),
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
        expirationState: t.arg({ type: [ExpirationState] }),
      },
      authScopes: { permission: 'api_keys:read' },
      resolve: async (query, _root, args, { auth }) => {
        const where = apiKeyFilter(auth, { ...args, tenantId: args.tenantId?.toString() });
        return db.apiKey.findMany({
          ...(await keysetPage(query, where, (id) => db.apiKey.findFirst({ where: { id, ...where }, select: CURSOR_ROW }))),
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        });
      },
      totalCount: (_connection, args, { auth }) => apiKeyCount(auth, { ...args, tenantId: args.tenantId?.toString() }),
    },
    { name: 'ApiKeyConnection' },
    { name: 'ApiKeyEdge' },
  ),
  apiKey: t.prismaField({
    type: 'ApiKey',
    args: { id: t.arg.id({ required: true }) },
    authScopes: { permission: 'api_keys:read' },
    resolve: async (query, _root, { id }, { auth }) => {
      await findReadableKey(auth, String(id));
      return db.apiKey.findUniqueOrThrow({ ...query, where: { id: String(id) } });
    },
  }),
  apiKeyUsage: t.field({
    type: ApiKeyUsage,
    args: { tenantId: t.arg.id() },
    authScopes: { permission: 'api_keys:read' },
    resolve: (_root, { tenantId }, { auth }) => apiKeyUsage(auth, tenantId?.toString()),
  }),
}));

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  fields: (t) => ({
    tenantId: t.id({ description: "Platform administrators: the tenant the key belongs to. Default: the caller's." }),
    name: t.string({ required: true, description: '2–200 characters, trimmed.' }),
    description: t.string({ description: 'At most 1000 characters.' }),
    authorizationGroupId: t.id({ required: true, description: 'A TENANT_API_KEY group of the same tenant.' }),
    role: t.field({ type: ApiKeyRole, description: 'Default API_USER; ADMIN only in the system tenant.' }),
    expiresAt: t.field({ type: 'DateTime', description: 'A future instant. Exclusive with expiresIn.' }),
    expiresIn: t.field({ type: ExpiresIn, description: 'An expiration policy. Default: never.' }),
    ipAllowlist: t.stringList({ description: 'IPv4/IPv6 addresses or CIDR ranges; empty allows any address.' }),
    organizationId: t.id({ description: "Binds the key to one organization; others' resources are FORBIDDEN to it." }),
    projectAccess: t.field({ type: ProjectAccess, description: 'Default ALL.' }),
    projectIds: t.idList({ description: 'With projectAccess SELECTED: the projects the key may act on.' }),
  }),
});

const UpdateApiKeyInput = builder.inputType('UpdateApiKeyInput', {
  description: 'What an edit may change. Expiry and secret are not editable: rotate or create a key instead.',
  fields: (t) => ({
    name: t.string(),
    description: t.string(),
    authorizationGroupId: t.id(),
    ipAllowlist: t.stringList(),
  }),
});

/** createApiKey and rotateApiKey answer the same way: the key, and its secret this once. */
function secretPayload(name: string) {
  return builder.objectRef<{ secret: string; apiKeyId: string }>(name).implement({
    fields: (t) => ({
      secret: t.exposeString('secret', { description: 'The full key. Shown only in this response: store it now.' }),
      apiKey: t.prismaField({
        type: 'ApiKey',
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
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    authScopes: { session: true },
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
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateApiKeyInput, required: true }) },
    authScopes: { session: true },
    resolve: async (query, _root, { id, input }, { auth }) => {
      await updateApiKey(auth, String(id), { ...input, authorizationGroupId: input.authorizationGroupId?.toString() });
      return db.apiKey.findUniqueOrThrow({ ...query, where: { id: String(id) } });
    },
  }),
  rotateApiKey: t.field({
    type: RotateApiKeyPayload,
    args: { id: t.arg.id({ required: true }) },
    authScopes: { session: true },
    resolve: async (_root, { id }, { auth }) => {
      const { apiKey, secret } = await rotateApiKey(auth, String(id));
      return { secret, apiKeyId: apiKey.id };
    },
  }),
  revokeApiKey: t.prismaField({
    type: 'ApiKey',
    args: { id: t.arg.id({ required: true }) },
    authScopes: { session: true },
    resolve: async (query, _root, { id }, { auth }) => {
      await revokeApiKey(auth, String(id));
      return db.apiKey.findUniqueOrThrow({ ...query, where: { id: String(id) } });
    },
  }),
}));
