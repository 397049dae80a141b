import { db } from '../../db.js';
import { builder } from '../../schema/builder.js';
import { auditTenantFor } from './audit.service.js';

builder.prismaObject('AuditEvent', {
  fields: (t) => ({
    id: t.exposeID('id'),
    action: t.exposeString('action', { description: 'e.g. api_key.created, workspace.deleted' }),
    actorKind: t.exposeString('actorKind'),
    actorId: t.exposeID('actorId', { nullable: true }),
    targetType: t.exposeString('targetType'),
    targetId: t.exposeID('targetId'),
    metadata: t.expose('metadata', { type: 'JSON' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryField('auditEvents', (t) =>
  t.prismaConnection(
    {
      type: 'AuditEvent',
      cursor: 'id',
      description: 'Newest first.',
      args: { tenantId: t.arg.id(), action: t.arg.string(), targetId: t.arg.id() },
      authScopes: { permission: 'audit:read' },
      resolve: (query, _root, args, { auth }) =>
        db.auditEvent.findMany({
          ...query,
          where: {
            tenantId: auditTenantFor(auth, args.tenantId?.toString()),
            ...(args.action ? { action: args.action } : {}),
            ...(args.targetId ? { targetId: String(args.targetId) } : {}),
          },
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        }),
    },
    { name: 'AuditEventConnection' },
    { name: 'AuditEventEdge' },
  ),
);
