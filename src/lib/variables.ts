/** An operation's variables as graphql-js's execute coerces them, ahead of execute. */
import { getOperationAST, getVariableValues, type DocumentNode, type GraphQLError, type GraphQLSchema } from 'graphql';

/**
 * The operation's variables as graphql-js's execute would coerce them: only the declared
 * ones, with their defaults, each of its type; or the errors execute would answer for them
 * (keygate's error handling then answers them as BAD_USER_INPUT without their values).
 *
 * For gateway/passthrough.ts, what the upstream gets is what stitching would have sent for
 * the same operation. These are internal values: sent as JSON, they equal what was sent
 * because an upstream's scalars and enums (from its SDL or introspection) parse to
 * themselves, and start-up refuses an upstream type named like one of keygate's (whose
 * DateTime, say, parses to a Date).
 */
export function coercedVariables(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  inputs: Record<string, unknown> | null | undefined,
): { coerced: Record<string, unknown> } | { errors: readonly GraphQLError[] } {
  const operation = getOperationAST(document, operationName);
  if (!operation?.variableDefinitions?.length) return { coerced: {} };
  return getVariableValues(schema, operation.variableDefinitions, inputs ?? {}, { maxErrors: 50 });
}
