/** Imports every feature's types, queries and mutations, and builds the schema. */
import { isObjectType, lexicographicSortSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.js';
import './scalars.js';
import '../modules/tenant/tenant.schema.js';
import '../modules/user/user.schema.js';
import '../modules/organization/organization.schema.js';
import '../modules/workspace/workspace.schema.js';
import '../modules/project/project.schema.js';
import '../modules/authorization-group/authorization-group.schema.js';
import '../modules/api-key/api-key.schema.js';
import '../modules/api-key/lifecycle.schema.js';
import '../modules/workflow/workflow.schema.js';
import '../modules/webhook/webhook.schema.js';
import '../modules/audit/audit.schema.js';
import '../modules/viewer/viewer.schema.js';
import '../modules/key-controls/trusted-documents.schema.js';

// Default deny at the schema edge: every root field needs a credential unless it opens
// itself with `skipTypeScopes` (signIn, viewer), and must state its own rule on top, which
// `assertEveryRootFieldHasARule` checks when the schema is built. The services decide
// for good through auth/access.ts.
builder.queryType({ authScopes: { authenticated: true } });
builder.mutationType({ authScopes: { authenticated: true } });

export const schema = describeTotalCounts(assertEveryRootFieldHasARule(builder.toSchema()));

/** The committed schema.graphql: sorted, so that diffs show real changes only. */
export const sortedSchema = lexicographicSortSchema(schema);

/**
 * plugin-prisma adds `totalCount` to a connection without a way to describe it; every
 * element of schema.graphql carries a description (a test holds it), so it is set here.
 */
function describeTotalCounts(built: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(built.getTypeMap())) {
    if (!isObjectType(type) || !type.name.endsWith('Connection')) continue;
    const field = type.getFields().totalCount;
    if (field && !field.description) field.description = 'How many rows the whole list has, across all pages.';
  }
  return built;
}

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
