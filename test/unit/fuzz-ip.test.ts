/**
 * Property tests for address and CIDR parsing (src/lib/ip.ts), which guards IP allowlists
 * and trusted proxies: any string either parses or fails with the documented Error (never
 * a crash of another kind), and every valid address or range parses and matches itself.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isInRanges, parseAddress, parseAddressRange } from '../../src/lib/ip.js';

const NOT_AN_ADDRESS = /^".*" is not an IP address or CIDR range$/s;

/** Strings near the format: digits, dots, colons, slashes, hex letters, spaces. */
const addressLike = fc.string({ unit: fc.constantFrom(...'0123456789.:/abcdefABCDEF x%-'.split('')), maxLength: 45 });
const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), addressLike);

function parseOrError(text: string): unknown {
  try {
    return parseAddressRange(text);
  } catch (error) {
    return error;
  }
}

describe('address and CIDR parsing (fuzz)', () => {
  it('any string gives a range or the documented Error, nothing else', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const outcome = parseOrError(text);
        if (outcome instanceof Error) {
          expect(outcome.constructor).toBe(Error);
          expect(outcome.message).toMatch(NOT_AN_ADDRESS);
        } else {
          expect(outcome).toMatchObject({ text: text.trim() });
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('parseAddress never throws: null for anything that is not one address', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const address = parseAddress(text);
        if (address) expect(['ipv4', 'ipv6']).toContain(address.kind());
      }),
      { numRuns: 2_000 },
    );
  });

  it('every IPv4 address parses, as an address and as a /32 that contains it', () => {
    fc.assert(
      fc.property(fc.ipV4(), (text) => {
        const address = parseAddress(text)!;
        expect(address.toString()).toBe(text);
        expect(isInRanges(address, [parseAddressRange(text)])).toBe(true);
      }),
    );
  });

  it('every IPv6 address parses and matches itself', () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const address = parseAddress(text);
        expect(address).not.toBeNull();
        expect(isInRanges(address!, [parseAddressRange(text)])).toBe(true);
      }),
    );
  });

  it('every IPv4 CIDR parses and contains its own network address', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), (ip, bits) => {
        const range = parseAddressRange(`${ip}/${bits}`);
        expect(range.range[1]).toBe(bits);
        expect(isInRanges(parseAddress(ip)!, [range])).toBe(true);
      }),
    );
  });

  it('every IPv6 CIDR parses and contains its own address', () => {
    fc.assert(
      fc.property(fc.ipV6(), fc.integer({ min: 0, max: 128 }), (ip, bits) => {
        const range = parseAddressRange(`${ip}/${bits}`);
        const address = parseAddress(ip)!;
        // An IPv4-mapped address is compared as IPv4 (ip.ts): a range of mapped addresses
        // (96 bits or more) is the IPv4 range it maps; a wider one stays IPv6 and cannot hold it.
        const mapped = address.kind() === 'ipv4';
        if (!mapped || bits >= 96) expect(isInRanges(address, [range])).toBe(true);
        expect(range.range[1]).toBe(mapped && bits >= 96 ? bits - 96 : bits);
      }),
    );
  });

  it('prefix lengths beyond the family are refused', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 33, max: 999 }), (ip, bits) => {
        expect(() => parseAddressRange(`${ip}/${bits}`)).toThrow(NOT_AN_ADDRESS);
      }),
    );
  });

  it('IPv4 written other than as four decimal parts is refused (0x0a.1.2.3, 10.1, 012.1.2.3)', () => {
    fc.assert(
      fc.property(fc.ipV4Extended(), (text) => {
        if (/^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(text)) return;
        expect(parseAddress(text)).toBeNull();
        expect(() => parseAddressRange(text)).toThrow(NOT_AN_ADDRESS);
      }),
    );
  });
});
