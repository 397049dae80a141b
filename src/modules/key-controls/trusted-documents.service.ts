/**
 * A group's trusted documents: added, removed and listed with a session holding
 * authorization_groups:manage (access.ts `trusted_document:manage`), in the caller's tenant.
 * Every change evicts the group's keys from the verification cache (and on PostgreSQL tells
 * the other instances), so the next request of each key sees the new set.
 */
import type { GraphQLSchema } from 'graphql';
import { assertCan } from '../../auth/access.js';
import { publishKeyChange } from '../../auth/invalidation.js';
import type { Principal } from '../../auth/principal.js';
import { db } from '../../db.js';
import { badInput } from '../../errors.js';
import { recordAudit } from '../audit/audit.service.js';
import { findEditableGroup } from '../authorization-group/authorization-group.service.js';
import { MAX_DOCUMENTS_PER_CALL, normalizeDocumentId, readDocuments } from './documents.js';

export type AddTrustedDocumentsInput = { authorizationGroupId: string; documents?: readonly string[] | null; manifest?: unknown };

async function keyGroupFor(principal: Principal, authorizationGroupId: string) {
  const actor = assertCan(principal, 'trusted_document:manage');
  const group = await findEditableGroup(actor, authorizationGroupId);
  if (group.type !== 'TENANT_API_KEY') throw badInput('authorizationGroupId', 'trusted documents belong to TENANT_API_KEY groups (they control what keys may run)');
  return { actor, group };
}

export async function addTrustedDocuments(principal: Principal, schema: GraphQLSchema, input: AddTrustedDocumentsInput) {
  const { actor, group } = await keyGroupFor(principal, input.authorizationGroupId);
  // Every document is parsed and validated before anything is written.
  const documents = readDocuments(schema, input.documents, input.manifest);
  const rows = await db.$transaction(async (tx) => {
    const stored = [];
    for (const document of documents) {
      stored.push(
        await tx.trustedDocument.upsert({
          where: { authorizationGroupId_documentId: { authorizationGroupId: group.id, documentId: document.documentId } },
          create: { ...document, tenantId: group.tenantId, authorizationGroupId: group.id },
          update: document.manifestId ? { manifestId: document.manifestId } : {},
        }),
      );
    }
    await recordAudit(tx, actor, {
      tenantId: group.tenantId,
      action: 'authorization_group.trusted_documents_added',
      targetType: 'AuthorizationGroup',
      targetId: group.id,
      metadata: { documentIds: stored.map((row) => row.documentId) },
    });
    return stored;
  });
  publishKeyChange({ authorizationGroupId: group.id });
  return rows;
}

/** Removes the documents with these ids (sha256 or manifest ids); returns the removed `sha256:` ids. */
export async function removeTrustedDocuments(principal: Principal, authorizationGroupId: string, ids: readonly string[]) {
  // The same bound as adding: the ids become one query's parameters, which databases limit.
  if (ids.length > MAX_DOCUMENTS_PER_CALL) throw badInput('ids', `at most ${MAX_DOCUMENTS_PER_CALL} ids per call`);
  const { actor, group } = await keyGroupFor(principal, authorizationGroupId);
  const wanted = [...new Set(ids.map(normalizeDocumentId))];
  const removed = await db.$transaction(async (tx) => {
    const rows = await tx.trustedDocument.findMany({
      where: { authorizationGroupId: group.id, OR: [{ documentId: { in: wanted } }, { manifestId: { in: wanted } }] },
      select: { id: true, documentId: true },
    });
    await tx.trustedDocument.deleteMany({ where: { id: { in: rows.map((row) => row.id) } } });
    await recordAudit(tx, actor, {
      tenantId: group.tenantId,
      action: 'authorization_group.trusted_documents_removed',
      targetType: 'AuthorizationGroup',
      targetId: group.id,
      metadata: { documentIds: rows.map((row) => row.documentId) },
    });
    return rows.map((row) => row.documentId);
  });
  publishKeyChange({ authorizationGroupId: group.id });
  return removed;
}

export async function trustedDocumentsOf(principal: Principal, authorizationGroupId: string) {
  const { group } = await keyGroupFor(principal, authorizationGroupId);
  return db.trustedDocument.findMany({ where: { authorizationGroupId: group.id }, orderBy: [{ createdAt: 'asc' }, { documentId: 'asc' }] });
}
