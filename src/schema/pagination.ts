/**
 * Keyset pages for the newest-first lists (`apiKeys`, `auditEvents`, `workflowRuns`, …).
 *
 * Pothos hands Prisma a `cursor: { id }`, and Prisma resolves it by id alone, outside the
 * list's `where`: another tenant's key id used as `after` paged from that key's position
 * and so confirmed that it exists, and a deep page filtered everything before it. Here the
 * cursor must name a row the caller can see (else BAD_USER_INPUT on `after`/`before`,
 * exactly like a garbage cursor), and its (createdAt, id) becomes an index bound.
 */
import { PothosValidationError } from '@pothos/core';
import { GraphQLError, Kind } from 'graphql';
import { badInput } from '../errors.js';

type CursorRow = { id: string; createdAt: Date };
type PothosQuery = { cursor?: { id?: unknown }; skip?: number; take?: number };

/**
 * `query` with its cursor replaced by a bound on (createdAt, id) under `where`, for lists
 * ordered by `[{ createdAt: 'desc' }, { id: 'desc' }]`.
 */
export async function keysetPage<Q extends PothosQuery, W extends object>(
  query: Q,
  where: W,
  findVisible: (id: string) => Promise<CursorRow | null>,
): Promise<Omit<Q, 'cursor'> & { where: W }> {
  return keysetPageBy(query, where, findVisible, { field: 'createdAt', direction: 'desc' });
}

/**
 * The same for lists ordered by `[{ [field]: direction }, { id: direction }]`: `name` ascending
 * for organizations, workspaces and projects, which people look for by name.
 */
export async function keysetPageBy<Q extends PothosQuery, W extends object, F extends string>(
  query: Q,
  where: W,
  findVisible: (id: string) => Promise<({ id: string } & Record<F, unknown>) | null>,
  order: { field: F; direction: 'asc' | 'desc' },
): Promise<Omit<Q, 'cursor'> & { where: W }> {
  const { cursor, ...rest } = query;
  if (!cursor) return { ...rest, where };
  // A negative take is Pothos's backward page (`before`/`last`): rows before the cursor.
  const backward = (query.take ?? 0) < 0;
  // A decoded cursor is the client's text: one with a NUL (PostgreSQL cannot compare it) names no row.
  const row = typeof cursor.id === 'string' && !cursor.id.includes('\u0000') ? await findVisible(cursor.id) : null;
  if (!row) throw badInput(backward ? 'before' : 'after', 'is not a cursor of this list');
  const beyond = backward === (order.direction === 'desc') ? 'gt' : 'lt';
  const bound = {
    OR: [{ [order.field]: { [beyond]: row[order.field] } }, { [order.field]: row[order.field], id: { [beyond]: row.id } }],
  };
  return { ...rest, skip: 0, where: { AND: [where, bound] } as unknown as W };
}

/** What a cursor row is read with. */
export const CURSOR_ROW = { id: true, createdAt: true } as const;

/** What a cursor row of a list ordered by name is read with. */
export const NAME_CURSOR_ROW = { id: true, name: true } as const;

/**
 * Pothos refuses malformed connection arguments (a garbage cursor, a negative `first`) with
 * a PothosValidationError, which would be masked and logged as a server error. They are the
 * client's input errors: BAD_USER_INPUT naming the argument, never logged above debug.
 */
export function connectionArgumentError(error: GraphQLError, original: unknown): GraphQLError | null {
  if (!isConnectionArgumentError(original)) return null;
  const named = /"(first|last|before|after)"/.exec(original.message)?.[1];
  if (named) return located(error, badInput(named, original.message.replace(/^Argument "\w+" /, '')));
  // "Invalid cursor" does not say which one: the field's own arguments do.
  const field = error.nodes?.[0];
  const usesBefore = field?.kind === Kind.FIELD && field.arguments?.some((arg) => arg.name.value === 'before');
  return located(error, badInput(usesBefore ? 'before' : 'after', 'is not a cursor of this list'));
}

/** Pothos's refusal of a connection argument (not its other validation errors, which are ours). */
export function isConnectionArgumentError(value: unknown): value is PothosValidationError {
  const error = value instanceof GraphQLError ? (value.originalError ?? value) : value;
  return error instanceof PothosValidationError && /cursor|"(first|last|before|after)"/i.test(error.message);
}

/** `replacement` at the place in the response where `error` was. */
function located(error: GraphQLError, replacement: GraphQLError): GraphQLError {
  return new GraphQLError(replacement.message, { nodes: error.nodes, path: error.path, extensions: replacement.extensions });
}
