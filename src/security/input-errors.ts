/**
 * Variables that do not fit their declared types (a null where `JSON!` is required, a
 * number for a String) are refused by graphql-js before execution, without a code. They
 * are the client's input errors like any other, so they get `BAD_USER_INPUT` and, where the
 * message names one, the offending input field: clients handle one code for bad input,
 * whichever layer caught it.
 */
import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';

const VARIABLE_ERROR = /^Variable "\$(\w+)" /;
/** `at "input.payload"` or `Field "payload" of required type …`. */
const FIELD_IN_MESSAGE = /(?: at "(?:[\w.[\]]*\.)?(\w+)(?:\[\d+\])*"|; Field "(\w+)" of required type)/;

export function useVariableErrorCodes(): Plugin {
  return {
    onExecute() {
      return {
        onExecuteDone({ result, setResult }) {
          if (Symbol.asyncIterator in result) return;
          const errors = (result as ExecutionResult).errors;
          if (!errors?.some(isVariableError)) return;
          setResult({ ...result, errors: errors.map((error) => (isVariableError(error) ? withBadInputCode(error) : error)) });
        },
      };
    },
  };
}

function isVariableError(error: GraphQLError): boolean {
  return error.extensions?.code === undefined && !error.path && VARIABLE_ERROR.test(error.message);
}

function withBadInputCode(error: GraphQLError): GraphQLError {
  const named = FIELD_IN_MESSAGE.exec(error.message);
  const field = named?.[1] ?? named?.[2] ?? VARIABLE_ERROR.exec(error.message)![1]!;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    originalError: error.originalError,
    extensions: { ...error.extensions, code: 'BAD_USER_INPUT', field },
  });
}
