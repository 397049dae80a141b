import { describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { digestSecret } from '../../../src/auth/credentials.js';
import { graphql } from '../../gql/index.js';
import { errorOf, execute, ok } from '../../helpers/app.js';
import { seedTenant } from '../../helpers/seed.js';
import { CreateKey, RevokeKey, RotateKey, UpdateKey } from './documents.js';

const KeyAuditTrail = graphql(`
  query KeyLcAuditTrail($targetId: ID!) {
    auditEvents(targetId: $targetId, first: 20) {
      edges {
        node {
          action
          actorKind
          actorId
          targetType
          targetId
          metadata
        }
      }
    }
  }
`);

describe('API-key audit events', () => {
  it('create, update, rotate and revoke each write an audit event by the admin, with the prefix and never the secret', async () => {
    const seed = await seedTenant();
    const asAdmin = { token: seed.admin.token };

    const created = await ok(CreateKey, { input: { name: 'Audited', authorizationGroupId: seed.keyGroup.id } }, asAdmin);
    const id = created.createApiKey.apiKey.id;
    const firstSecret = created.createApiKey.secret;
    await ok(UpdateKey, { id, input: { name: 'Audited and renamed' } }, asAdmin);
    const rotated = await ok(RotateKey, { id }, asAdmin);
    const secondSecret = rotated.rotateApiKey.secret;
    await ok(RevokeKey, { id }, asAdmin);

    const events = await db.auditEvent.findMany({ where: { targetId: id }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    expect(events.map((e) => e.action).sort()).toEqual(['api_key.created', 'api_key.revoked', 'api_key.rotated', 'api_key.updated']);
    for (const event of events) {
      expect(event, event.action).toMatchObject({ tenantId: seed.tenant.id, actorKind: 'USER', actorId: seed.admin.user.id, targetType: 'ApiKey', targetId: id });
      expect((event.metadata as { prefix?: string }).prefix, event.action).toMatch(/^kg_[0-9A-Za-z]{13}$/);
    }
    const byAction = Object.fromEntries(events.map((e) => [e.action, e.metadata as Record<string, unknown>]));
    expect(byAction['api_key.created']!.prefix).toBe(firstSecret.slice(0, 16));
    expect(byAction['api_key.updated']!.prefix).toBe(firstSecret.slice(0, 16));
    expect(byAction['api_key.rotated']!.prefix).toBe(secondSecret.slice(0, 16));
    expect(byAction['api_key.revoked']!.prefix).toBe(secondSecret.slice(0, 16));

    const everyTenantEvent = JSON.stringify(await db.auditEvent.findMany({ where: { tenantId: seed.tenant.id } }));
    for (const secret of [firstSecret, secondSecret]) {
      expect(everyTenantEvent).not.toContain(secret);
      expect(everyTenantEvent).not.toContain(secret.slice(16));
      expect(everyTenantEvent).not.toContain(digestSecret(secret));
    }

    const { auditEvents } = await ok(KeyAuditTrail, { targetId: id }, asAdmin);
    expect(auditEvents.edges.map((e) => e.node.action).sort()).toEqual(['api_key.created', 'api_key.revoked', 'api_key.rotated', 'api_key.updated']);
    expect(auditEvents.edges.every((e) => e.node.actorId === seed.admin.user.id && e.node.targetId === id)).toBe(true);
    expect(JSON.stringify(auditEvents)).not.toContain(secondSecret.slice(16));
  });

  it('a refused operation writes no audit event', async () => {
    const seed = await seedTenant({ apiKeyLimit: 1 });
    const key = await seed.createKey();
    await ok(RevokeKey, { id: key.id }, { token: seed.admin.token });
    const before = await db.auditEvent.count({ where: { tenantId: seed.tenant.id } });
    await ok(CreateKey, { input: { name: 'Fills the slot', authorizationGroupId: seed.keyGroup.id } }, { token: seed.admin.token });
    const afterCreate = await db.auditEvent.count({ where: { tenantId: seed.tenant.id } });
    expect(afterCreate).toBe(before + 1);

    const refusals = [
      await execute(CreateKey, { input: { name: 'Over the limit', authorizationGroupId: seed.keyGroup.id } }, { token: seed.admin.token }),
      await execute(RevokeKey, { id: key.id }, { token: seed.admin.token }),
      await execute(RotateKey, { id: key.id }, { token: seed.admin.token }),
      await execute(UpdateKey, { id: key.id, input: { name: 'Nope' } }, { token: seed.admin.token }),
      await execute(UpdateKey, { id: key.id, input: { name: 'Nope' } }, { token: seed.member.token }),
    ];
    expect(refusals.map((r) => errorOf(r).code)).toEqual(['KEY_LIMIT_REACHED', 'BAD_USER_INPUT', 'BAD_USER_INPUT', 'BAD_USER_INPUT', 'FORBIDDEN']);
    expect(await db.auditEvent.count({ where: { tenantId: seed.tenant.id } })).toBe(afterCreate);
  });
});
