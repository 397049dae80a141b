/**
 * Property tests for what reads untrusted credentials before the database is asked: the key
 * codec (src/auth/credentials.ts) and the header parsing of the auth plugin
 * (extractCredential, resolveClientAddress). Garbage is refused without a crash; every key
 * the codec makes is recognized; any one-character change to a key is caught by its checksum.
 */
import fc from 'fast-check';
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { SESSION_TOKEN_FORMAT } from '../../src/auth/strategies/session.js';
import { extractCredential, resolveClientAddress } from '../../src/auth/use-auth.js';
import { parseAddressRange } from '../../src/lib/ip.js';
import { generateKey, looksLikeKey, parseKey, parseKeyFormat } from '../../src/auth/credentials.js';

const formats = [
  parseKeyFormat('kg_{base62:40}{checksum}'),
  parseKeyFormat('ezb_live_{hex:48}'),
  parseKeyFormat('ezy_{tenantId}_{hex:64}'),
  SESSION_TOKEN_FORMAT,
];
const format = fc.constantFrom(...formats);
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

describe('key codec (fuzz)', () => {
  it('parseKey and looksLikeKey never throw on any string', () => {
    fc.assert(
      fc.property(format, fc.string({ unit: 'binary', maxLength: 600 }), (f, text) => {
        const parsed = parseKey(f, text);
        if (parsed) expect(looksLikeKey(f, text)).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });

  it('every generated key parses, and carries its tenant id when the format has one', () => {
    fc.assert(
      fc.property(format, fc.stringMatching(/^[a-z0-9]{1,30}$/), (f, tenantId) => {
        const key = generateKey(f, tenantId);
        expect(parseKey(f, key)).toEqual({ tenantId: f.template.includes('{tenantId}') ? tenantId : null });
      }),
      { numRuns: 300 },
    );
  });

  it('changing any one character of a checksummed key makes it refused', () => {
    const checksummed = fc.constantFrom(formats[0]!, formats[3]!);
    fc.assert(
      fc.property(checksummed, fc.nat(), fc.constantFrom(...BASE62.split('')), (f, at, replacement) => {
        const key = generateKey(f, '');
        const literal = f.template.indexOf('{');
        const index = literal + (at % (key.length - literal));
        fc.pre(key[index] !== replacement);
        const typo = key.slice(0, index) + replacement + key.slice(index + 1);
        expect(parseKey(f, typo)).toBeNull();
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('credential headers (fuzz)', () => {
  const headerValue = fc.string({ unit: fc.constantFrom(...'abcXYZ019_ \tBearer:'.split('')), maxLength: 80 });

  it('extractCredential returns a credential, null, or a 401 UNAUTHENTICATED error, nothing else', () => {
    fc.assert(
      fc.property(fc.option(headerValue), fc.option(headerValue), (apiKey, authorization) => {
        const headers = new Headers();
        if (apiKey !== null) headers.set('x-api-key', apiKey);
        if (authorization !== null) headers.set('authorization', authorization);
        try {
          const credential = extractCredential(headers);
          if (credential !== null) expect(credential).toBe(credential.trim());
        } catch (error) {
          expect(error).toBeInstanceOf(GraphQLError);
          expect((error as GraphQLError).extensions).toMatchObject({ code: 'UNAUTHENTICATED', http: { status: 401 } });
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('resolveClientAddress never throws and, behind no trusted proxy, ignores X-Forwarded-For', () => {
    const proxies = [parseAddressRange('10.0.0.0/8'), parseAddressRange('::1')];
    const forwarded = fc.array(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 20 })), { maxLength: 6 }).map((hops) => hops.join(', '));
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.constant('10.1.2.3')), forwarded, (socket, header) => {
        const headers = new Headers({ 'x-forwarded-for': header });
        const untrusted = resolveClientAddress(socket, headers, []);
        expect(untrusted).not.toBeNull();
        expect(resolveClientAddress(socket, new Headers(), [])).toBe(untrusted);
        expect(() => resolveClientAddress(socket, headers, proxies)).not.toThrow();
      }),
      { numRuns: 1_000 },
    );
  });
});
