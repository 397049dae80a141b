/**
 * The HTTP answer of a batch (a JSON array of operations) from its operations' refusals. Yoga
 * reads an error's `extensions.http` (a 429's status and Retry-After) only for a single
 * result, so a batch whose operations were all rate-limited answered 200 without Retry-After,
 * and a client that backs off on either kept sending. Now:
 * - every operation refused with the same status (429, say): the batch answers that status;
 * - any operation's Retry-After (the longest when several): the batch carries it, also when
 *   other operations of it were served (200).
 */
import type { Plugin } from 'graphql-yoga';

/** `spec`: graphql-yoga's mark on request errors (a document that does not parse) it answers 200 for in JSON. */
type HttpExtension = { status?: number; headers?: Record<string, string>; spec?: boolean };
type OperationResult = { errors?: readonly { extensions?: { http?: HttpExtension } }[] };

export function useBatchStatus(): Plugin {
  const refusals = new WeakMap<Request, BatchRefusals>();
  return {
    onResultProcess({ request, result }) {
      if (!Array.isArray(result)) return;
      const found = batchRefusals(result as OperationResult[]);
      if (found.status !== null || found.retryAfter !== null) refusals.set(request, found);
    },
    onResponse({ request, response, setResponse, fetchAPI }) {
      const found = refusals.get(request);
      if (!found) return;
      const headers = new fetchAPI.Headers(response.headers);
      if (found.retryAfter !== null) headers.set('retry-after', String(found.retryAfter));
      setResponse(new fetchAPI.Response(response.body, { status: found.status ?? response.status, headers }));
    },
  };
}

type BatchRefusals = { status: number | null; retryAfter: number | null };

/** The status every operation was refused with (null unless all share one), and the longest Retry-After. */
function batchRefusals(results: readonly OperationResult[]): BatchRefusals {
  let status: number | null | undefined;
  let retryAfter: number | null = null;
  for (const result of results) {
    const http = result?.errors?.find((error) => error.extensions?.http?.status && !error.extensions.http.spec)?.extensions?.http;
    status = status === undefined || status === http?.status ? (http?.status ?? null) : null;
    const seconds = Number(http?.headers?.['Retry-After'] ?? http?.headers?.['retry-after']);
    if (Number.isFinite(seconds) && seconds > 0) retryAfter = Math.max(retryAfter ?? 0, seconds);
  }
  return { status: status ?? null, retryAfter };
}
