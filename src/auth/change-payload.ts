/**
 * Cache invalidations travel between instances as `{ "<field>": "<id>" }` (NOTIFY payloads,
 * see invalidation-pg.ts). A payload crossed a process boundary, so it is read strictly.
 */

/** `{ field: id }` when the payload is exactly one of `fields` with a non-empty id; else null. */
export function parseIdChange<Field extends string>(
  payload: string | undefined,
  fields: readonly Field[],
): { [F in Field]: { [K in F]: string } }[Field] | null {
  let value: unknown;
  try {
    value = JSON.parse(payload ?? '');
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const entries = Object.entries(value);
  if (entries.length !== 1) return null;
  const [field, id] = entries[0]!;
  if (typeof id !== 'string' || !id || !(fields as readonly string[]).includes(field)) return null;
  return { [field]: id } as { [F in Field]: { [K in F]: string } }[Field];
}
