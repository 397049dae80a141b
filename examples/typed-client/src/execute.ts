/**
 * A typed `execute` on plain `fetch`: the document's result and variable types come from the
 * generated code, so a field that keygate renames or removes fails the type-check, not the
 * user. Errors carry keygate's `extensions.code` (UNAUTHENTICATED, FORBIDDEN, NOT_FOUND,
 * BAD_USER_INPUT with `extensions.field`, KEY_LIMIT_REACHED, RATE_LIMITED).
 */
import type { TypedDocumentString } from './gql/graphql.js';

export type KeygateCredentials = { sessionToken?: string; apiKey?: string };

export type KeygateErrorJson = {
  message: string;
  extensions?: { code?: string; field?: string; reason?: string };
};

export class KeygateError extends Error {
  constructor(readonly errors: KeygateErrorJson[]) {
    super(errors.map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`).join('; '));
  }

  /** The code of the first error, e.g. 'BAD_USER_INPUT'. */
  get code(): string | undefined {
    return this.errors[0]?.extensions?.code;
  }
}

export function createClient(endpoint: string, credentials: KeygateCredentials = {}) {
  return async function execute<TResult, TVariables>(
    document: TypedDocumentString<TResult, TVariables>,
    ...[variables]: TVariables extends Record<string, never> ? [] : [TVariables]
  ): Promise<TResult> {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(credentials.sessionToken ? { authorization: `Bearer ${credentials.sessionToken}` } : {}),
        ...(credentials.apiKey ? { 'x-api-key': credentials.apiKey } : {}),
      },
      body: JSON.stringify({ query: document.toString(), variables }),
    });
    const body = (await response.json()) as { data?: TResult | null; errors?: KeygateErrorJson[] };
    if (body.errors?.length || !body.data) throw new KeygateError(body.errors ?? [{ message: `HTTP ${response.status}` }]);
    return body.data;
  };
}
