/**
 * `keygate scan <paths…>`: finds keygate API keys in files, for a pre-commit hook or a CI
 * step. A match must have the deployment's key format (KEYGATE_KEY_FORMAT, or `--format`)
 * AND a valid checksum, so look-alike strings (a test fixture with a made-up body, a key
 * with a typo) are not reported. Prints `file:line` and the key's display prefix — never
 * the secret — and exits 1 when it found any, 0 when none, 2 when a path cannot be read.
 *
 * Directories are walked recursively, without following symbolic links and skipping `.git`
 * and `node_modules`. Binary files are scanned too (a key compiled into an artifact is
 * leaked all the same): their bytes are read as Latin-1, which keeps every ASCII key intact
 * and never fails to decode.
 */
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseKey, type KeyFormat } from '../auth/credentials.js';

const SKIPPED_DIRECTORIES = new Set(['.git', 'node_modules']);
const MAX_FILE_BYTES = 100 * 1024 * 1024;
const BINARY_SNIFF_BYTES = 8000;

export type Finding = { file: string; line: number; prefix: string; binary: boolean };

export type ScanResult = { findings: Finding[]; unreadable: string[]; skipped: string[]; filesScanned: number };

/**
 * The format's pattern, unanchored, global, and bounded by non-key characters on both sides,
 * so a key inside a longer run of letters and digits (a near miss) is not cut out of it.
 */
export function keySearchPattern(format: KeyFormat): RegExp {
  const body = format.pattern.source.replace(/^\^/, '').replace(/\$$/, '');
  return new RegExp(`(?<![0-9A-Za-z])${body}(?![0-9A-Za-z])`, 'g');
}

/** Keys with a valid checksum in `text`, with their 1-based line numbers. */
export function findKeys(format: KeyFormat, text: string, prefixLength: number): { line: number; prefix: string }[] {
  const found: { line: number; prefix: string }[] = [];
  const pattern = keySearchPattern(format);
  let line = 1;
  let counted = 0;
  for (const match of text.matchAll(pattern)) {
    if (!parseKey(format, match[0])) continue;
    for (let i = text.indexOf('\n', counted); i !== -1 && i < match.index; i = text.indexOf('\n', i + 1)) line++;
    counted = match.index;
    found.push({ line, prefix: match[0].slice(0, prefixLength) });
  }
  return found;
}

export async function scanPaths(paths: readonly string[], format: KeyFormat, prefixLength: number): Promise<ScanResult> {
  const result: ScanResult = { findings: [], unreadable: [], skipped: [], filesScanned: 0 };
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
    if (stats.size > MAX_FILE_BYTES) {
      result.skipped.push(target);
      return;
    }
    let bytes: Buffer;
    try {
      bytes = await readFile(target);
    } catch {
      result.unreadable.push(target);
      return;
    }
    result.filesScanned++;
    const binary = bytes.subarray(0, BINARY_SNIFF_BYTES).includes(0);
    for (const { line, prefix } of findKeys(format, bytes.toString('latin1'), prefixLength)) {
      result.findings.push({ file: target, line, prefix, binary });
    }
  }
}

/** Runs the command; returns the exit code. */
export async function runScan(paths: readonly string[], format: KeyFormat, prefixLength: number, out = process.stdout, err = process.stderr): Promise<number> {
  const { findings, unreadable, skipped, filesScanned } = await scanPaths(paths, format, prefixLength);
  for (const f of findings) out.write(`${f.file}:${f.line}: keygate API key ${f.prefix}…${f.binary ? ' (binary file)' : ''}\n`);
  for (const file of skipped) err.write(`keygate scan: skipped ${file} (larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB)\n`);
  for (const file of unreadable) err.write(`keygate scan: cannot read ${file}\n`);
  const files = new Set(findings.map((f) => f.file)).size;
  err.write(
    findings.length
      ? `keygate scan: ${findings.length} key(s) found in ${files} file(s) of ${filesScanned} scanned; revoke or rotate them (reportLeakedApiKey) and remove them from the files\n`
      : `keygate scan: no keys found in ${filesScanned} file(s)\n`,
  );
  if (findings.length) return 1;
  return unreadable.length ? 2 : 0;
}
