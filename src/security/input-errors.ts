/**
 * Variables that do not fit their declared types (a null where `JSON!` is required, a
 * number for a String) are refused by graphql-js before execution, without a code. They
 * are the client's input errors like any other, so they get `BAD_USER_INPUT` and, where the
 * message names one, the offending input field: clients handle one code for bad input,
 * whichever layer caught it.
 *
 * graphql-js quotes the offending value in such messages, for a variable and for a literal
 * alike (`String cannot represent a non string value: ["kg_…"]`): a secret or a password sent
 * with the wrong type would come back in the error, and from there into client logs. The
 * values are cut out of the message; the type, the variable and the field stay.
 */
import { BREAK, GraphQLError, Kind, print, visit, type ASTNode, type DocumentNode, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';

const VARIABLE_ERROR = /^Variable "\$(\w+)" /;
/** `at "input.payload"`, `Field "payload" of required type …` or `Field "bogus" is not defined by type …`. */
const FIELD_IN_MESSAGE = /(?: at "(?:[\w.[\]]*\.)?(\w+)(?:\[\d+\])*"|; Field "(\w+)" (?:of required type|is not defined by type))/;

const REDACTED = '<value not shown>';

export function useVariableErrorCodes(): Plugin {
  return {
    onValidate() {
      return ({ result, setResult }) => {
        if (result.some(quotesLiteral)) setResult(result.map((error) => (quotesLiteral(error) ? withoutLiteral(error) : error)));
      };
    },
    onExecute({ args }) {
      return {
        onExecuteDone({ result, setResult }) {
          if (Symbol.asyncIterator in result) return;
          const errors = (result as ExecutionResult).errors;
          if (!errors?.some(isVariableError)) return;
          const variables = (args.variableValues ?? {}) as Record<string, unknown>;
          setResult({ ...result, errors: errors.map((error) => (isVariableError(error) ? withBadInputCode(error, variables, args.document) : error)) });
        },
      };
    },
  };
}

const VALUE_KINDS = new Set<string>([Kind.STRING, Kind.LIST, Kind.OBJECT, Kind.ENUM, Kind.INT, Kind.FLOAT, Kind.BOOLEAN]);

/** A validation error about a literal value whose message prints it, quoted as written or (a string) bare. */
function quotesLiteral(error: Error): error is GraphQLError {
  if (!(error instanceof GraphQLError)) return false;
  const node = error.nodes?.[0] as ASTNode | undefined;
  if (node === undefined || !VALUE_KINDS.has(node.kind)) return false;
  return error.message.includes(print(node)) || (node.kind === Kind.STRING && node.value !== '' && error.message.includes(node.value));
}

function withoutLiteral(error: GraphQLError): GraphQLError {
  const node = error.nodes![0]!;
  const message = error.message.split(print(node)).join(REDACTED);
  return reworded(error, node.kind === Kind.STRING && node.value !== '' ? withoutBare(message, node.value) : message);
}

/** The same error (where it points, what caused it) with another message and, optionally, extensions. */
export function reworded(error: GraphQLError, message: string, extensions = error.extensions): GraphQLError {
  return new GraphQLError(message, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, originalError: error.originalError, extensions });
}

/** `message` with every string the variable holds, as graphql-js quotes it, replaced. */
function withoutValues(message: string, value: unknown): string {
  let redacted = message;
  const pending = [value];
  while (pending.length > 0) {
    const current = pending.pop();
    if (typeof current === 'string' && current.length > 0) {
      // graphql-js quotes a string as JSON does, also inside lists and objects; a scalar's
      // own message may print it bare (graphql-scalars' DateTime does).
      redacted = withoutBare(redacted.split(JSON.stringify(current)).join(REDACTED), current);
    } else if (typeof current === 'number' || typeof current === 'bigint') {
      // A password sent as a number is printed bare: each whole occurrence of it.
      redacted = withoutBare(redacted, String(current), 'number');
    } else if (current !== null && typeof current === 'object') {
      pending.push(...Object.values(current));
    }
  }
  return redacted;
}

/**
 * `message` without each whole occurrence of `value`: not one inside a longer word ("Date" in
 * "DateTime"), nor, for a number, inside a longer number ("5" in "1.5"); a sentence's full
 * stop may follow it.
 */
function withoutBare(message: string, value: string, kind: 'string' | 'number' = 'string'): string {
  const before = kind === 'number' ? '(?<![\\w.])' : '(?<!\\w)';
  return message.replace(new RegExp(`${before}${escapeRegExp(value)}(?!\\w|\\.\\d)`, 'g'), REDACTED);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function isVariableError(error: GraphQLError): boolean {
  return error.extensions?.code === undefined && !error.path && VARIABLE_ERROR.test(error.message);
}

function withBadInputCode(error: GraphQLError, variables: Record<string, unknown>, document: DocumentNode): GraphQLError {
  const named = FIELD_IN_MESSAGE.exec(error.message);
  const variable = VARIABLE_ERROR.exec(error.message)![1]!;
  const field = named?.[1] ?? named?.[2] ?? inputFedBy(document, variable) ?? variable;
  return reworded(error, withoutValues(error.message, variables[variable]), { ...error.extensions, code: 'BAD_USER_INPUT', field });
}

/**
 * The argument or input field a variable is passed to (`signIn(email: $e)` → `email`): the
 * client's field, not the name it happened to give its variable. The first use when several.
 */
export function inputFedBy(document: DocumentNode, variable: string): string | undefined {
  let fed: string | undefined;
  visit(document, {
    Variable(node, _key, parent, _path, ancestors) {
      if (node.name.value !== variable) return;
      // The nearest argument or object field holding it, through any lists around it.
      const holders = [...ancestors, parent];
      for (let i = holders.length - 1; i >= 0; i--) {
        const holder = holders[i] as ASTNode;
        if (holder.kind === Kind.ARGUMENT || holder.kind === Kind.OBJECT_FIELD) {
          fed = holder.name.value;
          return BREAK;
        }
        if (holder.kind === Kind.VARIABLE_DEFINITION) return;
      }
    },
  });
  return fed;
}
