/**
 * Request targets Yoga's Fetch conversion cannot turn into a URL. @whatwg-node/server builds
 * `http://<Host header><request target>` and hands it to `new URL`, which throws on an
 * absolute-form target (`POST http://keygate.example/graphql HTTP/1.1`, what a forward proxy
 * sends), on `*` (`OPTIONS * HTTP/1.1`) and on a Host header that names no host (`[`,
 * `a:b:c`); it answers that with a 500 whose body is the error's stack.
 *
 * An absolute-form target is accepted, as HTTP/1.1 requires of a server (RFC 9112 §3.2.2):
 * rewritten to its origin form, its authority becoming the Host. Anything else that cannot
 * make a URL is the client's malformed request: 400, without a stack.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

const SLASH = 47;
const MAX_REMEMBERED_HOSTS = 1_000;
/** Host header → whether it makes a URL: a server sees the same few again and again. */
const hostsChecked = new Map<string, boolean>();

/** True when Yoga can take the request (its target rewritten if it was absolute-form); else answers 400 and returns false. */
export function acceptTarget(req: IncomingMessage, res: ServerResponse): boolean {
  const target = req.url ?? '/';
  if (target.charCodeAt(0) !== SLASH && !toOriginForm(req, target)) return refuse(res);
  const host = req.headers.host;
  if (host !== undefined && !usableHost(host)) return refuse(res);
  return true;
}

function toOriginForm(req: IncomingMessage, target: string): boolean {
  if (!/^https?:\/\//i.test(target) || !URL.canParse(target)) return false;
  const url = new URL(target);
  req.url = `${url.pathname}${url.search}`;
  req.headers.host = url.host;
  return true;
}

function usableHost(host: string): boolean {
  let usable = hostsChecked.get(host);
  if (usable === undefined) {
    // A flood of distinct Host headers costs a check each, never memory without bound.
    if (hostsChecked.size >= MAX_REMEMBERED_HOSTS) hostsChecked.clear();
    usable = host !== '' && URL.canParse(`http://${host}/`) && !/[/?#@\\]/.test(host);
    hostsChecked.set(host, usable);
  }
  return usable;
}

function refuse(res: ServerResponse): false {
  const body = JSON.stringify({ errors: [{ message: 'The request target or its Host header does not make a URL.', extensions: { code: 'BAD_REQUEST' } }] });
  res
    .writeHead(400, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', connection: 'close' })
    .end(body);
  return false;
}
