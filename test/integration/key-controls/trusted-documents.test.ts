/**
 * Trusted documents per authorization group (operationPolicy ANY / AUDIT / TRUSTED_ONLY),
 * through the real app: managed with a session, enforced per key by `documentId` or text.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generate } from '@graphql-codegen/cli';
import { describe, expect, it } from 'vitest';
import { db } from '../../../src/db.js';
import { app, errorOf, execute, ok } from '../../helpers/app.js';
import { INTEGRATION_PERMISSIONS, seedTenant, unique, type Seed } from '../../helpers/seed.js';
import { graphql } from '../../gql/index.js';
import { createAuthorizationGroup, updateAuthorizationGroup } from '../../../src/modules/authorization-group/authorization-group.service.js';

const AddDocuments = graphql(`
  mutation KeyControlsAddDocuments($authorizationGroupId: ID!, $documents: [String!], $manifest: JSON) {
    addTrustedDocuments(authorizationGroupId: $authorizationGroupId, documents: $documents, manifest: $manifest) {
      id
      manifestId
      operationName
    }
  }
`);

const ListDocuments = graphql(`
  query KeyControlsListDocuments($authorizationGroupId: ID!) {
    trustedDocuments(authorizationGroupId: $authorizationGroupId) {
      id
      operationName
      document
      createdAt
    }
  }
`);

const RemoveDocuments = graphql(`
  mutation KeyControlsRemoveDocuments($authorizationGroupId: ID!, $ids: [String!]!) {
    removeTrustedDocuments(authorizationGroupId: $authorizationGroupId, ids: $ids)
  }
`);

const SetPolicy = graphql(`
  mutation KeyControlsSetPolicy($id: ID!, $input: UpdateAuthorizationGroupInput!) {
    updateAuthorizationGroup(id: $id, input: $input) {
      id
      operationPolicy
    }
  }
`);

const TRUSTED = 'query TrustedProjects { projects { totalCount } }';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** POSTs a raw GraphQL-over-HTTP body with the key. */
async function send(body: Record<string, unknown>, apiKey: string) {
  const response = await app.yoga.fetch('http://keygate.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
    body: JSON.stringify(body),
  }, { req: { socket: { remoteAddress: '127.0.0.1' } } });
  const json = (await response.json()) as { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
  return { status: response.status, ...json };
}

async function groupWithPolicy(seed: Seed, policy: 'ANY' | 'AUDIT' | 'TRUSTED_ONLY') {
  const root = seed.platform.principal;
  const group = await createAuthorizationGroup(root, { tenantId: seed.tenant.id, name: unique('Controlled'), type: 'TENANT_API_KEY', permissions: INTEGRATION_PERMISSIONS });
  const token = seed.admin.token;
  await ok(AddDocuments, { authorizationGroupId: group.id, documents: [TRUSTED] }, { token });
  await ok(SetPolicy, { id: group.id, input: { operationPolicy: policy } }, { token });
  const key = await seed.createKey({ authorizationGroupId: group.id });
  return { group, key };
}

