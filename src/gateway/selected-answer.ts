/**
 * An upstream's answer as the operation selected it. A whole operation sent to one upstream
 * (passthrough.ts, upstream-lane.ts) is answered from the upstream's JSON, not by executing
 * keygate's schema: without this, the upstream could add what nobody selected (a `viewer`
 * beside its own fields, looking like keygate's), or top-level keys and `extensions` of its
 * own (a fake `extensions.cost`). Stitching answers only what was selected; so does this.
 *
 * Fields are collected by response key as graphql-js collects them, fragments merged
 * whatever their type condition (the upstream decides the runtime type; a key none of them
 * selects is dropped either way).
 */
import { getOperationAST, Kind, type DocumentNode, type ExecutionResult, type FieldNode, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';

export function selectedAnswer(result: ExecutionResult, document: DocumentNode, operationName: string | null | undefined): ExecutionResult {
  const operation = getOperationAST(document, operationName);
  if (!operation) return { errors: result.errors, data: result.data };
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const data = result.data == null ? result.data : (pick(result.data, [operation.selectionSet], fragments) as ExecutionResult['data']);
  return result.errors === undefined ? { data } : { data, errors: result.errors };
}

function pick(value: unknown, selectionSets: readonly SelectionSetNode[], fragments: ReadonlyMap<string, FragmentDefinitionNode>): unknown {
  if (value === null || typeof value !== 'object') return value ?? null;
  if (Array.isArray(value)) return value.map((item) => pick(item, selectionSets, fragments));
  const source = value as Record<string, unknown>;
  const picked: Record<string, unknown> = {};
  for (const [key, fields] of collectFields(selectionSets, fragments)) {
    if (!Object.hasOwn(source, key)) continue;
    const subSelections = fields.flatMap((field) => (field.selectionSet ? [field.selectionSet] : []));
    picked[key] = subSelections.length > 0 ? pick(source[key], subSelections, fragments) : source[key];
  }
  return picked;
}

/** The fields selected at one position by response key (alias or name), fragments spread in. */
function collectFields(selectionSets: readonly SelectionSetNode[], fragments: ReadonlyMap<string, FragmentDefinitionNode>): Map<string, FieldNode[]> {
  const fields = new Map<string, FieldNode[]>();
  const visited = new Set<string>();
  const visit = (selectionSet: SelectionSetNode) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const key = selection.alias?.value ?? selection.name.value;
        fields.set(key, [...(fields.get(key) ?? []), selection]);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        visit(selection.selectionSet);
      } else if (!visited.has(selection.name.value)) {
        visited.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) visit(fragment.selectionSet);
      }
    }
  };
  for (const selectionSet of selectionSets) visit(selectionSet);
  return fields;
}
