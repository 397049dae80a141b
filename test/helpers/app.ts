/**
 * The real app, called through `yoga.fetch` (no port), and a typed `execute` for the
 * documents that GraphQL Code Generator makes from the tests' `graphql(...)` calls.
 * Every log line is kept in `logLines`, at debug level, so tests can check that no secret
 * ever reaches the log.
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createApp, type App } from '../../src/app.js';
import { createLogger } from '../../src/lib/logger.js';

export const logLines: string[] = [];
export const app = createApp({ logger: createLogger('debug', (line) => logLines.push(line)) });

export type Credentials = {
  /** Sent as Authorization: Bearer. */
  token?: string;
  /** Sent as X-Api-Key. */
  apiKey?: string;
  /** The socket address the request comes from. */
  ip?: string;
  workspaceId?: string;
  headers?: Record<string, string>;
};

export type GraphQLErrorJson = { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> & { code?: string; field?: string; reason?: string } };

export type Result<T> = {
  status: number;
  data: T | null | undefined;
  errors: GraphQLErrorJson[] | undefined;
  extensions?: Record<string, unknown>;
  headers: Headers;
};

export async function execute<TResult, TVariables>(
  document: TypedDocumentNode<TResult, TVariables> | string,
  variables?: TVariables,
  credentials: Credentials = {},
): Promise<Result<TResult>> {
  return executeWith(app, document, variables, credentials);
}

/** `execute` against another app instance, e.g. one built with a different config (trusted proxies). */
export async function executeWith<TResult, TVariables>(
  target: Pick<App, 'yoga'>,
  document: TypedDocumentNode<TResult, TVariables> | string,
  variables?: TVariables,
  credentials: Credentials = {},
): Promise<Result<TResult>> {
  const response = await target.yoga.fetch(
    'http://keygate.test/graphql',
    {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(credentials.token ? { authorization: `Bearer ${credentials.token}` } : {}),
        ...(credentials.apiKey ? { 'x-api-key': credentials.apiKey } : {}),
        ...(credentials.workspaceId ? { 'x-workspace-id': credentials.workspaceId } : {}),
        ...credentials.headers,
      },
      body: JSON.stringify({ query: typeof document === 'string' ? document : print(document), variables }),
    },
    { req: { socket: { remoteAddress: credentials.ip ?? '127.0.0.1' } } },
  );
  const body = (await response.json()) as { data?: TResult | null; errors?: GraphQLErrorJson[]; extensions?: Record<string, unknown> };
  return { status: response.status, data: body.data, errors: body.errors, extensions: body.extensions, headers: response.headers };
}

/** The data of a call that must succeed; fails the test with the errors otherwise. */
export async function ok<TResult, TVariables>(
  document: TypedDocumentNode<TResult, TVariables> | string,
  variables?: TVariables,
  credentials?: Credentials,
): Promise<TResult> {
  const result = await execute(document, variables, credentials);
  if (result.errors?.length || !result.data) {
    throw new Error(`expected success, got ${result.status}: ${JSON.stringify(result.errors)}`);
  }
  return result.data;
}

/** The first error's code, field and reason, for compact assertions. */
export function errorOf(result: Result<unknown>) {
  const error = result.errors?.[0];
  return {
    status: result.status,
    code: error?.extensions?.code,
    field: error?.extensions?.field,
    reason: error?.extensions?.reason,
    message: error?.message,
  };
}
