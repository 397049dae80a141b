/** `viewer`: the principal of this request, as the auth plugin resolved it. Never a secret. */
import type { Principal } from '../../auth/principal.js';
import { db } from '../../db.js';
import { builder } from '../../schema/builder.js';
import { ProjectAccess } from '../api-key/api-key.schema.js';

const PrincipalKind = builder.enumType('PrincipalKind', { values: ['ANONYMOUS', 'SESSION', 'API_KEY'] as const });

const Viewer = builder.objectRef<Principal>('Viewer').implement({
  description: 'Who is calling: a session, an API key, or nobody.',
  fields: (t) => ({
    kind: t.field({ type: PrincipalKind, resolve: (p) => p.kind }),
    permissions: t.stringList({ resolve: (p) => (p.kind === 'ANONYMOUS' ? [] : [...p.permissions].sort()) }),
    crossTenant: t.boolean({
      description: 'Platform administrators and ADMIN keys act in every tenant.',
      resolve: (p) => p.kind !== 'ANONYMOUS' && p.crossTenant,
    }),
    projectAccess: t.field({
      type: ProjectAccess,
      nullable: true,
      description: 'For API keys: ALL, or SELECTED with `projects`.',
      resolve: (p) => (p.kind === 'API_KEY' ? p.apiKey.projectAccess : null),
    }),
  }),
});

builder.objectFields(Viewer, (t) => ({
  user: t.prismaField({
    type: 'User',
    nullable: true,
    resolve: (query, p) => (p.kind === 'SESSION' ? db.user.findUnique({ ...query, where: { id: p.user.id } }) : null),
  }),
  apiKey: t.prismaField({
    type: 'ApiKey',
    nullable: true,
    resolve: (query, p) => (p.kind === 'API_KEY' ? db.apiKey.findUnique({ ...query, where: { id: p.apiKey.id } }) : null),
  }),
  tenant: t.prismaField({
    type: 'Tenant',
    nullable: true,
    resolve: (query, p) => (p.kind === 'ANONYMOUS' ? null : db.tenant.findUnique({ ...query, where: { id: p.tenantId } })),
  }),
  organization: t.prismaField({
    type: 'Organization',
    nullable: true,
    description: 'The organization an API key is bound to, if any.',
    resolve: (query, p) =>
      p.kind === 'API_KEY' && p.apiKey.organizationId
        ? db.organization.findUnique({ ...query, where: { id: p.apiKey.organizationId } })
        : null,
  }),
  projects: t.prismaField({
    type: ['Project'],
    description: 'For SELECTED keys, the projects they may act on.',
    resolve: (query, p) =>
      p.kind === 'API_KEY' && p.apiKey.projectAccess === 'SELECTED'
        ? db.project.findMany({ ...query, where: { id: { in: [...p.apiKey.projectIds] } }, orderBy: { name: 'asc' } })
        : [],
  }),
}));

builder.queryField('viewer', (t) => t.field({ type: Viewer, resolve: (_root, _args, { auth }) => auth }));
