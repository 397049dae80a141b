/**
 * IP addresses and CIDR ranges, parsed by ipaddr.js (no home-made regexes).
 * IPv4 must be written as four decimal parts: ipaddr.js alone also accepts "10.1" or
 * "0x0a.1.2.3", which an administrator almost certainly did not mean.
 * IPv4-mapped IPv6 addresses (::ffff:1.2.3.4, what Node reports on dual-stack sockets)
 * are compared as the IPv4 address they carry.
 */
import ipaddr from 'ipaddr.js';

export type Address = ipaddr.IPv4 | ipaddr.IPv6;
export type AddressRange = { text: string; range: [Address, number] };

/** Parses one allowlist entry: an address or a CIDR range. Throws with a readable message. */
export function parseAddressRange(entry: string): AddressRange {
  const text = entry.trim();
  if (ipaddr.IPv4.isValidCIDRFourPartDecimal(text) || ipaddr.IPv6.isValidCIDR(text)) {
    const [address, bits] = ipaddr.parseCIDR(text);
    return { text, range: asIPv4Range(address, bits) };
  }
  const address = parseAddress(text);
  if (!address) throw new Error(`"${text}" is not an IP address or CIDR range`);
  return { text, range: [address, address.kind() === 'ipv4' ? 32 : 128] };
}

/**
 * A range of IPv4-mapped addresses (`::ffff:10.0.0.0/104`) as the IPv4 range it maps: clients
 * are compared as IPv4 (see above), so as IPv6 it would never match anyone.
 */
function asIPv4Range(address: Address, bits: number): [Address, number] {
  if (address.kind() === 'ipv6' && bits >= 96 && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    return [(address as ipaddr.IPv6).toIPv4Address(), bits - 96];
  }
  return [address, bits];
}

export function parseAddress(text: string | undefined | null): Address | null {
  if (!text) return null;
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (ipaddr.IPv6.isValid(text)) {
    const v6 = ipaddr.IPv6.parse(text);
    return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
  }
  return null;
}

export function isInRanges(address: Address, ranges: readonly AddressRange[]): boolean {
  return ranges.some(({ range }) => address.kind() === range[0].kind() && address.match(range));
}
