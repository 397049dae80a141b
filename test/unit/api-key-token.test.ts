import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { checksum, digestSecret, generateKey, parseKey, parseKeyFormat } from '../../src/auth/credentials.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const TENANT_ID = 'cmb1x2y3z0000abcd1234efgh';

/** The format a deployment gets from KEYGATE_KEY_FORMAT (or the default when unset). */
const configuredFormat = (template?: string) => loadConfig(template === undefined ? {} : { KEYGATE_KEY_FORMAT: template }).keyFormat;

const defaultFormat = configuredFormat();

/** Every character a one-character typo could put in a key: its alphabet and then some. */
const REPLACEMENTS = [...BASE62, '_', '-', '.', ' ', '{', '}', '/', '+', '=', 'é', 'ß', '\u0000', '😀'];

/** A well-formed default key whose random body fast-check chooses (so failures shrink). */
const defaultKeyArbitrary = fc
  .string({ unit: fc.constantFrom(...BASE62), minLength: 40, maxLength: 40 })
  .map((body) => `kg_${body}${checksum(body)}`);

function withCharReplaced(key: string, position: number, replacement: string): string {
  return key.slice(0, position) + replacement + key.slice(position + 1);
}

describe('key codec: the default format', () => {
  it('is kg_ + 40 base62 characters + a 6-character checksum', () => {
    expect(defaultFormat.template).toBe('kg_{base62:40}{checksum}');
    const key = generateKey(defaultFormat, TENANT_ID);
    expect(key).toMatch(/^kg_[0-9A-Za-z]{46}$/);
  });

  it('ends with the CRC32 of its random body, written in base62 and zero-padded to 6 characters', () => {
    const key = generateKey(defaultFormat, TENANT_ID);
    const body = key.slice(3, -6);
    let crc = crc32(body);
    let expected = '';
    do {
      expected = BASE62[crc % 62] + expected;
      crc = Math.floor(crc / 62);
    } while (crc > 0);
    expect(key.slice(-6)).toBe(expected.padStart(6, '0'));
  });

  it('draws its body from the whole base62 alphabet, so no two keys repeat', () => {
    const keys = Array.from({ length: 2000 }, () => generateKey(defaultFormat, TENANT_ID));
    expect(new Set(keys).size).toBe(keys.length);
    const used = new Set(keys.flatMap((key) => [...key.slice(3, -6)]));
    expect([...used].sort().join('')).toBe([...BASE62].sort().join(''));
  });

  it('parses the keys it generates', () => {
    for (let i = 0; i < 200; i++) {
      expect(parseKey(defaultFormat, generateKey(defaultFormat, TENANT_ID))).toEqual({ tenantId: null });
    }
  });
});

describe('key codec: each seed format is reproduced by configuration', () => {
  it('ezy_{tenantId}_{hex:64}', () => {
    const format = configuredFormat('ezy_{tenantId}_{hex:64}');
    const key = generateKey(format, TENANT_ID);
    expect(key).toMatch(new RegExp(`^ezy_${TENANT_ID}_[0-9a-f]{64}$`));
    expect(parseKey(format, key)).toEqual({ tenantId: TENANT_ID });
  });

  it('ezb_live_{hex:48}', () => {
    const format = configuredFormat('ezb_live_{hex:48}');
    const key = generateKey(format, TENANT_ID);
    expect(key).toMatch(/^ezb_live_[0-9a-f]{48}$/);
    expect(parseKey(format, key)).toEqual({ tenantId: null });
  });

  it('kg_{base62:40}{checksum}', () => {
    const format = configuredFormat('kg_{base62:40}{checksum}');
    const key = generateKey(format, TENANT_ID);
    expect(key).toMatch(/^kg_[0-9A-Za-z]{46}$/);
    expect(key.slice(-6)).toBe(checksum(key.slice(3, -6)));
    expect(parseKey(format, key)).toEqual({ tenantId: null });
  });

  it('rejects a key of another format', () => {
    const ezy = generateKey(configuredFormat('ezy_{tenantId}_{hex:64}'), TENANT_ID);
    const ezb = generateKey(configuredFormat('ezb_live_{hex:48}'), TENANT_ID);
    expect(parseKey(defaultFormat, ezy)).toBeNull();
    expect(parseKey(defaultFormat, ezb)).toBeNull();
    expect(parseKey(configuredFormat('ezb_live_{hex:48}'), generateKey(defaultFormat, TENANT_ID))).toBeNull();
  });
});

