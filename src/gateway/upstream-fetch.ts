/**
 * The transport under executor-http: a `fetch` for one upstream, made with undici's dispatch
 * API over a keep-alive connection pool.
 *
 * executor-http builds, sends and reads the GraphQL request through whatever `fetch` it is
 * given. The default (@whatwg-node/fetch over node:http) wraps every call in WHATWG Request,
 * Headers, stream and AbortSignal objects, and was the largest cost of a gateway request
 * after the socket writes themselves (README "Gateway mode", bench/gateway.ts). undici is
 * Node's own HTTP/1.1 client (the one behind the global fetch). Its `dispatch` call, the one
 * its `request` and `fetch` are built on, hands over the answer's status, headers and body
 * chunks as they arrive: collected here into one string, which is what executor-http does
 * with a GraphQL response anyway, with no stream object per request in between (without
 * `request`'s Readable body, a proxied request allocates about 7 % less: fewer young-generation
 * collections, each a pause of a few milliseconds on a busy two-core machine).
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
import { Pool, type Dispatcher } from 'undici';

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
    const answer = await requestWhole(pool, {
      path: pathOf(url),
      method: (init?.method ?? 'GET') as 'GET' | 'POST',
      headers: init?.headers as Record<string, string> | undefined,
      body: init?.body as string | undefined,
    });
    const headers = new AnswerHeaders(answer.headers);
    const contentType = headers.get('content-type') ?? '';
    if (contentType.includes('multipart/') || contentType.includes('text/event-stream')) {
      return new Response(answer.text, { status: answer.status, headers: [...headers.entries()] });
    }
    return { status: answer.status, statusText: '', headers, text: () => answer.text } as unknown as Response;
  }) as AsyncFetchFn;
}

type WholeAnswer = { status: number; headers: Record<string, string | string[] | undefined>; text: string };

/**
 * One request through the pool, its answer collected whole. Errors (refused connection,
 * timeouts, a reset mid-body) reject, as `request` would; a 1xx interim answer is replaced
 * by the final one.
 */
function requestWhole(pool: Pool, options: Omit<Dispatcher.DispatchOptions, 'origin'>): Promise<WholeAnswer> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let headers: WholeAnswer['headers'] = {};
    const chunks: Buffer[] = [];
    pool.dispatch(options, {
      onRequestStart() {}, // undici tells this handler API from its older one by this method
      onResponseStart(_controller, statusCode, responseHeaders) {
        status = statusCode;
        headers = responseHeaders;
      },
      onResponseData(_controller, chunk) {
        chunks.push(chunk);
      },
      onResponseEnd() {
        resolve({ status, headers, text: (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8') });
      },
      onResponseError(_controller, error) {
        reject(error);
      },
    });
  });
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
