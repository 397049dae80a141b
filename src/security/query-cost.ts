/**
 * The one cost model of keygate: what an operation is estimated to cost before it runs. It
 * enforces the per-operation maximum (KEYGATE_MAX_COST, `QUERY_LIMIT_EXCEEDED`/`MAX_COST`)
 * and prices every operation of a key whose group has a cost budget
 * (modules/key-controls/cost-budget.ts), so a client reads one number for both.
 *
 * The weights are GraphQL Armor's cost limit's (which enforced the maximum before): a scalar
 * field costs 1, a field with a selection 2 plus 1.5 × each child, and a list field multiplies
 * its subtree by its page size. Unlike Armor, fragments (spread or inline) cost nothing of
 * their own and add no level: their fields are priced as if written in place, so a typed
 * client's fragment-per-type layout costs what the same selection written out does. Armor's
 * estimate cannot be read back (it lives inside a validation rule, and Yoga caches
 * validation per document), and it takes page sizes only from literals: `first: $n` cost 1,
 * so a budget could be emptied for the price of one row. Here the page size is `first` or
 * `last`, literal or variable, and a connection asked without either costs its default page;
 * a list whose arguments decide its length otherwise (`ApiKey.usage(from, to, interval)`)
 * costs the rows they ask for (`registerListSize`).
 */
import { getNamedType, isObjectType, isInterfaceType, Kind, valueFromASTUntyped, type DocumentNode, type FieldNode, type FragmentDefinitionNode, type GraphQLField, type GraphQLNamedType, type GraphQLSchema, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';

export const COST_WEIGHTS = {
  scalar: 1,
  object: 2,
  /** Each level of nesting multiplies its children's cost. */
  depthFactor: 1.5,
  /** A connection asked without `first`/`last` returns this many rows (schema/pagination.ts). */
  defaultPageSize: 20,
} as const;

/** Reads one argument of a field as the request gives it (a literal, or a variable's value), undefined if absent. */
export type ArgumentReader = (name: string) => unknown;

/**
 * List fields whose length their arguments decide rather than `first`/`last` (a range of
 * buckets, say), by `Type.field`: the rows they return for the arguments given. Registered by
 * the module defining the field.
 */
const argumentSizedLists = new Map<string, (argument: ArgumentReader) => number>();

export function registerListSize(typeName: string, fieldName: string, rows: (argument: ArgumentReader) => number): void {
  argumentSizedLists.set(`${typeName}.${fieldName}`, rows);
}

/** Costs that depend on no variable, per parsed document (Yoga's parser cache reuses the node). */
const fixedCosts = new WeakMap<DocumentNode, Map<string, number>>();

/**
 * The estimated cost of the operation `operationName` (or the document's only one). Zero when
 * there is no such operation: graphql-js refuses that request itself.
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
): number {
  const cacheKey = operationName ?? '';
  const cached = fixedCosts.get(document)?.get(cacheKey);
  if (cached !== undefined) return cached;
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION && (!operationName || d.name?.value === operationName),
  );
  if (!operation) return 0;
  const pricing = new Pricing(schema, document, variables ?? {}, operation);
  const root = operation.operation === 'query' ? schema.getQueryType() : operation.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
  const cost = pricing.children(operation.selectionSet, root ?? undefined, 1);
  if (!pricing.readVariables) {
    let perDocument = fixedCosts.get(document);
    if (!perDocument) fixedCosts.set(document, (perDocument = new Map()));
    perDocument.set(cacheKey, cost);
  }
  return cost;
}

class Pricing {
  readVariables = false;
  private readonly fragments = new Map<string, FragmentDefinitionNode>();
  private readonly fragmentCosts = new Map<string, number>();

  constructor(
    private readonly schema: GraphQLSchema,
    document: DocumentNode,
    private readonly variables: Record<string, unknown>,
    private readonly operation: OperationDefinitionNode,
  ) {
    for (const definition of document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) this.fragments.set(definition.name.value, definition);
    }
  }

  /**
   * The children of a selection set, each weighted by `factor` (1 at the root, 1.5 below).
   * A fragment's fields count as children of the set it is spread or written in.
   */
  children(selectionSet: SelectionSetNode, parent: GraphQLNamedType | undefined, factor: number): number {
    let cost = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) cost += factor * this.field(selection, parent);
      else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const typed = selection.typeCondition ? (this.schema.getType(selection.typeCondition.name.value) ?? undefined) : parent;
        cost += this.children(selection.selectionSet, typed, factor);
      } else cost += factor * this.fragment(selection.name.value);
    }
    return cost;
  }

  private field(node: FieldNode, parent: GraphQLNamedType | undefined): number {
    // Introspection is governed by KEYGATE_INTROSPECTION, not priced (as Armor's ignoreIntrospection).
    if (node.name.value === '__schema' || node.name.value === '__type') return 0;
    if (!node.selectionSet) return COST_WEIGHTS.scalar;
    const definition = fieldOf(parent, node.name.value);
    const type = definition ? getNamedType(definition.type) : undefined;
    const own = COST_WEIGHTS.object + this.children(node.selectionSet, type, COST_WEIGHTS.depthFactor);
    const sized = parent && argumentSizedLists.get(`${parent.name}.${node.name.value}`);
    return own * (sized ? Math.max(1, sized((name) => this.argument(node, name))) : this.pageSize(node, definition));
  }

  /** An argument's value as the request gives it: a literal, or the variable's (its default too). */
  private argument(node: FieldNode, name: string): unknown {
    const argument = node.arguments?.find((candidate) => candidate.name.value === name);
    if (!argument) return undefined;
    if (argument.value.kind !== Kind.VARIABLE) return valueFromASTUntyped(argument.value);
    this.readVariables = true;
    return this.variable(argument.value.name.value);
  }

  /**
   * A named fragment's fields at weight 1 (children() scales linearly with its factor). A
   * fragment spread inside itself (refused by validation) counts 0 instead of looping.
   */
  private fragment(name: string): number {
    const known = this.fragmentCosts.get(name);
    if (known !== undefined) return known;
    const fragment = this.fragments.get(name);
    if (!fragment) return 0;
    this.fragmentCosts.set(name, 0);
    const type = this.schema.getType(fragment.typeCondition.name.value) ?? undefined;
    const cost = this.children(fragment.selectionSet, type, 1);
    this.fragmentCosts.set(name, cost);
    return cost;
  }

  /** `first`/`last` (the larger when both), literal or variable; a connection's default page without them. */
  private pageSize(node: FieldNode, definition: GraphQLField<unknown, unknown> | undefined): number {
    let size = 0;
    for (const name of ['first', 'last']) {
      const value = this.argument(node, name);
      if (typeof value === 'number' && Number.isFinite(value)) size = Math.max(size, value);
    }
    if (size > 0) return size;
    return definition?.args.some((arg) => arg.name === 'first') ? COST_WEIGHTS.defaultPageSize : 1;
  }

  /** A variable's value: the request's, else the operation's default (`query($n: Int = 100)`), which graphql-js applies too. */
  private variable(name: string): unknown {
    const sent = this.variables[name];
    if (sent !== undefined) return sent;
    const fallback = this.operation.variableDefinitions?.find((definition) => definition.variable.name.value === name)?.defaultValue;
    return fallback ? valueFromASTUntyped(fallback) : undefined;
  }
}

function fieldOf(parent: GraphQLNamedType | undefined, name: string): GraphQLField<unknown, unknown> | undefined {
  return parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[name] : undefined;
}
