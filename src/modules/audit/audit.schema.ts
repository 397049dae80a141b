import { db } from '../../db.js';
import { builder } from '../../schema/builder.js';
import { ActorKind } from '../../schema/enums.js';
import { CURSOR_ROW, keysetPage } from '../../schema/pagination.js';
import { auditEventFilter, visibleActorId } from './audit.service.js';

builder.prismaObject('AuditEvent', {
  description: 'One recorded change: who did what to which object, and when.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The event’s id.' }),
    action: t.exposeString('action', { description: 'What happened, e.g. api_key.created, workspace.deleted.' }),
    actorKind: t.expose('actorKind', { type: ActorKind, description: 'What kind of principal made the change.' }),
    actorId: t.id({
      nullable: true,
      description:
        "The user or key that made the change. Null for the system, for operators from outside the tenant (platform administrators), and for users when read with an API key: these are shown by their kind only.",
      select: { tenantId: true, actorKind: true, actorId: true, actorTenantId: true },
      resolve: (event, _args, { auth }) => visibleActorId(auth, event),
    }),
    targetType: t.exposeString('targetType', { description: 'The kind of object changed, e.g. ApiKey.' }),
    targetId: t.exposeID('targetId', { description: 'The id of the object changed.' }),
    metadata: t.expose('metadata', { type: 'JSON', description: 'Non-secret details: names, key prefixes, changed fields.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the change was made.' }),
  }),
});

builder.queryField('auditEvents', (t) =>
  t.prismaConnection(
    {
      type: 'AuditEvent',
      cursor: 'id',
      description: 'The audit trail, newest first. An organization-bound key reads only its organization’s events.',
      args: {
        tenantId: t.arg.id({ description: 'Platform administrators: the tenant to read.' }),
        action: t.arg.string({ description: 'Only events with this action.' }),
        targetId: t.arg.id({ description: 'Only events about this object.' }),
      },
      authScopes: { permission: 'audit:read' },
      resolve: async (query, _root, args, { auth }) => {
        const where = auditEventFilter(auth, { tenantId: args.tenantId?.toString(), action: args.action, targetId: args.targetId?.toString() });
        return db.auditEvent.findMany({
          ...(await keysetPage(query, where, (id) => db.auditEvent.findFirst({ where: { AND: [{ id }, where] }, select: CURSOR_ROW }))),
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        });
      },
    },
    { name: 'AuditEventConnection', description: 'A page of audit events.' },
    { name: 'AuditEventEdge', description: 'An audit event in a page.' },
  ),
);
