/**
 * The keys that sign principal tokens (X-Keygate-Principal) and the JWKS that lists their
 * public halves for upstream services.
 *
 * Two sources:
 * - KEYGATE_SIGNING_KEY: an Ed25519 private key (PKCS#8 PEM) the operator manages. Nothing is
 *   stored; rotating means deploying a new key.
 * - otherwise the database (table SigningKey), shared by every instance: the first instance
 *   that needs a key generates one; `keygate rotate-signing-key` retires it for a new one,
 *   and the retired key stays in the JWKS until every token it signed has expired.
 *
 * A private key in the database is a secret, and secrets are never stored in clear text: it
 * is encrypted with AES-256-GCM under a key derived (HKDF) from KEYGATE_SIGNING_KEY_SECRET,
 * bound to its kid. Production refuses to use the database key without that secret; outside
 * production a fixed development secret is used, with a warning.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import type { JWK } from 'jose';
import type { Config } from '../config.js';
import type { Db } from '../db.js';
import type { Logger } from '../lib/logger.js';
import { StartupError } from '../lib/startup-error.js';

/** Production cannot keep a generated signing key without a secret to encrypt it (see encryptionKey). */
export const SIGNING_KEY_REQUIRED = 'principal tokens need KEYGATE_SIGNING_KEY, or KEYGATE_SIGNING_KEY_SECRET to encrypt the key kept in the database';

export type SigningKey = { kid: string; privateKey: KeyObject; publicJwk: JWK };

/** How long an instance signs with the key it loaded before asking the database again. */
export const SIGNING_KEY_REFRESH_MS = 30_000;
/**
 * How much longer than that a loaded key still signs while its refresh is under way. Past it,
 * signing waits for the refresh: the key may have been rotated away since it was loaded, and
 * a retired key is listed (retiredListingMs) only for the tokens signed within this window.
 */
const STALE_SIGNING_GRACE_MS = 60_000;
/** After a failed refresh, how long requests sign with the loaded key before the database is asked again. */
const REFRESH_RETRY_MS = 5_000;
const DEVELOPMENT_SECRET = 'keygate-development-only-signing-key-secret-not-for-production';

export type SigningKeysOptions = {
  db: Db;
  gateway: Config['gateway'];
  production: boolean;
  logger: Logger;
};

export class SigningKeys {
  private active: { key: SigningKey; loadedAt: number } | null = null;
  private loading: Promise<SigningKey> | null = null;
  /** When a refresh last failed (0: never): the loaded key keeps signing for REFRESH_RETRY_MS. */
  private refreshFailedAt = 0;
  private readonly fromEnvironment: SigningKey | null;

  constructor(private readonly options: SigningKeysOptions) {
    this.fromEnvironment = options.gateway.signingKeyPem ? keyFromPem(options.gateway.signingKeyPem) : null;
  }

  /** How long after a rotation every running instance signs with the new key: no loaded key signs longer. */
  get switchWithinMs(): number {
    return SIGNING_KEY_REFRESH_MS + STALE_SIGNING_GRACE_MS;
  }

  /** How long a retired key stays listed: its last tokens, and instances still signing with it. */
  get retiredListingMs(): number {
    return this.options.gateway.tokenTtlSeconds * 1000 + this.switchWithinMs;
  }

  /**
   * The key that signs now. Waits for the database for the first load, and when the loaded
   * key is too old to sign with unchecked (an instance idle since before a rotation).
   */
  async current(): Promise<SigningKey> {
    return this.loaded() ?? this.load();
  }

  /**
   * The key that signs now, without waiting, once one is loaded (null before). A key older
   * than SIGNING_KEY_REFRESH_MS is still returned while its refresh runs in the background,
   * so requests never queue behind the database for it; one older by STALE_SIGNING_GRACE_MS
   * more is not (null: current() waits for the refresh), unless the database just failed to
   * answer: then the loaded key keeps signing, and the database is asked again shortly.
   */
  loaded(): SigningKey | null {
    if (this.fromEnvironment) return this.fromEnvironment;
    if (!this.active) return null;
    const now = Date.now();
    const age = now - this.active.loadedAt;
    const refreshJustFailed = now - this.refreshFailedAt < REFRESH_RETRY_MS;
    if (age >= SIGNING_KEY_REFRESH_MS && !this.loading && !refreshJustFailed) void this.load();
    return age < this.switchWithinMs || refreshJustFailed ? this.active.key : null;
  }

  /**
   * Reads (or first creates) the signing key, once for every caller waiting. A refresh that
   * fails keeps the key already loaded (said once in the log); a first load that fails fails.
   */
  private load(): Promise<SigningKey> {
    const loaded = this.active?.key;
    this.loading ??= this.loadOrCreate()
      .catch((error: unknown) => {
        if (!loaded) throw error;
        this.refreshFailedAt = Date.now();
        this.options.logger.warn('could not refresh the signing key; still signing with the loaded one', { error: (error as Error).message });
        return loaded;
      })
      .finally(() => (this.loading = null));
    return this.loading;
  }

