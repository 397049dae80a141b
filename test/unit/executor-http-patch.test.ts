/**
 * keygate's patch of @graphql-tools/executor-http (patches/, applied by patch-package on
 * install): the upstream answer's headers in error extensions come from a getter on a class's
 * prototype, not from an accessor defined on every response. V8 allocates each defined
 * accessor's pair in its old generation, which kept every proxied request and its answer alive
 * through young-generation collections (README "Gateway mode", bench/RESULTS.md session 11).
 * The first test fails when the patch is not applied; the others pin that what a client could
 * see of those extensions is what the unpatched executor gives (they pass on both).
 */
import { buildHTTPExecutor } from '@graphql-tools/executor-http';
import { parse, type ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';

type ResponseExtensions = { status?: number; statusText?: string; body?: unknown; headers?: Record<string, string> };

async function errorExtensionsOf(options: { exposeHTTPDetailsInExtensions?: boolean } = {}) {
  const executor = buildHTTPExecutor({
    endpoint: 'http://upstream.test/graphql',
    ...options,
    // An answer that is not JSON: executor-http reports it with the upstream's details.
    fetch: async () => new Response('not json', { status: 200, headers: { 'content-type': 'text/plain', 'x-upstream': 'yes' } }),
  });
  const result = (await executor({ document: parse('{ orders }') })) as ExecutionResult;
  expect(result.errors?.[0]?.extensions?.code).toBe('RESPONSE_VALIDATION_FAILED');
  return result.errors![0]!.extensions as { response: ResponseExtensions };
}

describe('executor-http, as patched', () => {
  it("reads the answer's headers when asked, from the prototype: no accessor is defined per response", async () => {
    const { response } = await errorExtensionsOf();
    expect(response.status).toBe(200);
    expect(response.body).toBe('not json');
    expect(response.headers).toEqual({ 'content-type': 'text/plain', 'x-upstream': 'yes' });
    expect(Object.getOwnPropertyDescriptor(response, 'headers')).toBeUndefined();
  });

  it('serializes the response details as before: status, status text and body, never the headers', async () => {
    const { response } = await errorExtensionsOf();
    expect(JSON.parse(JSON.stringify(response))).toEqual({ status: 200, statusText: '', body: 'not json' });
    expect(Object.keys({ ...response })).toEqual(['status', 'statusText', 'body']);
  });

  it('with exposeHTTPDetailsInExtensions, the headers are an ordinary enumerable property, as before', async () => {
    const { response } = await errorExtensionsOf({ exposeHTTPDetailsInExtensions: true });
    expect(Object.getOwnPropertyDescriptor(response, 'headers')).toMatchObject({ value: { 'content-type': 'text/plain', 'x-upstream': 'yes' }, enumerable: true });
    expect(JSON.parse(JSON.stringify(response)).headers).toEqual({ 'content-type': 'text/plain', 'x-upstream': 'yes' });
  });
});
