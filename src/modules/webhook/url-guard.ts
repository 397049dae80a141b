/**
 * SSRF guard: a webhook URL must not reach the host's own network. An address is refused
 * unless it is public unicast: loopback, private (RFC 1918, unique-local), link-local (which
 * holds the cloud metadata service, 169.254.169.254), carrier-grade NAT, multicast,
 * unspecified and reserved ranges are all refused. The check is made at registration (the
 * host name resolved once) and again at delivery on every connection, inside the socket's DNS
 * lookup, so a name that later resolves elsewhere (DNS rebinding) is refused too.
 * KEYGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true lifts it, for development and tests.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { promises as dns } from 'node:dns';
import { badInput } from '../../errors.js';
import { parseAddress, type Address } from '../../lib/ip.js';

export class BlockedAddressError extends Error {
  override name = 'BlockedAddressError';
}

/** Whether an address is one outbound webhooks may connect to. */
export function isPublicAddress(text: string): boolean {
  const address = parseAddress(text);
  if (!address) return false;
  // ipaddr.js names ranges: only 'unicast' is the public internet (6to4/teredo embed others).
  // It calls ::/96, the deprecated IPv4-compatible addresses (::127.0.0.1), unicast too: they
  // name an IPv4 address, and no public host has one.
  return address.range() === 'unicast' && !isIpv4Compatible(address);
}

function isIpv4Compatible(address: Address): boolean {
  return address.kind() === 'ipv6' && address.toByteArray().slice(0, 12).every((byte) => byte === 0);
}

/** Checks a URL's form (http/https, no credentials) and, unless allowed, that its host is public. */
export async function assertDeliverableUrl(field: string, text: string, options: { allowPrivateNetworks: boolean }): Promise<URL> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw badInput(field, 'must be an absolute http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw badInput(field, 'must be an http or https URL');
  if (url.username || url.password) throw badInput(field, 'must not contain a user name or password');
  if (text.length > 2000) throw badInput(field, 'must be at most 2000 characters');
  if (options.allowPrivateNetworks) return url;
  const host = hostOf(url);
  const addresses = parseAddress(host) ? [host] : await resolveAll(host).catch(() => null);
  if (!addresses || addresses.length === 0) throw badInput(field, `host ${host} does not resolve`);
  if (!addresses.every(isPublicAddress)) throw badInput(field, 'must not point at a private, loopback, link-local or metadata address');
  return url;
}

/** The URL's host without IPv6 brackets. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

async function resolveAll(host: string): Promise<string[]> {
  const results = await dns.lookup(host, { all: true, verbatim: true });
  return results.map((result) => result.address);
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http.request that refuses non-public answers: the address checked is the
 * one the socket connects to, so there is no gap between check and use.
 */
export function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, verbatim: true }, (error, address, family) => {
    if (error) return callback(error, address as string, family);
    const answers = Array.isArray(address) ? address.map((entry) => entry.address) : [address];
    if (!answers.every(isPublicAddress)) {
      return callback(new BlockedAddressError(`${hostname} resolves to a non-public address`), address as string, family);
    }
    callback(null, address as string, family);
  });
}

