/**
 * `keygate scan <paths…>` over a temporary tree holding real keys (one in a binary file),
 * near misses (wrong checksum, one character too many, glued to other characters, another
 * prefix) and nothing else: it reports exactly the real keys as file:line with their display
 * prefix, never the secret, and exits 1; a clean tree exits 0. Also the shipped gitleaks
 * rule (.gitleaks.toml): its regex, compiled here, matches freshly generated keys and
 * refuses the shape-level near misses.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateKey, parseKeyFormat } from '../../../src/auth/credentials.js';
import { findKeys } from '../../../src/cli/scan.js';
import { runKeygate } from '../cli/cli-process.js';
import { withOneCharacterChangedFor } from './support.js';

const format = parseKeyFormat('kg_{base62:40}{checksum}');
const newKey = () => generateKey(format, 'tenant');
const root = mkdtempSync(path.join(tmpdir(), 'keygate-scan-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(relative: string, content: string | Buffer) {
  const file = path.join(root, relative);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  return file;
}

describe('keygate scan', () => {
  it('reports every real key as file:line with its display prefix (never the secret) and exits 1; near misses are not reported', async () => {
    const [inEnv, inCode, inBinary, second] = [newKey(), newKey(), newKey(), newKey()];
    const tree = path.join(root, 'tree');
    write('tree/.env', `# settings\nDATABASE_URL=file:./x.db\nKEYGATE_KEY=${inEnv}\n`);
    write('tree/src/client.ts', `const a = 1;\n\nexport const key = "${inCode}"; // oops\nconst b = '${second}';\n`);
    write('tree/dist/app.bin', Buffer.concat([Buffer.from([0, 1, 2, 3, 0xff, 0x0a]), Buffer.from(inBinary, 'latin1'), Buffer.from([0, 0xfe])]));
    const nearMisses = [
      withOneCharacterChangedFor(newKey()), // wrong checksum
      `${newKey()}Z`, // one character too many
      `x${newKey()}`, // glued to a letter
      newKey().replace(/^kg_/, 'kh_'), // another prefix
      'kg_' + 'a'.repeat(46), // the shape, but a made-up body
    ];
    write('tree/test/fixtures.txt', nearMisses.join('\n'));
    write('tree/node_modules/dep/index.js', `module.exports = "${newKey()}";`); // skipped
    write('tree/.git/objects/blob', newKey()); // skipped

    const { code, stdout, stderr } = await runKeygate(['scan', tree], {});
    expect(code, stderr).toBe(1);
    const lines = stdout.trim().split('\n').sort();
    expect(lines).toEqual(
      [
        `${path.join(tree, '.env')}:3: keygate API key ${inEnv.slice(0, 16)}…`,
        `${path.join(tree, 'dist/app.bin')}:2: keygate API key ${inBinary.slice(0, 16)}… (binary file)`,
        `${path.join(tree, 'src/client.ts')}:3: keygate API key ${inCode.slice(0, 16)}…`,
        `${path.join(tree, 'src/client.ts')}:4: keygate API key ${second.slice(0, 16)}…`,
      ].sort(),
    );
    for (const secret of [inEnv, inCode, inBinary, second]) {
      expect(stdout + stderr).not.toContain(secret);
    }
    expect(stderr).toContain('4 key(s) found in 3 file(s)');
  });

  it('exits 0 on a clean tree (near misses only) and 2 for a path it cannot read', async () => {
    const clean = path.join(root, 'clean');
    write('clean/a.txt', `kg_${'x'.repeat(46)}\n${withOneCharacterChangedFor(newKey())}\n`);
    const ok = await runKeygate(['scan', clean], {});
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('');
    const missing = await runKeygate(['scan', path.join(root, 'no-such-dir')], {});
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read');
  });

  it('exits 2, never 1 (keys found), when the scan cannot run: no path, an unknown option, a bad format or setting', async () => {
    const file = write('usage/clean.txt', 'nothing here\n');
    for (const [args, env] of [
      [['scan'], {}],
      [['scan', '--format', 'kg_{base62:40}{checksum}'], {}],
      [['scan', '--format', 'kg_{base62:5}', file], {}],
      [['scan', '--bogus', file], {}],
      [['scan', file], { KEYGATE_KEY_FORMAT: 'kg_{nonsense}' }],
    ] as [string[], Record<string, string>][]) {
      const result = await runKeygate(args, env);
      expect(result.code, `${args.join(' ')} ${JSON.stringify(env)}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(/^keygate: /);
    }
    // Other commands keep exit code 1 for the same kind of mistake.
    expect((await runKeygate(['migrate', '--bogus'], {})).code).toBe(1);
  });

  it('follows a link it was given, to a directory or a file, but not links met while walking', async () => {
    const key = newKey();
    const target = path.join(root, 'linked-target');
    write('linked-target/config.env', `API_KEY=${key}\n`);
    const walked = path.join(root, 'walked');
    mkdirSync(walked, { recursive: true });
    symlinkSync(target, path.join(walked, 'link-inside'));
    symlinkSync(target, path.join(root, 'link-to-dir'));
    symlinkSync(path.join(target, 'config.env'), path.join(root, 'link-to-file'));

    for (const named of [path.join(root, 'link-to-dir'), path.join(root, 'link-to-file')]) {
      const result = await runKeygate(['scan', named], {});
      expect(result.code, result.stderr).toBe(1);
      expect(result.stdout).toContain(key.slice(0, 16));
      expect(result.stdout).not.toContain(key);
    }
    const result = await runKeygate(['scan', walked], {});
    expect(result.code, result.stderr).toBe(0);
  });

  it('scans for the deployment’s format (KEYGATE_KEY_FORMAT or --format)', async () => {
    const hexFormat = parseKeyFormat('ezb_live_{hex:48}');
    const hexKey = generateKey(hexFormat, 't');
    const file = write('formats/config.yaml', `token: ${hexKey}\n`);
    expect((await runKeygate(['scan', file], {})).code).toBe(0);
    const byEnv = await runKeygate(['scan', file], { KEYGATE_KEY_FORMAT: 'ezb_live_{hex:48}' });
    expect(byEnv.code).toBe(1);
    expect(byEnv.stdout).toContain(`config.yaml:1: keygate API key ${hexKey.slice(0, 16)}…`);
    expect((await runKeygate(['scan', '--format', 'ezb_live_{hex:48}', file], {})).code).toBe(1);
  });

  it('finds keys after an escape (JSON or YAML \\n, URL-encoded), in a file of any size, and quotes a file name that could forge a line', async () => {
    const [escaped, encoded, late] = [newKey(), newKey(), newKey()];
    const tree = path.join(root, 'odd');
    write('odd/config.json', `{"env": "A=1\\nKEY=${escaped}\\n"}`);
    write('odd/url.txt', `https://example.test/?key%3D${encoded}&x=1`);
    // Over 100 MiB, the key in its last bytes, after many chunks of text.
    const big = write('odd/big.log', '');
    const line = `${'a'.repeat(1023)}\n`;
    writeFileSync(big, line.repeat(110 * 1024));
    writeFileSync(big, `KEY=${late}\n`, { flag: 'a' });
    const forged = `evil\nfake.txt:99: keygate API key kg_FAKE`;
    write(`odd/${forged}`, newKey());

    const { code, stdout, stderr } = await runKeygate(['scan', tree], {});
    expect(code, stderr).toBe(1);
    const lines = stdout.trim().split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        `${path.join(tree, 'config.json')}:1: keygate API key ${escaped.slice(0, 16)}…`,
        `${path.join(tree, 'url.txt')}:1: keygate API key ${encoded.slice(0, 16)}…`,
        `${path.join(tree, 'big.log')}:${110 * 1024 + 1}: keygate API key ${late.slice(0, 16)}…`,
      ]),
    );
    expect(lines).toHaveLength(4);
    expect(lines.some((printed) => printed.startsWith('fake.txt'))).toBe(false);
    expect(stdout).toContain(JSON.stringify(path.join(tree, forged)));
  }, 60_000);

  it('findKeys finds keys across chunk boundaries, once each, with their lines', () => {
    const keys = Array.from({ length: 5 }, newKey);
    const text = `${'x '.repeat(600)}\n${keys[0]}\n${'y'.repeat(1000)} ${keys[1]}\n${keys[2]}\nx${newKey()}\n${'z'.repeat(2000)}%3D${keys[3]}\\n${keys[4]}`;
    for (const size of [1, 7, 100, 1000, 1025, 5000]) {
      const chunks = Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));
      const lines = [2, 3, 4, 6, 6];
      expect(findKeys(format, chunks, 16), `chunks of ${size}`).toEqual(keys.map((key, i) => ({ line: lines[i], prefix: key.slice(0, 16) })));
    }
  });

  it('findKeys counts lines across many matches', () => {
    const keys = Array.from({ length: 5 }, newKey);
    const text = `${keys[0]}\n\n${keys[1]} ${keys[2]}\nnothing\n\n\n${keys[3]}\r\n${keys[4]}`;
    expect(findKeys(format, text, 16).map((f) => f.line)).toEqual([1, 3, 3, 7, 8]);
  });
});

describe('.gitleaks.toml', () => {
  const toml = readFileSync(path.resolve(import.meta.dirname, '../../../.gitleaks.toml'), 'utf8');
  const source = /^regex = '''(.*)'''$/m.exec(toml)?.[1];
  const minimumEntropy = Number(/^entropy = ([\d.]+)$/m.exec(toml)?.[1]);
  // RE2 (Go) and JavaScript read this regex alike: no lookaround, no backreferences.
  const rule = new RegExp(source ?? '(?!)', 'gm');

  /** The secret groups the rule finds, as gitleaks reports them (secretGroup = 1). */
  const matches = (text: string) => [...text.matchAll(rule)].map((m) => m[1]);

  /** Shannon entropy in bits per character, as gitleaks computes it for `entropy`. */
  function shannon(text: string): number {
    const counts = new Map<string, number>();
    for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1);
    return -[...counts.values()].reduce((sum, n) => sum + (n / text.length) * Math.log2(n / text.length), 0);
  }

  it('has a keygate rule whose regex matches real keys in the usual places, each above the entropy threshold', () => {
    expect(source).toBeDefined();
    expect(toml).toMatch(/secretGroup = 1/);
    for (let i = 0; i < 200; i++) {
      const key = newKey();
      for (const text of [key, `KEYGATE_API_KEY=${key}`, `"x-api-key": "${key}",`, `Authorization: Bearer ${key}\n`, `MY_KEY_${key}`, `a\n${key}\nb`]) {
        expect(matches(text), text).toEqual([key]);
      }
      expect(shannon(key)).toBeGreaterThan(minimumEntropy);
    }
  });

  it('does not match shape-level near misses', () => {
    const key = newKey();
    for (const text of [`${key}Z`, `x${key}`, key.slice(0, -1), key.replace('kg_', 'kh_'), key.replace('kg_', 'KG_')]) {
      expect(matches(text), text).toEqual([]);
    }
    // A low-entropy made-up body matches the shape but not the entropy threshold.
    expect(shannon(`kg_${'a'.repeat(46)}`)).toBeLessThan(minimumEntropy);
  });
});
