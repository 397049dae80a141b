/**
 * The console's GraphQL client (urql). Every request is a JSON POST to /graphql on this origin
 * with the session in `Authorization: Bearer`: what keygate's CSRF rule (src/security/csrf.ts)
 * accepts without further proof. The CSRF header is sent as well, so a GET (which urql would
 * use for a short query if allowed) would pass too; GETs are switched off regardless.
 * Subscriptions go the same way: a POST with `Accept: text/event-stream` and the same headers.
 */
import { createClient as createSseClient } from 'graphql-sse';
import { cacheExchange, Client, fetchExchange, mapExchange, subscriptionExchange, type CombinedError } from 'urql';
import type { Session } from './session';

export const CSRF_HEADER = 'x-graphql-yoga-csrf';

export function createConsoleClient(session: Session | null, onUnauthenticated: () => void): Client {
  const headers = () => ({
    [CSRF_HEADER]: 'keygate-console',
    ...(session ? { authorization: `Bearer ${session.token}` } : {}),
  });
  // Subscriptions (workflowRunUpdated) are Server-Sent Events over a fetch POST to /graphql:
  // graphql-sse's "distinct connections" mode is what Yoga serves natively, and unlike
  // EventSource it can send the session header.
  const sse = createSseClient({ url: '/graphql', singleConnection: false, headers, retryAttempts: 3 });
  return new Client({
    url: '/graphql',
    preferGetMethod: false,
    exchanges: [
      cacheExchange,
      mapExchange({
        onError(error) {
          // Without a session (the sign-in form), UNAUTHENTICATED is signIn's refusal, not an ending.
          if (session && isUnauthenticated(error)) onUnauthenticated();
        },
      }),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(operation) {
          return {
            subscribe: (sink) => ({ unsubscribe: sse.subscribe({ ...operation, query: operation.query ?? '' }, sink) }),
          };
        },
      }),
    ],
    fetchOptions: () => ({ headers: headers() }),
  });
}

function isUnauthenticated(error: CombinedError): boolean {
  return error.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED');
}
