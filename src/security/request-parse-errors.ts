/**
 * A request Yoga cannot parse is the client's mistake: `400 BAD_REQUEST`, with a message and
 * nothing else. Yoga's GET parser lets a malformed `variables` or `extensions` parameter
 * escape as a plain exception, and a batch item that is not an object (`[null]`) fails inside
 * a plugin: each a 500 "Unexpected error.", logged with a stack trace. Its JSON parser answers
 * 400 but adds `extensions.originalError` quoting the parser's message and the body. A body
 * of a media type it has no parser for is 415, and says so.
 */
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export function useRequestParseErrors(): Plugin {
  return {
    onRequestParse({ requestParser, setRequestParser }) {
      // No parser for the body's media type (multipart/form-data: there is no Upload scalar):
      // Yoga answers 415 with an empty body; this one says why, with the code clients handle.
      if (!requestParser) return setRequestParser(refuseMediaType);
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

function refuseMediaType(): never {
  throw new GraphQLError('This media type is not accepted: send the request as application/json (multipart/form-data is refused, there is no Upload scalar).', {
    extensions: { code: 'BAD_REQUEST', http: { status: 415 } },
  });
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
