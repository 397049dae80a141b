/**
 * The transport under executor-http: a `fetch` for one upstream, made with undici's request
 * API over a keep-alive connection pool.
 *
 * executor-http builds, sends and reads the GraphQL request through whatever `fetch` it is
 * given. The default (@whatwg-node/fetch over node:http) wraps every call in WHATWG Request,
 * Headers, stream and AbortSignal objects, and was the largest cost of a gateway request
 * after the socket writes themselves (README "Gateway mode", bench/gateway.ts). undici is
 * Node's own HTTP/1.1 client (the one behind the global fetch); its `request` call skips the
 * WHATWG layer and reads the answer in one piece, which is what executor-http does with a
 * GraphQL response anyway.
 *
 * The answer given back is the part of a Response that executor-http reads: status, headers
 * and text(). An answer it would stream (multipart/mixed, for @defer) goes back as a real
 * Response over the text already read, so it is still parsed, just not incrementally.
 *
 * Timeouts are undici's own per-request timers (the wait for the answer's headers, then for
 * each part of its body) rather than an AbortSignal, which costs a signal and a timer per
 * request.
 */
import { Response } from '@whatwg-node/fetch';
import type { AsyncFetchFn } from '@graphql-tools/executor-http';
import { Pool } from 'undici';

export function upstreamFetch(endpoint: string, timeoutMs: number): AsyncFetchFn {
  const { origin } = new URL(endpoint);
  const pool = new Pool(origin, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  // executor-http calls with its endpoint every time (plus a query string for GET): parse it once.
  let last: { url: string; path: string } | null = null;
  const pathOf = (url: string): string => {
    if (last?.url !== url) {
      const parsed = new URL(url);
      if (parsed.origin !== origin) throw new Error(`upstream fetch: ${parsed.origin} is not this upstream's origin ${origin}`);
      last = { url, path: parsed.pathname + parsed.search };
    }
    return last.path;
  };

  return (async (url: string, init?: RequestInit) => {
    const path = pathOf(url);
    const answer = await pool.request({
      path,
      method: (init?.method ?? 'GET') as 'GET' | 'POST',
      headers: init?.headers as Record<string, string> | undefined,
      body: init?.body as string | undefined,
    });
    const text = await answer.body.text();
    const headers = new AnswerHeaders(answer.headers);
    const contentType = headers.get('content-type') ?? '';
    if (contentType.includes('multipart/') || contentType.includes('text/event-stream')) {
      return new Response(text, { status: answer.statusCode, headers: [...headers.entries()] });
    }
    return { status: answer.statusCode, statusText: '', headers, text: () => text } as unknown as Response;
  }) as AsyncFetchFn;
}

/**
 * undici's header record (lower-case names; a repeated header as an array) with the Headers
 * methods executor-http calls: `get` always, `entries` only when it reports an error.
 */
class AnswerHeaders {
  constructor(private readonly record: Record<string, string | string[] | undefined>) {}

  get(name: string): string | null {
    const value = this.record[name.toLowerCase()];
    return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
  }

  *entries(): IterableIterator<[string, string]> {
    for (const name of Object.keys(this.record)) yield [name, this.get(name)!];
  }

  [Symbol.iterator]() {
    return this.entries();
  }
}
