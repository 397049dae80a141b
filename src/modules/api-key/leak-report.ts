/**
 * `POST /leaks/report`: the GitHub secret-scanning partner endpoint. When GitHub (or another
 * scanner speaking the same protocol) finds a keygate key in a public place, it posts
 *
 *   [{ "token": "kg_…", "type": "keygate_api_key", "url": "https://github.com/…", "source": "content" }]
 *
 * signed with ECDSA (SHA-256) over the raw body: the signature (base64, DER) in
 * `Github-Public-Key-Signature`, the signing key's id in `Github-Public-Key-Identifier`. The
 * key must be one of KEYGATE_LEAK_REPORT_PUBLIC_KEYS (lib/leak-report-keys.ts); anything else
 * is 401 before the body is read as JSON. Each reported key of ours is handled by its
 * tenant's leak response (leak.service.ts), and the answer labels every token:
 *
 *   [{ "token_raw": "kg_…", "token_type": "keygate_api_key", "label": "true_positive" }]
 *
 * `token_raw` echoes the reporter's own token back to it, as the protocol wants; that is the
 * only place a reported token goes. It is never logged or stored: log lines carry counts and
 * the reporter's key id, audit events the key's prefix.
 *
 * Without configured keys the endpoint does not exist (404).
 */
import { verify } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import type { KeyFormat } from '../../auth/credentials.js';
import { readBodyWithin } from '../../lib/bounded-body.js';
import type { Logger } from '../../lib/logger.js';
import type { LeakReportPublicKey } from '../../lib/leak-report-keys.js';
import { findKeyBySecret, respondToLeak } from './leak.service.js';

export const LEAK_REPORT_PATH = '/leaks/report';
const MAX_BODY_BYTES = 1024 * 1024;
const MAX_TOKENS = 1000;
const MAX_TOKEN_LENGTH = 1024;

export type LeakReportOptions = {
  publicKeys: readonly LeakReportPublicKey[];
  format: KeyFormat;
  logger: Logger;
};

type ReportedToken = { token: string; type: string; url?: string; source?: string };
type Label = 'true_positive' | 'false_positive';

export function useLeakReports(options: LeakReportOptions): Plugin {
  return {
    onRequest({ url, request, endResponse }) {
      if (url.pathname !== LEAK_REPORT_PATH) return;
      return handle(request, options).then(endResponse);
    },
  };
}

async function handle(request: Request, { publicKeys, format, logger }: LeakReportOptions): Promise<Response> {
  if (publicKeys.length === 0) return json(404, { error: 'leak reports are not configured on this server' });
  if (request.method !== 'POST') return json(405, { error: 'use POST' }, { allow: 'POST' });

  const body = await readBody(request);
  if (body === null) return json(413, { error: `the body is larger than ${MAX_BODY_BYTES} bytes` });
  const identifier = request.headers.get('github-public-key-identifier')?.trim() ?? '';
  const signature = request.headers.get('github-public-key-signature')?.trim() ?? '';
  const signer = publicKeys.find((k) => k.identifier === identifier);
  if (!signer || !signature || !verifies(body, signature, signer)) {
    logger.warn('leak report refused: bad or missing signature', { keyIdentifier: identifier.slice(0, 200) || null });
    return json(401, { error: 'the signature does not verify against a configured public key' });
  }

  const tokens = parseReport(body);
  if (typeof tokens === 'string') return json(400, { error: tokens });

  const answers: { token_raw: string; token_type: string; label: Label }[] = [];
  let truePositives = 0;
  try {
    for (const reported of tokens) {
      const found = await findKeyBySecret(format, reported.token);
      if (found) {
        truePositives++;
        await respondToLeak(found, { kind: 'REPORT', reporter: signer.identifier, url: reported.url, sourceType: reported.source });
      }
      answers.push({ token_raw: reported.token, token_type: reported.type, label: found ? 'true_positive' : 'false_positive' });
    }
  } catch (error) {
    // The reporter retries on a 5xx; the keys handled so far stay handled (a second report
    // of a revoked key changes nothing).
    logger.error('leak report failed', { error: (error as Error).message, handled: answers.length });
    return json(503, { error: 'could not process the report; retry later' }, { 'retry-after': '30' });
  }
  logger.info('leak report handled', { keyIdentifier: signer.identifier, tokens: tokens.length, truePositives });
  return json(200, answers);
}

/** The raw body (the signature covers its exact bytes), or null when it is too large. */
function readBody(request: Request): Promise<Buffer | null> {
  return readBodyWithin(request, MAX_BODY_BYTES);
}

function verifies(body: Buffer, signature: string, signer: LeakReportPublicKey): boolean {
  try {
    return verify('sha256', body, signer.key, Buffer.from(signature, 'base64'));
  } catch {
    return false; // a signature that is not DER at all
  }
}

/** The token list, or what is wrong with it (never quoting a token). */
function parseReport(body: Buffer): ReportedToken[] | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return 'the body must be a JSON array of { token, type, url, source }';
  }
  if (!Array.isArray(parsed)) return 'the body must be a JSON array of { token, type, url, source }';
  if (parsed.length > MAX_TOKENS) return `at most ${MAX_TOKENS} tokens per report`;
  const tokens: ReportedToken[] = [];
  for (const [i, entry] of parsed.entries()) {
    const { token, type, url, source } = (entry ?? {}) as Record<string, unknown>;
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return `entry ${i}: "token" must be a non-empty string`;
    if (typeof type !== 'string') return `entry ${i}: "type" must be a string`;
    tokens.push({ token, type, url: typeof url === 'string' ? url : undefined, source: typeof source === 'string' ? source : undefined });
  }
  return tokens;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  });
}
