/**
 * Input validation that names the field. Everything is checked before anything is written,
 * so a bad input never leaves a half-done change behind.
 */
import { createHash } from 'node:crypto';
import { badInput } from '../errors.js';

/** Trims and checks a required name-like text: one that shows, so a list can tell it apart. */
export function requireText(field: string, value: string, { min = 1, max = 200 } = {}): string {
  const text = value.trim();
  const length = characterCount(text);
  if (length < min) throw badInput(field, min <= 1 ? 'is required' : `must be at least ${min} characters`);
  if (length > max) throw badInput(field, `must be at most ${max} characters`);
  assertPlainText(field, text, CONTROL_CHARACTER);
  if (!VISIBLE_CHARACTER.test(text)) throw badInput(field, 'must contain a visible character');
  return text;
}

export function optionalText(field: string, value: string | null | undefined, max: number): string | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (characterCount(text) > max) throw badInput(field, `must be at most ${max} characters`);
  assertPlainText(field, text, CONTROL_CHARACTER_EXCEPT_LINE_BREAKS);
  return text;
}

/**
 * Characters as people and databases count them (PostgreSQL's char_length): code points, not
 * JavaScript's UTF-16 units, in which an emoji counts two.
 */
export function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** The longest a replaced secret (an API key's, a webhook endpoint's) may keep working. */
export const MAX_GRACE_PERIOD_MINUTES = 1440;

/** A rotation's `gracePeriodMinutes`: null for none (the old secret stops at once), else 1–1440. */
export function optionalGracePeriod(minutes: number | null | undefined): number | null {
  if (minutes == null) return null;
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_GRACE_PERIOD_MINUTES) {
    throw badInput('gracePeriodMinutes', `must be a whole number of minutes from 1 to ${MAX_GRACE_PERIOD_MINUTES}`);
  }
  return minutes;
}

const CONTROL_CHARACTER = /\p{Cc}/u;
// Anything but spaces, invisible format or default-ignorable characters (zero-width space,
// joiners, BOM, variation selectors, the Hangul filler…) and combining marks on their own.
const VISIBLE_CHARACTER = /[^\p{White_Space}\p{Cf}\p{Default_Ignorable_Code_Point}\p{M}]/u;
const CONTROL_CHARACTER_EXCEPT_LINE_BREAKS = /(?![\t\n\r])\p{Cc}/u;
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Text every database stores as given: PostgreSQL refuses NUL in text (a 500 otherwise),
 * SQLite cuts the text at it, and a lone surrogate half is not Unicode at all (it would be
 * stored as U+FFFD). Other control characters have no place in a name and forge log lines
 * or terminal output where names are shown.
 */
function assertPlainText(field: string, text: string, control: RegExp) {
  if (control.test(text)) throw badInput(field, 'must not contain control characters');
  if (LONE_SURROGATE.test(text)) throw badInput(field, 'must be valid Unicode (it contains half of a surrogate pair)');
}

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

/** A URL-safe slug; derived from `name` when the client gives none. */
export function slugFor(field: string, slug: string | null | undefined, name: string): string {
  const candidate = (slug ?? slugify(name)).trim();
  if (!SLUG.test(candidate)) {
    throw badInput(field, 'must be 1–64 lowercase letters, digits or dashes, not starting or ending with a dash');
  }
  return candidate;
}

/** The validated changes of a rename (organizations, workspaces, projects): only what was given. */
export function renameChanges(input: { name?: string | null; slug?: string | null }): { name?: string; slug?: string } {
  return {
    ...(input.name != null ? { name: requireText('name', input.name, { min: 2, max: 200 }) } : {}),
    ...(input.slug != null ? { slug: slugFor('slug', input.slug, '') } : {}),
  };
}

/**
 * The slug a name gets when the client gives none: its Latin letters and digits, dashed. A
 * name with none (東京, Москва, "!!!") gets one derived from the whole name instead, so two
 * such names never share a slug nobody typed.
 */
export function slugify(text: string): string {
  const slug = text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '') // the accents NFKD took apart: "Café" → "cafe", not "cafe-"
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
    .replace(/-+$/, '');
  return slug || `n-${createHash('sha256').update(text.normalize('NFC')).digest('hex').slice(0, 12)}`;
}

/**
 * An email as keygate stores and compares it: trimmed, lower-cased, and in NFC, so that one
 * address is one however its accents are encoded (é as one code point or e + ◌́).
 */
export function canonicalEmail(value: string): string {
  return value.trim().normalize('NFC').toLowerCase();
}

export function requireEmail(field: string, value: string): string {
  const email = canonicalEmail(value);
  // Deliberately loose: the mailbox is proven by use, not by a regex.
  if (email.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) throw badInput(field, 'must be an email address');
  assertPlainText(field, email, CONTROL_CHARACTER);
  return email;
}

/** Prisma's unique-constraint violation (P2002). */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === 'P2002';
}

/**
 * Runs a write whose uniqueness the database decides (slugs, names, emails): checking first
 * would race with a concurrent write, so the violation itself becomes the field error.
 */
export async function writeUnique<T>(field: string, message: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isUniqueViolation(error)) throw badInput(field, message);
    throw error;
  }
}
