/**
 * Trusted documents per authorization group, at request time. A key's group has an
 * `operationPolicy`:
 *
 * - `ANY`: anything runs (no controls on the principal: nothing happens here but a null check);
 * - `AUDIT`: anything runs; an operation whose text is not a trusted document is recorded
 *   (sightings.ts, at most one audit event per document per hour);
 * - `TRUSTED_ONLY`: only the group's trusted documents run, sent as `documentId` (or Apollo's
 *   persistedQuery hash) or as their exact text, matched by its sha256. Anything else is
 *   refused with 403 OPERATION_NOT_TRUSTED while the request's parameters are read: before
 *   parsing, validation and execution.
 *
 * `documentId` is resolved by Yoga's persisted-operations plugin; its `getPersistedOperation`
 * and `allowArbitraryOperations` receive the request, and the auth plugin's authenticator
 * answers for that request (once: the context later gets the same principal).
 */
import { GraphQLError } from 'graphql';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import type { ApiKeyPrincipal, GroupControls, Principal } from '../../auth/principal.js';
import type { Authenticator } from '../../auth/use-auth.js';
import type { ServerContext } from '../../context.js';
import type { Logger } from '../../lib/logger.js';
import { isInboundWebhookRequest } from '../webhook/inbound.js';
import { documentIdOf, normalizeDocumentId } from './documents.js';
import { operationNotTrusted } from './refusals.js';
import { UntrustedOperationSightings } from './sightings.js';

/**
 * A document that fails nothing, returned for `documentId` when the credential itself failed:
 * the request then goes on to the auth plugin, which refuses it with its 401 (and the
 * credential throttle counts the failure), instead of a misleading "unknown document".
 */
const DEFER_TO_AUTH = '{ __typename }';

export type OperationPolicyOptions = { authenticator: Authenticator; logger: Logger };

export function useOperationPolicy({ authenticator, logger }: OperationPolicyOptions): Plugin[] {
  const sightings = new UntrustedOperationSightings(logger);
  /** The request's principal, once known (null: its credential failed). */
  const principals = new WeakMap<Request, Principal | null>();

  async function principalOf(request: Request, server: ServerContext): Promise<Principal | null> {
    const known = principals.get(request);
    if (known !== undefined) return known;
    const principal = await authenticator.forRequest(request, server).then(
      (answer) => answer.auth,
      () => null,
    );
    principals.set(request, principal);
    return principal;
  }

  const matchText: Plugin = {
    async onParams({ params, request, setParams, context }) {
      const principal = await principalOf(request, context as ServerContext);
      const controls = isInboundWebhookRequest(request) ? null : controlsOf(principal);
      if (!controls || controls.operationPolicy === 'ANY' || typeof params.query !== 'string') return;
      const documentId = documentIdOf(params.query);
      const trusted = controls.trustedDocuments.has(documentId);
      if (controls.operationPolicy === 'TRUSTED_ONLY') {
        if (!trusted) throw operationNotTrusted(principal as ApiKeyPrincipal, documentId);
        // The text is a trusted document: run it as one, by its id.
        setParams(withoutQuery(params, documentId));
        return;
      }
      if (!trusted) await sightings.note(principal as ApiKeyPrincipal, controls, documentId, auditedOperationName(params.operationName, params.query));
    },
  };

  const persisted = usePersistedOperations<Record<string, unknown>>({
    extractPersistedOperationId: (params, request, _context) => {
      const id = documentIdParam(params, request);
      if (id) return id;
      const apollo = (params.extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined)?.persistedQuery?.sha256Hash;
      return typeof apollo === 'string' && apollo ? apollo : null;
    },
    async getPersistedOperation(id, request) {
      const principal = principals.get(request);
      if (principal === null) return DEFER_TO_AUTH;
      return controlsOf(principal)?.trustedDocuments.get(normalizeDocumentId(id))?.document ?? null;
    },
    // Per key: a TRUSTED_ONLY key sends documents by id only (trusted text was turned into its id above).
    allowArbitraryOperations: (request) => isInboundWebhookRequest(request) || controlsOf(principals.get(request))?.operationPolicy !== 'TRUSTED_ONLY',
    customErrors: {
      notFound: (payload) => {
        const principal = principals.get(payload.request);
        const id = documentIdParam(payload.params, payload.request);
        if (controlsOf(principal)?.operationPolicy === 'TRUSTED_ONLY') {
          return operationNotTrusted(principal as ApiKeyPrincipal, id ? normalizeDocumentId(id) : null);
        }
        return new GraphQLError('No trusted document of your authorization group has this documentId.', {
          extensions: { code: 'PERSISTED_QUERY_NOT_FOUND', http: { status: 400 } },
        });
      },
      persistedQueryOnly: (payload) => operationNotTrusted(principals.get(payload.request) as ApiKeyPrincipal, null),
      keyNotFound: () =>
        new GraphQLError('Send the operation as `query` or a trusted document as `documentId`.', {
          extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
        }),
    },
  });

  return [matchText, persisted as Plugin];
}

function controlsOf(principal: Principal | null | undefined): GroupControls | null {
  return principal?.kind === 'API_KEY' ? (principal.apiKey.controls ?? null) : null;
}

function withoutQuery(params: GraphQLParams, documentId: string): GraphQLParams {
  const { query: _query, ...rest } = params;
  return { ...rest, documentId } as GraphQLParams;
}

/**
 * The request's `documentId`: from a POST body, or GET's query string, which Yoga's GET
 * parser does not pass on as a parameter (GraphQL over HTTP's persisted documents use both).
 */
function documentIdParam(params: GraphQLParams, request: Request): string | null {
  const fromParams = (params as GraphQLParams & { documentId?: unknown }).documentId;
  if (typeof fromParams === 'string' && fromParams) return fromParams;
  if (request.method !== 'GET' && request.method !== 'HEAD') return null;
  return new URL(request.url).searchParams.get('documentId') || null;
}

const MAX_AUDITED_NAME_LENGTH = 128;

/**
 * The operation's name for the audit record: the request's `operationName` when it is a
 * GraphQL name, else the first one the text declares, at most 128 characters. The parameter
 * is the client's to fill, and is recorded before Yoga checks it: a 500 KB object must not
 * land in the audit trail.
 */
function auditedOperationName(operationName: unknown, text: string): string | null {
  const name = typeof operationName === 'string' && GRAPHQL_NAME.test(operationName) ? operationName : namedOperation(text);
  return name?.slice(0, MAX_AUDITED_NAME_LENGTH) ?? null;
}

const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/** The first operation's name, read without parsing (only for the audit record). */
function namedOperation(text: string): string | null {
  return /(?:^|[\s}])(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]{0,127})/.exec(text)?.[1] ?? null;
}
