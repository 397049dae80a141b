/**
 * The console's GraphQL client (urql). Every request is a JSON POST to /graphql on this origin
 * with the session in `Authorization: Bearer`: what keygate's CSRF rule (src/security/csrf.ts)
 * accepts without further proof. The CSRF header is sent as well, so a GET (which urql would
 * use for a short query if allowed) would pass too; GETs are switched off regardless.
 */
import { cacheExchange, Client, fetchExchange, mapExchange, type CombinedError } from 'urql';
import type { Session } from './session';

export const CSRF_HEADER = 'x-graphql-yoga-csrf';

export function createConsoleClient(session: Session | null, onUnauthenticated: () => void): Client {
  return new Client({
    url: '/graphql',
    preferGetMethod: false,
    exchanges: [
      cacheExchange,
      mapExchange({
        onError(error) {
          if (isUnauthenticated(error)) onUnauthenticated();
        },
      }),
      fetchExchange,
    ],
    fetchOptions: () => ({
      headers: {
        [CSRF_HEADER]: 'keygate-console',
        ...(session ? { authorization: `Bearer ${session.token}` } : {}),
      },
    }),
  });
}

function isUnauthenticated(error: CombinedError): boolean {
  return error.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED');
}