describe('key codec: parseKey', () => {
  it('rejects every one-character change of a valid default key (the checksum catches typos)', () => {
    for (let round = 0; round < 3; round++) {
      const key = generateKey(defaultFormat, TENANT_ID);
      for (let position = 0; position < key.length; position++) {
        for (const replacement of REPLACEMENTS) {
          if (replacement === key[position]) continue;
          expect(parseKey(defaultFormat, withCharReplaced(key, position, replacement)), `${position}:${replacement}`).toBeNull();
        }
      }
    }
  });

  it('property: for every position and replacement character, a one-character change fails', () => {
    fc.assert(
      fc.property(
        defaultKeyArbitrary,
        fc.nat({ max: 48 }),
        fc.oneof(fc.constantFrom(...REPLACEMENTS), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })),
        (key, position, replacement) => {
          fc.pre(key[position] !== replacement);
          expect(parseKey(defaultFormat, key)).not.toBeNull();
          expect(parseKey(defaultFormat, withCharReplaced(key, position, replacement))).toBeNull();
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('rejects garbage', () => {
    const key = generateKey(defaultFormat, TENANT_ID);
    for (const garbage of ['', 'kg_', 'kg_short', 'hello world', 'Bearer ' + key, ` ${key}`, `${key} `, `${key}\n`, key.toUpperCase(), `kgs_${key.slice(3)}`]) {
      expect(parseKey(defaultFormat, garbage), JSON.stringify(garbage)).toBeNull();
    }
  });

  it('rejects too-long input, including a valid key with extra characters', () => {
    const key = generateKey(defaultFormat, TENANT_ID);
    expect(parseKey(defaultFormat, key + 'a')).toBeNull();
    expect(parseKey(defaultFormat, key + key)).toBeNull();
    expect(parseKey(defaultFormat, 'kg_' + 'a'.repeat(10_000))).toBeNull();
    expect(parseKey(defaultFormat, key.repeat(100_000))).toBeNull();
  });

  it('property: never throws on arbitrary strings and returns null for anything not generated', () => {
    const nearlyKeys = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 600 }),
      fc.string({ unit: fc.constantFrom(...BASE62, '_'), maxLength: 60 }).map((s) => `kg_${s}`),
      fc.string({ unit: fc.constantFrom(...BASE62), minLength: 46, maxLength: 46 }).map((s) => `kg_${s}`),
    );
    const formats = [defaultFormat, configuredFormat('ezy_{tenantId}_{hex:64}'), configuredFormat('ezb_live_{hex:48}')];
    fc.assert(
      fc.property(nearlyKeys, (candidate) => {
        for (const format of formats) {
          // A random 46-character body has a 1 in 62^6 (≈6·10^10) chance of a matching checksum.
          expect(parseKey(format, candidate)).toBeNull();
        }
      }),
      { numRuns: 5000 },
    );
  });
});

