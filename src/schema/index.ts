/** Imports every feature's types, queries and mutations, and builds the schema. */
import { lexicographicSortSchema } from 'graphql';
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

builder.queryType({});
builder.mutationType({});

export const schema = builder.toSchema();

/** The committed schema.graphql: sorted, so that diffs show real changes only. */
export const sortedSchema = lexicographicSortSchema(schema);
