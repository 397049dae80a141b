/**
 * `keygate scan <paths…>`: finds keygate API keys in files, for a pre-commit hook or a CI
 * step. A match must have the deployment's key format (KEYGATE_KEY_FORMAT, or `--format`)
 * AND a valid checksum, so look-alike strings (a test fixture with a made-up body, a key
 * with a typo) are not reported. Prints `file:line` and the key's display prefix — never
 * the secret — and exits 1 when it found any, 0 when none, 2 when a path cannot be read (or,
 * cli/run.ts, when the scan cannot run at all: a bad option, format or setting).
 *
 * Directories are walked recursively, without following symbolic links and skipping `.git`
 * and `node_modules`. Binary files are scanned too (a key compiled into an artifact is
 * leaked all the same): their bytes are read as Latin-1, which keeps every ASCII key intact
 * and never fails to decode.
 */
import { createReadStream } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseKey, type KeyFormat } from '../auth/credentials.js';

const SKIPPED_DIRECTORIES = new Set(['.git', 'node_modules']);
const CHUNK_BYTES = 4 * 1024 * 1024;
/** Longer than any key a format can describe: what one chunk hands the next, so no key is cut in two. */
const OVERLAP = 1024;
const BINARY_SNIFF_BYTES = 8000;

export type Finding = { file: string; line: number; prefix: string; binary: boolean };

export type ScanResult = { findings: Finding[]; unreadable: string[]; filesScanned: number };

/**
 * The format's pattern, unanchored, global, and bounded by non-key characters on both sides,
 * so a key inside a longer run of letters and digits (a near miss) is not cut out of it. A
 * letter before it still bounds it when it ends an escape: `\n` in JSON or YAML text, `%3D`
 * in a URL-encoded one.
 */
export function keySearchPattern(format: KeyFormat): RegExp {
  const body = format.pattern.source.replace(/^\^/, '').replace(/\$$/, '');
  return new RegExp(`(?:(?<![0-9A-Za-z])|(?<=\\\\[A-Za-z])|(?<=%[0-9A-Fa-f]{2}))${body}(?![0-9A-Za-z])`, 'g');
}

/** Keys with a valid checksum in `text`, with their 1-based line numbers; the text may come in chunks. */
export function findKeys(format: KeyFormat, text: string | string[], prefixLength: number): { line: number; prefix: string }[] {
  const finder = new KeyFinder(format, prefixLength);
  const chunks = typeof text === 'string' ? [text] : text;
  return [...chunks.flatMap((chunk) => finder.feed(chunk, false)), ...finder.feed('', true)];
}

/**
 * Finds keys in text that arrives in chunks (a file of any size, in constant memory). Each
 * chunk is searched together with the end of the one before it; a match starting in that
 * last stretch waits for the next chunk, which sees it whole.
 */
class KeyFinder {
  private readonly pattern: RegExp;
  private carried = '';
  /** The line the carried text starts on. */
  private line = 1;
  /** Where the carried text's unsearched part begins (before it: context for the look-behind). */
  private skipBefore = 0;

  constructor(
    private readonly format: KeyFormat,
    private readonly prefixLength: number,
  ) {
    this.pattern = keySearchPattern(format);
  }

  feed(chunk: string, last: boolean): { line: number; prefix: string }[] {
    const text = this.carried + chunk;
    const cut = last ? text.length : Math.max(0, text.length - OVERLAP);
    const found: { line: number; prefix: string }[] = [];
    let line = this.line;
    let counted = 0;
    for (const match of text.matchAll(this.pattern)) {
      if (match.index >= cut) break;
      if (match.index < this.skipBefore || !parseKey(this.format, match[0])) continue;
      line += newlinesIn(text, counted, match.index);
      counted = match.index;
      found.push({ line, prefix: match[0].slice(0, this.prefixLength) });
    }
    // Carry the unsearched stretch, and the characters before it that the look-behind reads (`%3D`).
    const keepFrom = Math.max(0, cut - LOOK_BEHIND);
    this.line += newlinesIn(text, 0, keepFrom);
    this.carried = text.slice(keepFrom);
    this.skipBefore = cut - keepFrom;
    return found;
  }
}

/** The most characters keySearchPattern's look-behind reads before a key. */
const LOOK_BEHIND = 3;

function newlinesIn(text: string, from: number, to: number): number {
  let count = 0;
  for (let i = text.indexOf('\n', from); i !== -1 && i < to; i = text.indexOf('\n', i + 1)) count++;
  return count;
}

export async function scanPaths(paths: readonly string[], format: KeyFormat, prefixLength: number): Promise<ScanResult> {
  const result: ScanResult = { findings: [], unreadable: [], filesScanned: 0 };
  for (const root of paths) await visit(root, true);
  return result;

  async function visit(target: string, named: boolean): Promise<void> {
    let stats;
    try {
      // A link found while walking is not followed (no loops, nothing outside the tree); a
      // link the caller named is, to a directory as to a file.
      stats = named ? await stat(target) : await lstat(target);
    } catch {
      result.unreadable.push(target);
      return;
    }
    if (stats.isSymbolicLink()) return;
    if (stats.isDirectory()) {
      if (!named && SKIPPED_DIRECTORIES.has(path.basename(target))) return;
      let entries: string[];
      try {
        entries = (await readdir(target)).sort();
      } catch {
        result.unreadable.push(target);
        return;
      }
      for (const entry of entries) await visit(path.join(target, entry), false);
      return;
    }
    if (!stats.isFile()) return;
    try {
      const findings = await scanFile(target, format, prefixLength);
      result.filesScanned++;
      result.findings.push(...findings);
    } catch {
      result.unreadable.push(target);
    }
  }
}

/** One file, read in chunks: any size, constant memory. */
async function scanFile(file: string, format: KeyFormat, prefixLength: number): Promise<Finding[]> {
  const finder = new KeyFinder(format, prefixLength);
  const found: { line: number; prefix: string }[] = [];
  let binary: boolean | null = null;
  for await (const bytes of createReadStream(file, { highWaterMark: CHUNK_BYTES }) as AsyncIterable<Buffer>) {
    binary ??= bytes.subarray(0, BINARY_SNIFF_BYTES).includes(0);
    found.push(...finder.feed(bytes.toString('latin1'), false));
  }
  found.push(...finder.feed('', true));
  return found.map(({ line, prefix }) => ({ file, line, prefix, binary: binary ?? false }));
}

/** Runs the command; returns the exit code. */
export async function runScan(paths: readonly string[], format: KeyFormat, prefixLength: number, out = process.stdout, err = process.stderr): Promise<number> {
  const { findings, unreadable, filesScanned } = await scanPaths(paths, format, prefixLength);
  for (const f of findings) out.write(`${shown(f.file)}:${f.line}: keygate API key ${f.prefix}…${f.binary ? ' (binary file)' : ''}\n`);
  for (const file of unreadable) err.write(`keygate scan: cannot read ${shown(file)}\n`);
  const files = new Set(findings.map((f) => f.file)).size;
  err.write(
    findings.length
      ? `keygate scan: ${findings.length} key(s) found in ${files} file(s) of ${filesScanned} scanned; revoke or rotate them (reportLeakedApiKey) and remove them from the files\n`
      : `keygate scan: no keys found in ${filesScanned} file(s)\n`,
  );
  if (findings.length) return 1;
  return unreadable.length ? 2 : 0;
}

/** A path as printed: one with a line break or another control character is quoted (JSON), so it cannot forge a line of output. */
function shown(file: string): string {
  return /\p{Cc}/u.test(file) ? JSON.stringify(file) : file;
}