describe('key codec: templates', () => {
  it.each([
    ['kg_{base62:32}{checksum}', 'fewer than 192 random bits (≈190)'],
    ['ezb_live_{hex:47}', 'fewer than 192 random bits (188)'],
    ['kg_{checksum}', 'no random part'],
    ['static_key', 'no placeholder at all'],
  ])('refuses %s: %s', (template) => {
    expect(() => parseKeyFormat(template)).toThrow(/random bits/);
  });

  it('accepts exactly 192 random bits', () => {
    expect(() => parseKeyFormat('ezb_live_{hex:48}')).not.toThrow();
  });

  it.each([
    ['kg_{uuid}{base62:40}', 'unknown name'],
    ['kg_{base64:40}', 'unknown alphabet'],
    ['kg_{hex}{base62:40}', 'random part without a length'],
    ['kg_{base62:40}{checksum:8}', 'checksum with a length'],
    ['kg_{tenantId:5}_{base62:40}', 'tenantId with a length'],
    ['kg_{base62:0}{base62:40}', 'zero length'],
    ['kg_{base62:40}{', 'an unclosed brace'],
    ['kg_{base62:40}}', 'a stray closing brace'],
    ['kg_{ base62:40}', 'a malformed placeholder'],
    ['kg {base62:40}', 'whitespace'],
    ['kg_{base62:40}{checksum}{checksum}', 'two checksums'],
  ])('refuses %s (%s)', (template) => {
    expect(() => parseKeyFormat(template)).toThrow();
  });

  it('names KEYGATE_KEY_FORMAT when the configured template is unusable', () => {
    expect(() => loadConfig({ KEYGATE_KEY_FORMAT: 'kg_{hex:8}' })).toThrow(ConfigError);
    expect(() => loadConfig({ KEYGATE_KEY_FORMAT: 'kg_{uuid}' })).toThrow(/KEYGATE_KEY_FORMAT/);
  });
});

describe('key codec: every accepted template round-trips', () => {
  /** Templates built from the documented placeholders, some too weak or too long to be accepted. */
  const templateArbitrary = fc
    .record({
      literal: fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz_'), minLength: 1, maxLength: 12 }),
      withTenant: fc.boolean(),
      randoms: fc.array(fc.record({ alphabet: fc.constantFrom('base62', 'hex'), length: fc.integer({ min: 1, max: 256 }) }), {
        minLength: 1,
        maxLength: 4,
      }),
      withChecksum: fc.boolean(),
    })
    .map(
      ({ literal, withTenant, randoms, withChecksum }) =>
        literal + (withTenant ? '{tenantId}_' : '') + randoms.map((r) => `{${r.alphabet}:${r.length}}`).join('_') + (withChecksum ? '{checksum}' : ''),
    );
  const tenantIdArbitrary = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), minLength: 1, maxLength: 64 });

  it('property: a template the configuration accepts only makes keys that parseKey accepts', () => {
    fc.assert(
      fc.property(templateArbitrary, tenantIdArbitrary, (template, tenantId) => {
        let format;
        try {
          format = parseKeyFormat(template);
        } catch {
          return; // refused at start-up: no key is ever made with it
        }
        const key = generateKey(format, tenantId);
        expect(parseKey(format, key)).toEqual({ tenantId: template.includes('{tenantId}') ? tenantId : null });
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses a template whose keys would be longer than parseKey reads', () => {
    expect(() => parseKeyFormat('kg_{base62:256}{base62:256}{checksum}')).toThrow(/at most 512/);
    expect(() => parseKeyFormat('ezy_{tenantId}_{hex:256}{hex:200}')).toThrow(/at most 512/);
    expect(() => parseKeyFormat('k{hex:256}{hex:249}{checksum}')).not.toThrow();
  });

  it('refuses to make a key with a tenant id it could not read back', () => {
    const format = configuredFormat('ezy_{tenantId}_{hex:64}');
    for (const tenantId of ['', 'Tenant', 'ten-ant', 't'.repeat(65)]) {
      expect(() => generateKey(format, tenantId), JSON.stringify(tenantId)).toThrow(/tenant id/);
    }
    expect(() => generateKey(defaultFormat, '')).not.toThrow();
  });
});

describe('key codec: digestSecret', () => {
  it('is the SHA-256 of the secret in lowercase hex', () => {
    // FIPS 180-2 test vector.
    expect(digestSecret('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const key = generateKey(defaultFormat, TENANT_ID);
    expect(digestSecret(key)).toBe(createHash('sha256').update(key, 'utf8').digest('hex'));
    expect(digestSecret(key)).toMatch(/^[0-9a-f]{64}$/);
    expect(digestSecret(key)).not.toContain(key.slice(3, 19));
  });
});