describe('trusted documents', () => {
  it('addTrustedDocuments stores each document under sha256:<hex>, and lists and removes them', async () => {
    const seed = await seedTenant();
    const token = seed.admin.token;
    const added = await ok(AddDocuments, { authorizationGroupId: seed.keyGroup.id, documents: [TRUSTED] }, { token });
    expect(added.addTrustedDocuments).toEqual([{ id: `sha256:${sha256(TRUSTED)}`, manifestId: null, operationName: 'TrustedProjects' }]);
    const rows = await db.trustedDocument.findMany({ where: { authorizationGroupId: seed.keyGroup.id } });
    expect(rows.map((r) => [r.documentId, r.document, r.tenantId])).toEqual([[`sha256:${sha256(TRUSTED)}`, TRUSTED, seed.tenant.id]]);

    const listed = await ok(ListDocuments, { authorizationGroupId: seed.keyGroup.id }, { token });
    expect(listed.trustedDocuments).toMatchObject([{ id: `sha256:${sha256(TRUSTED)}`, operationName: 'TrustedProjects', document: TRUSTED }]);

    const removed = await ok(RemoveDocuments, { authorizationGroupId: seed.keyGroup.id, ids: [sha256(TRUSTED)] }, { token });
    expect(removed.removeTrustedDocuments).toEqual([`sha256:${sha256(TRUSTED)}`]);
    expect(await db.trustedDocument.count({ where: { authorizationGroupId: seed.keyGroup.id } })).toBe(0);
    const events = await db.auditEvent.findMany({ where: { tenantId: seed.tenant.id, targetId: seed.keyGroup.id, action: { startsWith: 'authorization_group.trusted' } } });
    expect(events.map((e) => e.action).sort()).toEqual(['authorization_group.trusted_documents_added', 'authorization_group.trusted_documents_removed']);
  });

  it('a document that does not validate is refused, named, and nothing is stored', async () => {
    const seed = await seedTenant();
    const result = await execute(AddDocuments, { authorizationGroupId: seed.keyGroup.id, documents: [TRUSTED, '{ noSuchField }'] }, { token: seed.admin.token });
    expect(errorOf(result)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'documents' });
    expect(errorOf(result).message).toContain('documents[1]');
    expect(await db.trustedDocument.count({ where: { authorizationGroupId: seed.keyGroup.id } })).toBe(0);
  });

  it('accepts manifests: sha256 ids (codegen client preset) and other ids (Relay), and refuses a wrong sha256', async () => {
    const seed = await seedTenant();
    const token = seed.admin.token;
    const relayText = 'query RelayViewer { viewer { kind } }';
    const manifest = { [sha256(TRUSTED)]: TRUSTED, 'a1b2c3d4e5f60718293a4b5c6d7e8f90': relayText };
    const added = await ok(AddDocuments, { authorizationGroupId: seed.keyGroup.id, manifest }, { token });
    expect(added.addTrustedDocuments.map((d) => d.manifestId)).toEqual([null, 'a1b2c3d4e5f60718293a4b5c6d7e8f90']);

    const wrong = await execute(AddDocuments, { authorizationGroupId: seed.keyGroup.id, manifest: { [sha256('other')]: relayText } }, { token });
    expect(errorOf(wrong)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'manifest' });
  });

  it('a manifest made by the codegen client preset (persistedDocuments) is taken as-is, and its documents run by the ids it gave them', async () => {
    const seed = await seedTenant();
    const dir = mkdtempSync(path.join(tmpdir(), 'keygate-codegen-'));
    try {
      writeFileSync(path.join(dir, 'operations.graphql'), 'query ClientViewer { viewer { kind } }\nquery ClientProjects($first: Int) { projects(first: $first) { totalCount } }\n');
      const files = await generate(
        {
          schema: path.resolve('schema.graphql'),
          documents: [path.join(dir, 'operations.graphql')],
          generates: { [`${dir}/gql/`]: { preset: 'client', presetConfig: { persistedDocuments: true } } },
          silent: true,
        },
        false,
      );
      const manifest = JSON.parse(files.find((f: { filename: string }) => f.filename.endsWith('persisted-documents.json'))!.content) as Record<string, string>;
      expect(Object.keys(manifest)).toHaveLength(2);

      const group = await createAuthorizationGroup(seed.platform.principal, { tenantId: seed.tenant.id, name: unique('Client'), type: 'TENANT_API_KEY', permissions: INTEGRATION_PERMISSIONS });
      const added = await ok(AddDocuments, { authorizationGroupId: group.id, manifest }, { token: seed.admin.token });
      expect(added.addTrustedDocuments.map((d) => d.id).sort()).toEqual(Object.keys(manifest).sort());
      await ok(SetPolicy, { id: group.id, input: { operationPolicy: 'TRUSTED_ONLY' } }, { token: seed.admin.token });
      const key = await seed.createKey({ authorizationGroupId: group.id });
      for (const [documentId, text] of Object.entries(manifest)) {
        const result = await send({ documentId, variables: text.includes('$first') ? { first: 5 } : {} }, key.secret);
        expect({ status: result.status, errors: result.errors }).toEqual({ status: 200, errors: undefined });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('TRUSTED_ONLY: trusted documents run by documentId (any spelling) or by text; anything else is refused with 403 before it runs', async () => {
    const seed = await seedTenant();
    const { key } = await groupWithPolicy(seed, 'TRUSTED_ONLY');
    const id = `sha256:${sha256(TRUSTED)}`;

    for (const body of [{ documentId: id }, { documentId: sha256(TRUSTED) }, { extensions: { persistedQuery: { version: 1, sha256Hash: sha256(TRUSTED) } } }, { query: TRUSTED }]) {
      const result = await send(body, key.secret);
      expect({ status: result.status, errors: result.errors }).toEqual({ status: 200, errors: undefined });
      expect(result.data).toEqual({ projects: { totalCount: 1 } });
    }

    const runsBefore = await db.workflowRun.count({ where: { tenantId: seed.tenant.id } });
    for (const body of [
      { query: '{ viewer { kind } }' },
      { query: `${TRUSTED} ` },
      { documentId: `sha256:${sha256('{ viewer { kind } }')}` },
      { query: 'mutation ($input: TriggerWorkflowInput!) { triggerWorkflow(input: $input) { id } }', variables: { input: { projectId: seed.project.id, workflowId: seed.workflow.id } } },
    ]) {
      const result = await send(body, key.secret);
      expect(result.status).toBe(403);
      expect(result.errors?.[0]?.extensions?.code).toBe('OPERATION_NOT_TRUSTED');
      expect(result.data ?? null).toBeNull();
    }
    expect(await db.workflowRun.count({ where: { tenantId: seed.tenant.id } })).toBe(runsBefore);
  });

  it('TRUSTED_ONLY over GET: ?documentId= runs the trusted document (GraphQL over HTTP persisted documents); an unknown one is refused', async () => {
    const seed = await seedTenant();
    const { key } = await groupWithPolicy(seed, 'TRUSTED_ONLY');
    const get = async (search: string) => {
      const response = await app.yoga.fetch(`http://keygate.test/graphql?${search}`, { method: 'GET', headers: { 'x-api-key': key.secret } }, { req: { socket: { remoteAddress: '127.0.0.1' } } });
      return { status: response.status, ...((await response.json()) as { data?: unknown; errors?: { extensions?: Record<string, unknown> }[] }) };
    };
    const trusted = await get(new URLSearchParams({ documentId: `sha256:${sha256(TRUSTED)}` }).toString());
    expect(trusted).toMatchObject({ status: 200, data: { projects: { totalCount: 1 } } });
    expect(trusted.errors).toBeUndefined();
    const unknown = await get(new URLSearchParams({ documentId: `sha256:${sha256('{ viewer { kind } }')}` }).toString());
    expect(unknown.status).toBe(403);
    expect(unknown.errors?.[0]?.extensions?.code).toBe('OPERATION_NOT_TRUSTED');
  });

  it('TRUSTED_ONLY: a document removed stops running on the next request; sessions and ANY keys are not affected', async () => {
    const seed = await seedTenant();
    const { group, key } = await groupWithPolicy(seed, 'TRUSTED_ONLY');
    expect((await send({ query: TRUSTED }, key.secret)).status).toBe(200);
    await ok(RemoveDocuments, { authorizationGroupId: group.id, ids: [`sha256:${sha256(TRUSTED)}`] }, { token: seed.admin.token });
    expect((await send({ query: TRUSTED }, key.secret)).status).toBe(403);

    const plain = await seed.createKey();
    expect((await send({ query: '{ viewer { kind } }' }, plain.secret)).status).toBe(200);
    await updateAuthorizationGroup(seed.platform.principal, group.id, { operationPolicy: 'ANY' });
    expect((await send({ query: '{ viewer { kind } }' }, key.secret)).status).toBe(200);
  });

  it('AUDIT: everything runs; an untrusted document is recorded once per hour however often it is sent', async () => {
    const seed = await seedTenant();
    const { group, key } = await groupWithPolicy(seed, 'AUDIT');
    const untrusted = 'query Untrusted { viewer { kind } }';
    for (let i = 0; i < 3; i++) {
      const result = await send({ query: untrusted }, key.secret);
      expect(result.status).toBe(200);
      expect(result.data).toEqual({ viewer: { kind: 'API_KEY' } });
    }
    expect((await send({ query: TRUSTED }, key.secret)).status).toBe(200);
    const events = await db.auditEvent.findMany({ where: { tenantId: seed.tenant.id, action: 'operation.untrusted' } });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actorKind: 'API_KEY', actorId: key.id, targetId: group.id });
    expect(events[0]!.metadata).toMatchObject({ documentId: `sha256:${sha256(untrusted)}`, operationName: 'Untrusted', occurrences: 1 });
    const sighting = await db.untrustedOperationSighting.findFirst({ where: { authorizationGroupId: group.id } });
    expect(sighting?.documentId).toBe(`sha256:${sha256(untrusted)}`);
  });

  it('the inbound webhook is not a document the client sends: TRUSTED_ONLY and AUDIT keys use it as their permission allows, and nothing is recorded as untrusted', async () => {
    const seed = await seedTenant();
    for (const policy of ['TRUSTED_ONLY', 'AUDIT'] as const) {
      const { group, key } = await groupWithPolicy(seed, policy);
      const response = await app.yoga.fetch(
        `http://keygate.test/webhooks/projects/${seed.project.id}/deliveries?source=erp`,
        { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key.secret }, body: JSON.stringify({ order: 1 }) },
        { req: { socket: { remoteAddress: '127.0.0.1' } } },
      );
      expect(response.status, policy).toBe(202);
      const { id } = (await response.json()) as { id: string };
      expect(await db.dataDelivery.findUnique({ where: { id } }), policy).toMatchObject({ projectId: seed.project.id, source: 'erp' });
      expect(await db.auditEvent.count({ where: { tenantId: seed.tenant.id, action: 'operation.untrusted', targetId: group.id } }), policy).toBe(0);
      // The same key's own GraphQL documents are still checked.
      const untrusted = await send({ query: 'query Untrusted { viewer { kind } }' }, key.secret);
      if (policy === 'TRUSTED_ONLY') expect(untrusted.errors?.[0]?.extensions?.code).toBe('OPERATION_NOT_TRUSTED');
      else expect(await db.auditEvent.count({ where: { tenantId: seed.tenant.id, action: 'operation.untrusted', targetId: group.id } })).toBe(1);
    }
  });

  it('AUDIT: the recorded operation name is a GraphQL name of at most 128 characters, whatever operationName the client sends', async () => {
    const seed = await seedTenant();
    const { key } = await groupWithPolicy(seed, 'AUDIT');
    const junk = [{ blob: 'x'.repeat(100_000) }, 'not a name!'.repeat(1000), `N${'x'.repeat(300)}`];
    for (const [index, operationName] of junk.entries()) {
      await send({ query: `query Sent${index} { viewer { kind } }`, operationName }, key.secret);
    }
    const events = await db.auditEvent.findMany({ where: { tenantId: seed.tenant.id, action: 'operation.untrusted' }, orderBy: { createdAt: 'asc' } });
    expect(events).toHaveLength(3);
    const names = events.map((event) => (event.metadata as { operationName: unknown }).operationName);
    expect(names).toEqual(expect.arrayContaining(['Sent0', 'Sent1', `N${'x'.repeat(127)}`]));
    expect(JSON.stringify(events.map((event) => event.metadata)).length).toBeLessThan(2_000);
  });

  it('removeTrustedDocuments takes at most 1000 ids, like adding', async () => {
    const seed = await seedTenant();
    const { group } = await groupWithPolicy(seed, 'ANY');
    const ids = Array.from({ length: 1001 }, (_, n) => `sha256:${sha256(String(n))}`);
    const refused = await execute(RemoveDocuments, { authorizationGroupId: group.id, ids }, { token: seed.admin.token });
    expect(errorOf(refused)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'ids' });
    expect(await db.trustedDocument.count({ where: { authorizationGroupId: group.id } })).toBe(1);
  });

  it('operationPolicy and costBudget are refused on USER groups', async () => {
    const seed = await seedTenant();
    const group = await createAuthorizationGroup(seed.platform.principal, { tenantId: seed.tenant.id, name: unique('Users'), type: 'USER', permissions: [] });
    const result = await execute(SetPolicy, { id: group.id, input: { operationPolicy: 'TRUSTED_ONLY' } }, { token: seed.admin.token });
    expect(errorOf(result)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'operationPolicy' });
  });
});
