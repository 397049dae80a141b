/**
 * Root fields selected below another field: a Relay payload's `query { orders }`, or
 * `... on Query { orders }` under a field whose union or interface includes Query. Each is a
 * root field with its own permission, but stitching asks it only when the delegated answer
 * comes back, after the upstream has run it. passthrough.ts refuses them before anything is
 * sent; the top-level root fields keep their field-by-field refusal by the guarded resolvers.
 */
import {
  getNamedType,
  getOperationAST,
  isAbstractType,
  isInterfaceType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';

export type NestedRootField = { typeName: 'Query' | 'Mutation'; fieldName: string; path: string[] };

/**
 * Every root field the operation selects below the top level, with the response path of its
 * first occurrence. Each fragment is walked at most once at the top level and once below it,
 * so a document spreading fragments many times over costs its own size, never their product.
 */
export function nestedRootFields(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined): NestedRootField[] {
  const operation = getOperationAST(document, operationName);
  const rootType = operation && schema.getRootType(operation.operation);
  if (!operation || !rootType) return [];
  const roots = new Map<GraphQLObjectType, 'Query' | 'Mutation'>();
  if (schema.getQueryType()) roots.set(schema.getQueryType()!, 'Query');
  if (schema.getMutationType()) roots.set(schema.getMutationType()!, 'Mutation');
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);

  const found: NestedRootField[] = [];
  const seen = new Set<string>();
  const walkedFragments = new Set<string>();

  const rootsAmong = (type: GraphQLNamedType): GraphQLObjectType[] => {
    if (isObjectType(type)) return roots.has(type) ? [type] : [];
    return isAbstractType(type) ? schema.getPossibleTypes(type).filter((possible) => roots.has(possible)) : [];
  };

  const walk = (selectionSet: SelectionSetNode, parentType: GraphQLNamedType, path: string[]) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        const responsePath = [...path, selection.alias?.value ?? name];
        if (path.length > 0) {
          for (const root of rootsAmong(parentType)) {
            const typeName = roots.get(root)!;
            if (!root.getFields()[name] || seen.has(`${typeName}.${name}`)) continue;
            seen.add(`${typeName}.${name}`);
            found.push({ typeName, fieldName: name, path: responsePath });
          }
        }
        const field = isObjectType(parentType) || isInterfaceType(parentType) ? parentType.getFields()[name] : undefined;
        if (field && selection.selectionSet) walk(selection.selectionSet, getNamedType(field.type), responsePath);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parentType;
        if (type) walk(selection.selectionSet, type, path);
      } else {
        const fragment = fragments.get(selection.name.value);
        const walkKey = `${selection.name.value}|${path.length > 0}`;
        const type = fragment && schema.getType(fragment.typeCondition.name.value);
        if (!fragment || !type || walkedFragments.has(walkKey)) continue;
        walkedFragments.add(walkKey);
        walk(fragment.selectionSet, type, path);
      }
    }
  };
  walk(operation.selectionSet, rootType, []);
  return found;
}
