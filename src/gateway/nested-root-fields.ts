/**
 * Root fields selected below another field: a Relay payload's `query { orders }`, or
 * `... on Query { orders }` under a field whose union or interface includes Query. Each is a
 * root field with its own permission, but stitching asks it only when the delegated answer
 * comes back, after the upstream has run it. passthrough.ts refuses them before anything is
 * sent; the top-level root fields keep their field-by-field refusal by the guarded resolvers.
 *
 * `@skip` and `@include` are not evaluated: a root field written below the top level needs its
 * permission even when a variable would skip it.
 */
import {
  getNamedType,
  getOperationAST,
  isAbstractType,
  isInterfaceType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';

export type NestedRootField = { typeName: 'Query' | 'Mutation'; fieldName: string; path: string[] };

/** Where the walk is: the type whose fields are selected, the object types the value may be at run time, the response path. */
type Position = { parentType: GraphQLNamedType; runtimeTypes: ReadonlySet<GraphQLObjectType>; path: string[] };

/**
 * Every root field the operation selects below the top level, with the response path of its
 * first occurrence. A root field counts only where the value may be a root object at run time
 * (`... on Query`, an interface Query implements, a union including it). Each fragment is
 * walked at most once per kind of position, so a document spreading fragments many times over
 * costs its own size, never their product.
 */
export function nestedRootFields(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined): NestedRootField[] {
  const operation = getOperationAST(document, operationName);
  const rootType = operation && schema.getRootType(operation.operation);
  if (!operation || !rootType) return [];
  return new NestedRootFieldWalk(schema, document).from({ parentType: rootType, runtimeTypes: new Set([rootType]), path: [] }, operation.selectionSet);
}

class NestedRootFieldWalk {
  private readonly roots = new Map<GraphQLObjectType, 'Query' | 'Mutation'>();
  private readonly fragments = new Map<string, FragmentDefinitionNode>();
  private readonly found: NestedRootField[] = [];
  private readonly reported = new Set<string>();
  private readonly walkedFragments = new Set<string>();

  constructor(
    private readonly schema: GraphQLSchema,
    document: DocumentNode,
  ) {
    if (schema.getQueryType()) this.roots.set(schema.getQueryType()!, 'Query');
    if (schema.getMutationType()) this.roots.set(schema.getMutationType()!, 'Mutation');
    for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) this.fragments.set(definition.name.value, definition);
  }

  from(position: Position, selectionSet: SelectionSetNode): NestedRootField[] {
    this.walk(position, selectionSet);
    return this.found;
  }

  private walk(position: Position, selectionSet: SelectionSetNode): void {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) this.field(position, selection);
      else if (selection.kind === Kind.INLINE_FRAGMENT) this.narrowed(position, selection.typeCondition?.name.value, selection.selectionSet);
      else this.spread(position, selection.name.value);
    }
  }

  private field(position: Position, field: FieldNode): void {
    const name = field.name.value;
    const path = [...position.path, field.alias?.value ?? name];
    if (position.path.length > 0) this.reportRootField(position, name, path);
    const parent = position.parentType;
    const definition = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
    if (!definition || !field.selectionSet) return;
    const type = getNamedType(definition.type);
    this.walk({ parentType: type, runtimeTypes: new Set(this.objectTypesOf(type)), path }, field.selectionSet);
  }

  /** An inline fragment or a fragment's selections: the type condition narrows what the value may be. */
  private narrowed(position: Position, typeCondition: string | undefined, selectionSet: SelectionSetNode): void {
    const type = typeCondition ? this.schema.getType(typeCondition) : position.parentType;
    if (!type) return;
    const possible = new Set(this.objectTypesOf(type));
    const runtimeTypes = new Set([...position.runtimeTypes].filter((objectType) => possible.has(objectType)));
    this.walk({ parentType: type, runtimeTypes, path: position.path }, selectionSet);
  }

  private spread(position: Position, name: string): void {
    const fragment = this.fragments.get(name);
    if (!fragment) return;
    // What a fragment finds depends only on whether it is below the top level and which roots the value may be.
    const visitKey = `${name}|${position.path.length > 0}|${this.rootsAmong(position.runtimeTypes).join(',')}`;
    if (this.walkedFragments.has(visitKey)) return;
    this.walkedFragments.add(visitKey);
    this.narrowed(position, fragment.typeCondition.name.value, fragment.selectionSet);
  }

  private reportRootField(position: Position, fieldName: string, path: string[]): void {
    for (const typeName of this.rootsAmong(position.runtimeTypes)) {
      const root = typeName === 'Query' ? this.schema.getQueryType()! : this.schema.getMutationType()!;
      if (!root.getFields()[fieldName] || this.reported.has(`${typeName}.${fieldName}`)) continue;
      this.reported.add(`${typeName}.${fieldName}`);
      this.found.push({ typeName, fieldName, path });
    }
  }

  private rootsAmong(types: ReadonlySet<GraphQLObjectType>): ('Query' | 'Mutation')[] {
    return [...types].flatMap((type) => this.roots.get(type) ?? []);
  }

  private objectTypesOf(type: GraphQLNamedType): readonly GraphQLObjectType[] {
    if (isObjectType(type)) return [type];
    return isAbstractType(type) ? this.schema.getPossibleTypes(type) : [];
  }
}
