/**
 * One HTTP attempt: the message signed with the Standard Webhooks headers (by the
 * `standardwebhooks` package), POSTed with a deadline covering connect, send and the answer.
 * Redirects are not followed (a 3xx is a failed attempt): following one could lead anywhere.
 */
import http from 'node:http';
import https from 'node:https';
import { Webhook } from 'standardwebhooks';
import { BlockedAddressError, guardedLookup, hostOf, isPublicAddress } from './url-guard.js';
import { parseAddress } from '../../lib/ip.js';

export type AttemptOutcome = { httpStatus: number | null; error: string | null; durationMs: number };

export type SignedRequest = {
  url: string;
  messageId: string;
  /** The JSON body, exactly as signed. */
  body: string;
  /** The endpoint's secret, then the one a rotation replaced while its grace lasts. */
  secrets: readonly string[];
  timeoutMs: number;
  allowPrivateNetworks: boolean;
  signal?: AbortSignal;
};

/**
 * The Standard Webhooks headers, with one `v1,<signature>` per secret, space-separated: the
 * spec's way of rotating without a gap, since a receiver accepts any signature it can verify.
 */
export function signatureHeaders(secrets: readonly string[], messageId: string, body: string, at = new Date()) {
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': secrets.map((secret) => new Webhook(secret).sign(messageId, at, body)).join(' '),
  };
}

export function sendSigned(request: SignedRequest): Promise<AttemptOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let settled = false;
    let deadline: NodeJS.Timeout | undefined;
    // Set once a request is under way; a URL refused before that (invalid, a literal
    // non-public address) finishes without one.
    let onAbort: (() => void) | undefined;
    const finish = (httpStatus: number | null, error: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      if (onAbort) request.signal?.removeEventListener('abort', onAbort);
      resolve({ httpStatus, error, durationMs: elapsed() });
    };
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return finish(null, 'invalid URL');
    }
    // A literal address skips the DNS lookup: checked here instead.
    const literal = parseAddress(hostOf(url));
    if (!request.allowPrivateNetworks && literal && !isPublicAddress(hostOf(url))) {
      return finish(null, 'refused: the URL points at a non-public address');
    }
    const transport = url.protocol === 'https:' ? https : http;
    const outgoing = transport.request(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'keygate-webhooks/1',
        ...signatureHeaders(request.secrets, request.messageId, request.body),
      },
      ...(request.allowPrivateNetworks ? {} : { lookup: guardedLookup as never }),
      agent: false,
    });
    deadline = setTimeout(() => {
      outgoing.destroy(new Error(`timed out after ${request.timeoutMs} ms`));
    }, request.timeoutMs);
    onAbort = () => outgoing.destroy(new Error('interrupted: the dispatcher is stopping'));
    request.signal?.addEventListener('abort', onAbort, { once: true });
    // The status is the answer; the body is not read (no connection is reused: agent false).
    outgoing.on('response', (response) => {
      finish(response.statusCode ?? null, null);
      response.destroy();
    });
    outgoing.on('error', (error) => {
      const cause = error instanceof BlockedAddressError || (error as { cause?: unknown }).cause instanceof BlockedAddressError;
      finish(null, cause ? 'refused: the host resolves to a non-public address' : error.message.slice(0, 500));
    });
    outgoing.end(request.body);
  });
}
