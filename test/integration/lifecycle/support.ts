/** Helpers of the lifecycle tests. */
import { app } from '../../helpers/app.js';

export { expectSecretStoredNowhere } from '../api-keys/documents.js';

/** The same key with one random character changed: the right shape, a wrong checksum. */
export function withOneCharacterChangedFor(secret: string): string {
  const [first] = app.config.keyFormat.segments;
  const at = first?.kind === 'literal' ? first.text.length : 0;
  return secret.slice(0, at) + (secret[at] === '0' ? '1' : '0') + secret.slice(at + 1);
}
