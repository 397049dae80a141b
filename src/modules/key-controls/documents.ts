/**
 * Trusted documents: their ids and the manifest formats clients already produce.
 *
 * - A document's id is `sha256:<hex of the SHA-256 of its exact text>`; a client sends it as
 *   `documentId` (GraphQL over HTTP's persisted documents), as a bare 64-digit hex (what
 *   GraphQL Code Generator's client preset puts in its manifest), or as Apollo's
 *   `extensions.persistedQuery.sha256Hash`.
 * - A manifest is a JSON object of id → document text: the client preset's
 *   `persisted-documents.json` (ids are the sha256 hex of the text) and Relay's
 *   `persisted_queries.json` (ids are Relay's own, md5 by default). An id that looks like a
 *   sha256 must be the text's; any other id is kept as the document's `manifestId`, so the
 *   client can keep sending the id its compiler gave it.
 */
import { createHash } from 'node:crypto';
import { GraphQLError, Kind, parse, validate, type GraphQLSchema } from 'graphql';
import { badInput } from '../../errors.js';

const SHA256_HEX = /^(?:sha256:)?([0-9a-fA-F]{64})$/;

export function documentIdOf(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** `sha256:<hex>` for any spelling of a sha256 id; other ids (a manifest's) as they are. */
export function normalizeDocumentId(id: string): string {
  const match = SHA256_HEX.exec(id.trim());
  return match ? `sha256:${match[1]!.toLowerCase()}` : id.trim();
}

export type IncomingDocument = { documentId: string; manifestId: string | null; operationName: string | null; document: string };

export const MAX_DOCUMENTS_PER_CALL = 1000;

/**
 * The documents of one `addTrustedDocuments` call, from its `documents` list and/or its
 * `manifest`, each parsed and validated against the schema. The first that fails is refused
 * with BAD_USER_INPUT naming it (`documents[2]`, or the manifest entry's id), nothing stored.
 */
export function readDocuments(schema: GraphQLSchema, documents: readonly string[] | null | undefined, manifest: unknown): IncomingDocument[] {
  const incoming: IncomingDocument[] = [];
  (documents ?? []).forEach((text, index) => incoming.push(checked(schema, text, null, 'documents', `documents[${index}]`)));
  if (manifest !== null && manifest !== undefined) {
    if (typeof manifest !== 'object' || Array.isArray(manifest)) {
      throw badInput('manifest', 'a manifest is a JSON object of id → document text (persisted-documents.json, persisted_queries.json)');
    }
    for (const [id, text] of Object.entries(manifest as Record<string, unknown>)) {
      if (typeof text !== 'string') throw badInput('manifest', `entry "${id}": its value must be the document's text`);
      const sha = SHA256_HEX.test(id);
      const document = checked(schema, text, sha ? null : id, 'manifest', `entry "${id}"`);
      if (sha && normalizeDocumentId(id) !== document.documentId) {
        throw badInput('manifest', `entry "${id}": the id is not the sha256 of its text (expected ${document.documentId})`);
      }
      incoming.push(document);
    }
  }
  if (incoming.length === 0) throw badInput('documents', 'give at least one document (in documents or manifest)');
  if (incoming.length > MAX_DOCUMENTS_PER_CALL) throw badInput('documents', `at most ${MAX_DOCUMENTS_PER_CALL} documents per call`);
  return incoming;
}

function checked(schema: GraphQLSchema, text: string, manifestId: string | null, field: string, name: string): IncomingDocument {
  let parsed;
  try {
    parsed = parse(text);
  } catch (error) {
    throw badInput(field, `${name} does not parse: ${error instanceof GraphQLError ? error.message : 'syntax error'}`);
  }
  const errors = validate(schema, parsed);
  if (errors.length > 0) throw badInput(field, `${name} does not validate against the schema: ${errors[0]!.message}`);
  const operations = parsed.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (operations.length !== 1) throw badInput(field, `${name} must hold exactly one operation (and its fragments)`);
  const operation = operations[0]!;
  return { documentId: documentIdOf(text), manifestId, operationName: operation.kind === Kind.OPERATION_DEFINITION ? (operation.name?.value ?? null) : null, document: text };
}
