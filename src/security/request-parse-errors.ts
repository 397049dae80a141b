/**
 * A request Yoga cannot parse is the client's mistake: `400 BAD_REQUEST`, with a message and
 * nothing else. Yoga's GET parser lets a malformed `variables` or `extensions` parameter
 * escape as a plain exception, and a batch item that is not an object (`[null]`) fails inside
 * a plugin: each a 500 "Unexpected error.", logged with a stack trace. Its JSON parser answers
 * 400 but adds `extensions.originalError` quoting the parser's message and the body.
 */
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export function useRequestParseErrors(): Plugin {
  return {
    onRequestParse({ requestParser, setRequestParser }) {
      if (!requestParser) return;
      setRequestParser(async (request) => {
        let params: Awaited<ReturnType<typeof requestParser>>;
        try {
          params = await requestParser(request);
        } catch (error) {
          throw asBadRequest(error);
        }
        // A batch item that is not an object (`[null]`) otherwise fails inside a plugin.
        if (Array.isArray(params) && params.some((item) => typeof item !== 'object' || item === null || Array.isArray(item))) {
          throw badRequest('Each operation of a batch must be a JSON object ({ "query": … }).');
        }
        return params;
      });
    },
  };
}

function asBadRequest(error: unknown): GraphQLError {
  if (error instanceof GraphQLError) {
    if (!('originalError' in error.extensions)) return error;
    const { originalError: _quoted, http, ...extensions } = error.extensions as { originalError?: unknown; http?: { status?: number } };
    return new GraphQLError(error.message, { extensions: { ...extensions, http: { status: http?.status ?? 400 } } });
  }
  return badRequest('The request could not be parsed: its variables or extensions are not valid JSON.');
}

function badRequest(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });
}