  /** The public keys upstreams accept: the signing one and those retired too recently to drop. */
  async jwks(): Promise<{ keys: JWK[] }> {
    if (this.fromEnvironment) return { keys: [this.fromEnvironment.publicJwk] };
    await this.current();
    const rows = await this.options.db.signingKey.findMany({
      where: { OR: [{ retiredAt: null }, { retiredAt: { gt: new Date(Date.now() - this.retiredListingMs) } }] },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      select: { publicJwk: true },
    });
    return { keys: rows.map((row) => JSON.parse(row.publicJwk) as JWK) };
  }

  /** Retires every current key for a new one (keygate rotate-signing-key). Returns the new kid. */
  async rotate(): Promise<{ kid: string; retired: number }> {
    if (this.fromEnvironment) throw new StartupError('KEYGATE_SIGNING_KEY is set: rotate by deploying a new key there; the database key is not used');
    const generated = this.generate();
    const retired = await this.options.db.$transaction(async (tx) => {
      const { count } = await tx.signingKey.updateMany({ where: { retiredAt: null }, data: { retiredAt: new Date() } });
      await tx.signingKey.create({ data: this.row(generated) });
      return count;
    });
    this.active = { key: generated, loadedAt: Date.now() };
    return { kid: generated.kid, retired };
  }

  private async loadOrCreate(): Promise<SigningKey> {
    let row = await this.newestUnretired();
    if (!row) {
      // Two instances starting together may both insert one: the newest wins everywhere,
      // and the other is listed in the JWKS anyway.
      await this.options.db.signingKey.create({ data: this.row(this.generate()) });
      this.options.logger.info('generated the signing key for principal tokens');
      row = await this.newestUnretired();
    }
    const key = this.decrypt(row!);
    this.active = { key, loadedAt: Date.now() };
    return key;
  }

  private newestUnretired() {
    return this.options.db.signingKey.findFirst({ where: { retiredAt: null }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
  }

  private generate(): SigningKey {
    this.encryptionKey(); // fail before generating when production has no secret
    return describe(generateKeyPairSync('ed25519').privateKey);
  }

  private row(key: SigningKey) {
    const pkcs8 = key.privateKey.export({ format: 'der', type: 'pkcs8' });
    return { id: key.kid, publicJwk: JSON.stringify(key.publicJwk), encryptedPrivateKey: this.encrypt(pkcs8, key.kid) };
  }

  private encryptionKey(): Buffer {
    let secret = this.options.gateway.signingKeySecret;
    if (!secret) {
      if (this.options.production) {
        throw new StartupError(SIGNING_KEY_REQUIRED);
      }
      secret = DEVELOPMENT_SECRET;
    }
    return Buffer.from(hkdfSync('sha256', secret, 'keygate', 'signing-key-encryption/v1', 32));
  }

  private encrypt(plain: Buffer, kid: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.encryptionKey(), iv).setAAD(Buffer.from(kid));
    const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
    return [iv, sealed, cipher.getAuthTag()].map((part) => part.toString('base64url')).join('.');
  }

  private decrypt(row: { id: string; publicJwk: string; encryptedPrivateKey: string }): SigningKey {
    const [iv, sealed, tag] = row.encryptedPrivateKey.split('.').map((part) => Buffer.from(part, 'base64url'));
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.encryptionKey(), iv!).setAAD(Buffer.from(row.id)).setAuthTag(tag!);
      const der = Buffer.concat([decipher.update(sealed!), decipher.final()]);
      return { kid: row.id, privateKey: createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }), publicJwk: JSON.parse(row.publicJwk) as JWK };
    } catch (error) {
      if (error instanceof StartupError) throw error;
      throw new StartupError('the signing key in the database cannot be decrypted: KEYGATE_SIGNING_KEY_SECRET differs from the one it was stored with');
    }
  }
}

function keyFromPem(pem: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw new StartupError('invalid setting KEYGATE_SIGNING_KEY: not a PKCS#8 PEM private key');
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new StartupError('invalid setting KEYGATE_SIGNING_KEY: must be an Ed25519 key (openssl genpkey -algorithm ed25519)');
  return describe(privateKey);
}

/** The key with its public JWK; the kid is the RFC 7638 thumbprint, the same on every instance. */
function describe(privateKey: KeyObject): SigningKey {
  const { kty, crv, x } = createPublicKey(privateKey).export({ format: 'jwk' }) as { kty: string; crv: string; x: string };
  // RFC 7638 thumbprint of an OKP key: SHA-256 of {"crv","kty","x"} in that order.
  const kid = createHashBase64url(JSON.stringify({ crv, kty, x }));
  return { kid, privateKey, publicJwk: { kty, crv, x, kid, alg: 'EdDSA', use: 'sig' } };
}

function createHashBase64url(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}
