/**
 * KEYGATE_LEAK_REPORT_PUBLIC_KEYS: the public keys whose signatures POST /leaks/report
 * accepts. The value is GitHub's own key document, as served by
 * https://api.github.com/meta/public_keys/secret_scanning:
 *
 *   {"public_keys":[{"key_identifier":"90a4…","key":"-----BEGIN PUBLIC KEY-----\n…","is_current":true}]}
 *
 * or a bare array of `{ key_identifier, key }`, given inline (a value starting with `{` or `[`)
 * or as the path of a file holding it. keygate never fetches keys itself: which reporter is
 * trusted is the operator's decision, and a gateway must not depend on reaching GitHub.
 * Every key must be an ECDSA public key in PEM (GitHub signs with ECDSA P-256 / SHA-256).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

export type LeakReportPublicKey = { identifier: string; key: KeyObject };

export function parseLeakReportPublicKeys(value: string | undefined): LeakReportPublicKey[] {
  if (!value) return [];
  const trimmed = value.trim();
  let text = trimmed;
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) {
    try {
      text = readFileSync(trimmed, 'utf8');
    } catch (error) {
      throw new Error(`cannot read the key file ${trimmed}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new Error('must be JSON: {"public_keys":[{"key_identifier":"…","key":"-----BEGIN PUBLIC KEY-----…"}]}, or the path of a file holding it');
  }
  const entries = Array.isArray(document) ? document : (document as { public_keys?: unknown })?.public_keys;
  if (!Array.isArray(entries) || entries.length === 0) throw new Error('lists no public keys (expected "public_keys": [...])');
  return entries.map((entry, i) => {
    const { key_identifier: identifier, key } = (entry ?? {}) as { key_identifier?: unknown; key?: unknown };
    if (typeof identifier !== 'string' || !identifier) throw new Error(`public key ${i + 1} has no key_identifier`);
    if (typeof key !== 'string') throw new Error(`public key ${identifier} has no PEM "key"`);
    let parsed: KeyObject;
    try {
      parsed = createPublicKey(key);
    } catch {
      throw new Error(`public key ${identifier} is not a PEM public key`);
    }
    if (parsed.asymmetricKeyType !== 'ec') throw new Error(`public key ${identifier} is not an ECDSA key`);
    return { identifier, key: parsed };
  });
}
