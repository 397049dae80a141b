/** `viewer`: the principal of this request, as the auth plugin resolved it. Never a secret. */
import type { Principal } from '../../auth/principal.js';
import { db } from '../../db.js';
import { builder } from '../../schema/builder.js';
import { ApiKey, ProjectAccess } from '../api-key/api-key.schema.js';
import { Organization } from '../organization/organization.schema.js';
import { Project } from '../project/project.schema.js';
import { Tenant } from '../tenant/tenant.schema.js';
import { User } from '../user/user.schema.js';

const PrincipalKind = builder.enumType('PrincipalKind', {
  description: 'How the caller authenticated.',
  values: {
    ANONYMOUS: { description: 'No credential.' },
    SESSION: { description: 'A signed-in user’s session token.' },
    API_KEY: { description: 'An API key.' },
  } as const,
});

const Viewer = builder.objectRef<Principal>('Viewer').implement({
  description: 'Who is calling: a session, an API key, or nobody.',
  fields: (t) => ({
    kind: t.field({ type: PrincipalKind, description: 'ANONYMOUS, SESSION or API_KEY.', resolve: (p) => p.kind }),
    permissions: t.stringList({ description: 'The permissions the caller holds, sorted.', resolve: (p) => (p.kind === 'ANONYMOUS' ? [] : [...p.permissions].sort()) }),
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

// Plain fields returning Prisma object types: most viewers leave most of these null, and a
// prismaField that returns null without running its query only earns a warning. Pothos
// loads any nested relation a client selects on its own.
builder.objectFields(Viewer, (t) => ({
  user: t.field({
    type: User,
    nullable: true,
    description: 'For sessions: the signed-in user.',
    resolve: (p) => (p.kind === 'SESSION' ? db.user.findUnique({ where: { id: p.user.id } }) : null),
  }),
  apiKey: t.field({
    type: ApiKey,
    nullable: true,
    description: 'For API keys: the key (never its secret).',
    resolve: (p) => (p.kind === 'API_KEY' ? db.apiKey.findUnique({ where: { id: p.apiKey.id } }) : null),
  }),
  tenant: t.field({
    type: Tenant,
    nullable: true,
    description: 'The caller’s own tenant; null when anonymous.',
    resolve: (p) => (p.kind === 'ANONYMOUS' ? null : db.tenant.findUnique({ where: { id: p.tenantId } })),
  }),
  organization: t.field({
    type: Organization,
    nullable: true,
    description: 'The organization an API key is bound to, if any.',
    resolve: (p) =>
      p.kind === 'API_KEY' && p.apiKey.organizationId ? db.organization.findUnique({ where: { id: p.apiKey.organizationId } }) : null,
  }),
  projects: t.field({
    type: [Project],
    description: 'For SELECTED keys, the projects they may act on.',
    resolve: (p) =>
      p.kind === 'API_KEY' && p.apiKey.projectAccess === 'SELECTED'
        ? db.project.findMany({ where: { id: { in: [...p.apiKey.projectIds] } }, orderBy: { name: 'asc' } })
        : [],
  }),
}));

builder.queryField('viewer', (t) =>
  t.field({
    type: Viewer,
    description: 'The caller as keygate sees it. Public: anonymous callers get kind ANONYMOUS.',
    skipTypeScopes: true,
    resolve: (_root, _args, { auth }) => auth,
  }),
);
