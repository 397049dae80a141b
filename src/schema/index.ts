/** Imports every feature's types, queries and mutations, and builds the schema. */
import { lexicographicSortSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.js';
import './scalars.js';
import '../modules/tenant/tenant.schema.js';
import '../modules/user/user.schema.js';
import '../modules/organization/organization.schema.js';
import '../modules/workspace/workspace.schema.js';
import '../modules/project/project.schema.js';
import '../modules/authorization-group/authorization-group.schema.js';
import '../modules/api-key/api-key.schema.js';
import '../modules/workflow/workflow.schema.js';
import '../modules/audit/audit.schema.js';
import '../modules/viewer/viewer.schema.js';

// Default deny at the schema edge: every root field needs a credential unless it opens
// itself with `skipTypeScopes` (signIn, viewer), and must state its own rule on top, which
// `assertEveryRootFieldHasARule` checks when the schema is built. The services decide
// for good through auth/access.ts.
builder.queryType({ authScopes: { authenticated: true } });
builder.mutationType({ authScopes: { authenticated: true } });

export const schema = assertEveryRootFieldHasARule(builder.toSchema());

/** The committed schema.graphql: sorted, so that diffs show real changes only. */
export const sortedSchema = lexicographicSortSchema(schema);

/**
 * A root field without `authScopes` (or an explicit `skipTypeScopes` for a public one) is a
 * programming error: the server refuses to start rather than serve a field nobody decided on.
 */
export function assertEveryRootFieldHasARule(built: GraphQLSchema): GraphQLSchema {
  for (const type of [built.getQueryType(), built.getMutationType(), built.getSubscriptionType()]) {
    for (const field of Object.values(type?.getFields() ?? {})) {
      const options = (field.extensions as { pothosOptions?: { authScopes?: unknown; skipTypeScopes?: boolean } }).pothosOptions;
      if (!options?.authScopes && !options?.skipTypeScopes) {
        throw new Error(`${type!.name}.${field.name} has no authScopes: say who may call it (or skipTypeScopes for a public field)`);
      }
    }
  }
  return built;
}
