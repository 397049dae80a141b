/**
 * The request body limit (KEYGATE_MAX_BODY_BYTES): 413 for a body over it, 400 for a
 * Content-Length that is not one plain number. It replaces Yoga's own `maxRequestBodySize`
 * (set to false in index.ts), with the same checks and errors, for one reason: speed.
 *
 * Yoga pipes every body through a counting TransformStream and builds a second Request
 * around it, even when Content-Length already says the body fits. That pipe was the most
 * expensive single thing in a small request: ~15% of a bare Yoga server's CPU per request
 * (node:stream pipeline, the AbortController and DOMException it creates when it finishes;
 * profile in bench/RESULTS.md). A request that came through Node's HTTP parser with a valid
 * Content-Length and no Transfer-Encoding cannot carry more bytes than it announced (the
 * parser delivers exactly that many as the body and treats the rest as the next request),
 * so the announced length is the check. Every other request — chunked, no Content-Length,
 * or not from Node's server (`yoga.fetch` in tests, another runtime) — is counted while it
 * is read, as Yoga does.
 */
import { IncomingMessage } from 'node:http';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { ServerContext } from '../context.js';

/** Only a single non-negative integer is a valid Content-Length (not "1,1", not "-1"). */
export const CONTENT_LENGTH = /^\d+$/;

/** Place after every plugin that registers a request parser: it wraps the one selected. */
export function useRequestBodyLimit(limit: number): Plugin<ServerContext> {
  return {
    onRequestParse({ request, serverContext, requestParser, setRequestParser, fetchAPI }) {
      const contentLength = request.headers.get('content-length');
      if (contentLength !== null) {
        if (!CONTENT_LENGTH.test(contentLength)) throw invalidContentLength();
        if (Number(contentLength) > limit) throw bodyTooLarge();
        if (lengthEnforcedByNode(request, serverContext)) return;
      }
      if (!requestParser || !request.body) return;
      setRequestParser((req) => requestParser(countingBody(req, limit, fetchAPI)));
    },
  };
}

function lengthEnforcedByNode(request: Request, serverContext: unknown): boolean {
  const req = (serverContext as ServerContext | undefined)?.req;
  return req instanceof IncomingMessage && !request.headers.has('transfer-encoding');
}

/** The request with a body that errors with 413 once more than `limit` bytes were read (Yoga's own wrapper). */
function countingBody(request: Request, limit: number, fetchAPI: { Request: typeof Request; TransformStream: typeof TransformStream }): Request {
  const body = request.body!;
  // A native ReadableStream needs the native TransformStream (graphql-yoga issue 4583).
  const TransformStreamClass = body instanceof ReadableStream ? globalThis.TransformStream : fetchAPI.TransformStream;
  let bytesRead = 0;
  const limited = body.pipeThrough(
    new TransformStreamClass<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        bytesRead += chunk.byteLength;
        if (bytesRead > limit) return controller.error(bodyTooLarge());
        controller.enqueue(chunk);
      },
    }),
  );
  return new fetchAPI.Request(request.url, {
    method: request.method,
    headers: request.headers,
    signal: request.signal,
    body: limited,
    duplex: 'half',
  } as RequestInit);
}

function bodyTooLarge() {
  return new GraphQLError('Request body too large', { extensions: { code: 'REQUEST_ENTITY_TOO_LARGE', http: { status: 413 } } });
}

function invalidContentLength() {
  return new GraphQLError('Content-Length header is invalid.', { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });
}
