/**
 * No string of a GraphQL request may carry the NUL character (U+0000), whether written in the
 * document or sent as a variable: PostgreSQL's text cannot hold it, so a name, an email, an id
 * or a slug with one would fail deep inside a query as an unexpected error (a 500, and an
 * error line anyone could write into the log). Refused up front instead, as BAD_USER_INPUT
 * naming the argument, input field or variable, and on SQLite too, so that keygate answers the
 * same on either database. (JSON payloads are checked the same way by json-payload.ts.)
 */
import { GraphQLError, Kind, type ASTNode, type ValidationRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { badInput } from '../errors.js';
import { inputFedBy } from './input-errors.js';

const NUL = '\u0000';
const MESSAGE = 'must not contain the NUL character (\\u0000)';

export function useNoNulCharacters(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(noNulInLiterals);
    },
    onExecute({ args }) {
      const found = nulCharacterIn(args.variableValues);
      if (!found) return;
      // A variable is named by the argument or input field it feeds, as type errors name it.
      const isVariable = Object.hasOwn((args.variableValues ?? {}) as object, found);
      throw badInput(isVariable ? (inputFedBy(args.document, found) ?? found) : found, MESSAGE);
    },
  };
}

/** A string literal with a NUL, named by its argument or input field. */
const noNulInLiterals: ValidationRule = (context) => ({
  StringValue(node, _key, parent, _path, ancestors) {
    if (!node.value.includes(NUL)) return;
    const field = nameOfNearest([...ancestors, ...(parent ? [parent] : [])]);
    context.reportError(new GraphQLError(`${field} ${MESSAGE}.`, { nodes: node, extensions: { code: 'BAD_USER_INPUT', field } }));
  },
});

function nameOfNearest(ancestors: readonly (ASTNode | readonly ASTNode[])[]): string {
  for (let i = ancestors.length - 1; i >= 0; i--) {
    const ancestor = ancestors[i] as ASTNode;
    if (ancestor && 'kind' in ancestor && (ancestor.kind === Kind.ARGUMENT || ancestor.kind === Kind.OBJECT_FIELD)) return ancestor.name.value;
  }
  return 'query';
}

/**
 * Where a NUL is, if anywhere: the variable, or the input field of an input-object variable
 * (`input.email` → email). Deeper keys are named by that field: below it may be a JSON payload,
 * whose keys are data, not fields. Iterative, so no nesting overflows it.
 */
export function nulCharacterIn(variables: unknown): string | null {
  if (!variables || typeof variables !== 'object') return null;
  const pending: { value: unknown; name: string; depth: number }[] = [{ value: variables, name: 'variables', depth: 0 }];
  while (pending.length > 0) {
    const { value, name, depth } = pending.pop()!;
    if (typeof value === 'string') {
      if (value.includes(NUL)) return name;
    } else if (Array.isArray(value)) {
      for (const item of value) pending.push({ value: item, name, depth });
    } else if (value !== null && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        // A key is data or a field name the client made up: the field holding it is named.
        if (key.includes(NUL)) return name;
        const childName = depth < 2 ? key : name;
        pending.push({ value: child, name: childName, depth: depth + 1 });
      }
    }
  }
  return null;
}
