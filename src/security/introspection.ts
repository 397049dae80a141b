/**
 * Introspection off (the default in production, KEYGATE_INTROSPECTION) means the schema is
 * not handed to whoever asks: `__schema`/`__type` are refused at validation. Suggestions
 * ("Did you mean …?") are hidden along with it, since they let anyone rebuild the schema one
 * typo at a time: of fields (Armor, query-limits.ts), and here of everything else graphql-js
 * suggests (enum values, input fields, arguments, types), in a document or in a variable.
 * Schema consumers use the committed schema.graphql instead.
 */
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { reworded } from './input-errors.js';

export function useIntrospectionPolicy({ introspection }: { introspection: boolean }): Plugin[] {
  return introspection ? [] : [useDisableIntrospection(), useNoSuggestions()];
}

const SUGGESTION = / ?Did you mean [^?]*\?/g;

function useNoSuggestions(): Plugin {
  return {
    onValidate() {
      return ({ result, setResult }) => {
        if (result.some(suggests)) setResult(result.map(withoutSuggestion));
      };
    },
    onExecute() {
      return {
        onExecuteDone({ result, setResult }) {
          if (Symbol.asyncIterator in result) return;
          const errors = (result as ExecutionResult).errors;
          if (errors?.some(suggests)) setResult({ ...result, errors: errors.map(withoutSuggestion) });
        },
      };
    },
  };
}

function suggests(error: Error): boolean {
  return error.message.includes('Did you mean ');
}

function withoutSuggestion<E extends Error>(error: E): E {
  if (!(error instanceof GraphQLError) || !suggests(error)) return error;
  return reworded(error, error.message.replace(SUGGESTION, '')) as unknown as E;
}
