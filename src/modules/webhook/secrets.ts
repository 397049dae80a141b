/**
 * Signing secrets: `whsec_` + base64 of 32 random bytes (Standard Webhooks). The sender
 * needs the secret itself to compute an HMAC, so it cannot be stored as a digest like an API
 * key; it is stored AES-256-GCM encrypted under a key that is not in the database:
 *
 * - KEYGATE_WEBHOOK_SECRET_KEY (32 bytes, base64 or hex), required in production on
 *   PostgreSQL: every instance must hold the same key;
 * - otherwise a key generated once into `webhook-secret.key` next to the SQLite database
 *   (or ./data/ for PostgreSQL outside production), created with mode 0600.
 *
 * A copy of the database (a backup, a dump, a replica, a SQL injection) thus never yields a
 * usable secret. Format of the column: `v1.<iv>.<tag>.<ciphertext>`, each base64.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { getConfig, type Config } from '../../config.js';
import { isSqliteUrl } from '../../db.js';
import { sqlitePath } from '../../db/sqlite.js';
import { decode32ByteKey } from '../../lib/key-material.js';

export const SECRET_PREFIX = 'whsec_';

export function generateSigningSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

export function encryptSecret(secret: string, key = encryptionKey()): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64'), cipher.getAuthTag().toString('base64'), ciphertext.toString('base64')].join('.');
}

export function decryptSecret(stored: string, key = encryptionKey()): string {
  const [version, iv, tag, ciphertext] = stored.split('.');
  if (version !== 'v1' || !iv || !tag || !ciphertext) throw new Error('unknown signing secret format');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
  decipher.setAuthTag(Buffer.from(tag, 'base64'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64')), decipher.final()]).toString('utf8');
}

/**
 * The secret, or null when `key` cannot decrypt it (another key sealed it, or it is not in this
 * format). A key that cannot be had at all (encryptionKey throws) is the caller's error, not null.
 */
export function decryptSecretOrNull(stored: string, key: Buffer): string | null {
  try {
    return decryptSecret(stored, key);
  } catch {
    return null;
  }
}

/** Where this server's webhook key comes from, for messages: the variable, or the key file's path. */
export function encryptionKeySource(config: Config = getConfig()): string {
  return config.webhooks.secretKey ? 'KEYGATE_WEBHOOK_SECRET_KEY' : keyFilePath(config.databaseUrl);
}

/**
 * Why a stored secret cannot be used, in words an operator can act on: it was encrypted under
 * another key (a database restored without its key, a changed KEYGATE_WEBHOOK_SECRET_KEY).
 */
export function undecryptableSecretMessage(config: Config = getConfig()): string {
  return `the endpoint's signing secret cannot be decrypted with this server's webhook key (${encryptionKeySource(config)}): restore the key it was stored with, or rotate the endpoint's secret`;
}

let cachedKey: Buffer | undefined;

/** The encryption key: configured, or generated once into the data directory (see above). */
export function encryptionKey(config: Config = getConfig()): Buffer {
  if (cachedKey) return cachedKey;
  const configured = config.webhooks.secretKey;
  if (configured) return (cachedKey = parseKey(configured));
  if (config.production && !isSqliteUrl(config.databaseUrl)) {
    throw new Error('KEYGATE_WEBHOOK_SECRET_KEY must be set (32 bytes, base64) to use webhooks on PostgreSQL in production');
  }
  return (cachedKey = keyFile(keyFilePath(config.databaseUrl)));
}

function parseKey(text: string): Buffer {
  const key = decode32ByteKey(text);
  if (!key) throw new Error('KEYGATE_WEBHOOK_SECRET_KEY must be 32 bytes, base64 or hex encoded');
  return key;
}

function keyFilePath(databaseUrl: string): string {
  const directory = isSqliteUrl(databaseUrl) ? path.dirname(sqlitePath(databaseUrl)) : path.resolve('data');
  return path.join(directory, 'webhook-secret.key');
}

function keyFile(file: string): Buffer {
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    try {
      // 'wx': two processes starting together never overwrite each other's key.
      writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    chmodSync(file, 0o600);
  }
  return parseKey(readFileSync(file, 'utf8').trim());
}
