/**
 * The Pothos SchemaBuilder and its plugins. It defines no types: each feature module
 * adds its own (src/modules/<feature>/<feature>.schema.ts), and schema/index.ts imports them.
 */
import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin, { AuthScopeFailureType, type AuthFailure } from '@pothos/plugin-scope-auth';
import { assertCan, isPlatformAdminSession, mayDo, type Action } from '../auth/access.js';
import { hasPermission, type Principal } from '../auth/principal.js';
import type { Permission } from '../auth/permissions.js';
import type { Context } from '../context.js';
import { db } from '../db.js';
import { forbidden, unauthenticated } from '../errors.js';
import type PrismaTypes from '../generated/pothos-prisma-types.js';
import { getDatamodel } from '../generated/pothos-prisma-types.js';

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  AuthScopes: {
    /** A session or an API key, not anonymous. */
    authenticated: boolean;
    /** A signed-in user's session: key management is never done with a key. */
    session: boolean;
    /** A platform administrator's session (not an ADMIN key): tenant administration. */
    platformAdmin: boolean;
    permission: Permission;
    /** What access.ts's rule for this action allows without a target (kind, role, permissions). */
    can: Action;
  };
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
  };
  DefaultFieldNullability: false;
}>({
  // scope-auth first, so no other plugin runs work for a caller it will refuse.
  plugins: [ScopeAuthPlugin, PrismaPlugin, RelayPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authScopes: (context) => scopesOf(context.auth),
    unauthorizedError: (_parent, context, _info, result) =>
      context.auth.kind === 'ANONYMOUS' ? unauthenticated('MISSING') : forbidden(describeFailure(result.failure, context.auth)),
  },
  prisma: {
    client: db,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    onUnusedQuery: process.env.NODE_ENV === 'production' ? null : 'warn',
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    // Plain database ids are the API's ids; there is no global node(id:) entry point
    // that could bypass the tenant-scoped lookups of the feature services.
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    // Descriptions of what the relay plugin generates, so schema.graphql documents it all.
    pageInfoTypeOptions: { description: 'Where a page stands in its list.' },
    hasNextPageFieldOptions: { description: 'Whether rows follow this page (ask with `after: endCursor`).' },
    hasPreviousPageFieldOptions: { description: 'Whether rows precede this page (ask with `before: startCursor`).' },
    startCursorFieldOptions: { description: 'The cursor of the first row of the page.' },
    endCursorFieldOptions: { description: 'The cursor of the last row of the page.' },
    pageInfoFieldOptions: { description: 'Where this page stands in the list.' },
    edgesFieldOptions: { description: 'The rows of this page.' },
    nodeFieldOptions: { description: 'The row.' },
    cursorFieldOptions: { description: 'Give it as `after` (or `before`) to page on from this row.' },
    firstArgOptions: { description: 'At most this many rows after `after` (default 20, at most 100).' },
    lastArgOptions: { description: 'At most this many rows before `before` (at most 100).' },
    afterArgOptions: { description: 'A cursor from a previous page: rows after it.' },
    beforeArgOptions: { description: 'A cursor from a previous page: rows before it.' },
  },
});

/**
 * The scopes a principal has, for the schema edge and for the per-key schema view
 * (modules/key-controls/schema-view.ts), which evaluates root fields' `authScopes` with them.
 */
export function scopesOf(principal: Principal) {
  return {
    authenticated: principal.kind !== 'ANONYMOUS',
    session: principal.kind === 'SESSION',
    platformAdmin: isPlatformAdminSession(principal),
    permission: (permission: Permission) => hasPermission(principal, permission),
    can: (action: Action) => mayDo(principal, action),
  };
}

/** Turns scope-auth's failure tree into a message that says what was missing. */
function describeFailure(failure: AuthFailure, principal: Principal): string {
  switch (failure.kind) {
    case AuthScopeFailureType.AuthScope:
      if (failure.scope === 'can') return refusalMessage(principal, failure.parameter as Action);
      if (failure.scope === 'session') return 'This operation needs a signed-in session; an API key cannot do it.';
      if (failure.scope === 'permission') return `Missing permission ${String(failure.parameter)}.`;
      if (failure.scope === 'platformAdmin') return 'Only platform administrators may do this.';
      return 'You are not allowed to do this.';
    case AuthScopeFailureType.AllAuthScopes:
    case AuthScopeFailureType.AnyAuthScopes:
      return failure.failures[0] ? describeFailure(failure.failures[0], principal) : 'You are not allowed to do this.';
    default:
      return 'You are not allowed to do this.';
  }
}

/** access.ts's own words for why `action` is refused. */
function refusalMessage(principal: Principal, action: Action): string {
  try {
    assertCan(principal, action);
  } catch (error) {
    if (error instanceof Error) return error.message;
  }
  return 'You are not allowed to do this.';
}
