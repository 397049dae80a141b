/** Reading raw key material from settings. */

/**
 * A 32-byte key written as 64 hex digits or as base64 (`openssl rand -base64 32`); null when
 * the text is neither or decodes to another length.
 */
export function decode32ByteKey(text: string): Buffer | null {
  const key = /^[0-9a-f]{64}$/i.test(text) ? Buffer.from(text, 'hex') : /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? Buffer.from(text, 'base64') : null;
  return key?.length === 32 ? key : null;
}
