/**
 * Password hashing with argon2id (@node-rs/argon2, OWASP's recommended parameters by
 * default). Never a home-made hash.
 */
import { hash, verify } from '@node-rs/argon2';

export const hashPassword = (password: string) => hash(password);

// Verified against when the email is unknown, so that an unknown email costs the same
// time as a wrong password and the two cannot be told apart.
const DECOY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$E+ClrjRtbxWSeoicSYSbOA$KxRfVYxz7R4GrkrLp9K8yOa1yQsn+Zx9Uz0UV7M6XN8';

export async function verifyPassword(passwordHash: string | null, password: string): Promise<boolean> {
  const matches = await verify(passwordHash ?? DECOY_HASH, password).catch(() => false);
  return passwordHash !== null && matches;
}
