/**
 * Group commit (src/db/group-commit.ts) against the real database: rows that arrive together
 * are written by one INSERT, and a row the database refuses fails only its own caller.
 */
import { describe, expect, it } from 'vitest';
import { getConfig } from '../../../src/config.js';
import { db } from '../../../src/db.js';
import { GroupCommit } from '../../../src/db/group-commit.js';
import { newId } from '../../../src/db/ids.js';
import { createInsertMany, type InsertColumn } from '../../../src/db/insert-many.js';
import type { AuditEvent } from '../../../src/generated/prisma/client.js';
import { seedTenant } from '../../helpers/seed.js';

const COLUMNS: InsertColumn<AuditEvent>[] = [
  { name: 'id' },
  { name: 'tenantId' },
  { name: 'actorKind', pgType: '"ActorKind"' },
  { name: 'actorId' },
  { name: 'action' },
  { name: 'targetType' },
  { name: 'targetId' },
  { name: 'metadata', json: true, pgType: 'jsonb' },
  { name: 'createdAt' },
];

function event(tenantId: string, n: number, id = newId()): AuditEvent {
  return { id, tenantId, actorKind: 'SYSTEM', actorId: null, actorTenantId: null, organizationId: null, projectId: null, action: 'group-commit.test', targetType: 'Test', targetId: String(n), metadata: { n }, createdAt: new Date() };
}

const insertMany = createInsertMany(getConfig().databaseUrl, db);

function recordingCommit() {
  const batches: number[] = [];
  const commit = new GroupCommit<AuditEvent>((rows) => {
    batches.push(rows.length);
    return insertMany('AuditEvent', COLUMNS, rows);
  });
  return { commit, batches };
}

describe('group commit', () => {
  it('rows inserted in the same turn of the event loop share one INSERT, stored as Prisma reads them', async () => {
    const { tenant } = await seedTenant();
    const { commit, batches } = recordingCommit();
    const rows = Array.from({ length: 12 }, (_, n) => event(tenant.id, n));

    await Promise.all(rows.map((row) => commit.insert(row)));

    expect(batches).toEqual([12]);
    const stored = await db.auditEvent.findMany({ where: { tenantId: tenant.id, action: 'group-commit.test' }, orderBy: { targetId: 'asc' } });
    expect(stored.map(({ id, metadata, createdAt, actorKind }) => ({ id, metadata, createdAt, actorKind })).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      rows.map(({ id, metadata, createdAt, actorKind }) => ({ id, metadata, createdAt, actorKind })).sort((a, b) => a.id.localeCompare(b.id)),
    );
  });

  it('a row the database refuses fails its own caller only; the others are committed', async () => {
    const { tenant } = await seedTenant();
    const existing = event(tenant.id, 0);
    await db.auditEvent.create({ data: { ...existing, metadata: existing.metadata as object } });
    const { commit, batches } = recordingCommit();
    const rows = [event(tenant.id, 1), event(tenant.id, 2, existing.id), event(tenant.id, 3)];

    const results = await Promise.allSettled(rows.map((row) => commit.insert(row)));

    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    // The batch failed as a whole, then each row was tried on its own.
    expect(batches).toEqual([3, 1, 1, 1]);
    const stored = await db.auditEvent.findMany({ where: { tenantId: tenant.id, action: 'group-commit.test' } });
    expect(stored.map((row) => row.targetId).sort()).toEqual(['0', '1', '3']);
  });

  it('a batch the database could not take at all (busy, down) fails every row at once, not one busy timeout after another', async () => {
    const attempts: number[] = [];
    const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    const commit = new GroupCommit<number>(async (rows) => {
      attempts.push(rows.length);
      throw busy;
    });
    const results = await Promise.allSettled([1, 2, 3, 4].map((row) => commit.insert(row)));
    expect(results.map((result) => (result.status === 'rejected' ? result.reason : null))).toEqual([busy, busy, busy, busy]);
    expect(attempts).toEqual([4]);
  });

  it("Prisma transactions that read, then write, succeed while batches commit beside them (no SQLITE_BUSY_SNAPSHOT)", async () => {
    const { tenant } = await seedTenant();
    const { commit } = recordingCommit();
    const batches = Array.from({ length: 200 }, (_, n) => commit.insert(event(tenant.id, n)));
    // Each reads first (a snapshot), yields, then writes: on SQLite a DEFERRED transaction
    // would fail if a batch committed in between.
    const transactions = Array.from({ length: 20 }, (_, n) =>
      db.$transaction(async (tx) => {
        await tx.tenant.findUniqueOrThrow({ where: { id: tenant.id } });
        await new Promise((resolve) => setTimeout(resolve, 2));
        return tx.auditEvent.create({ data: { ...event(tenant.id, 1000 + n), metadata: { n } } });
      }),
    );

    const results = await Promise.allSettled([...batches, ...transactions]);

    expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
    expect(await db.auditEvent.count({ where: { tenantId: tenant.id, action: 'group-commit.test' } })).toBe(220);
  });
});
