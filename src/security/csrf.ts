/**
 * CSRF prevention (Yoga's plugin). A browser sends some cross-site requests without asking
 * the server first (no CORS preflight): GETs, and POSTs with a form or text/plain body.
 * Such a request is refused unless it carries a header a plain HTML form or link cannot
 * set, which forces the preflight on anything cross-site.
 *
 * JSON POSTs (`content-type: application/json`) are always preflighted, so they pass. A
 * credential header (X-Api-Key, Authorization) also counts as the proof: no browser sends
 * either cross-site without a preflight, which CORS (cors.ts) then decides.
 */
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** The header browser clients may send on GET requests; Yoga's GraphiQL knows it. */
export const CSRF_HEADER = 'x-graphql-yoga-csrf';

export function useCsrfPrevention(): Plugin {
  const prevention = useCSRFPrevention({ requestHeaders: [CSRF_HEADER, 'x-api-key', 'authorization'] });
  return {
    // Yoga's refusal has no code; give it one clients can recognize.
    onRequestParse(payload) {
      try {
        return prevention.onRequestParse?.(payload);
      } catch (error) {
        if (!(error instanceof GraphQLError)) throw error;
        throw new GraphQLError(
          `This request could be a cross-site request forgery: send it as JSON (content-type: application/json), or add the ${CSRF_HEADER} header.`,
          { extensions: { code: 'CSRF_HEADER_REQUIRED', http: { status: 403 } } },
        );
      }
    },
  };
}
