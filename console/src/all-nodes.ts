/**
 * Every node of a connection, page after page (the API gives at most 100 a page), for lists
 * the console shows or offers whole: the tenant's organizations, workspaces and projects,
 * the parents a create form offers, the projects a key may select.
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { useEffect, useState } from 'react';
import { useClient, type CombinedError } from 'urql';

type Connection<Node> = { edges: { node: Node }[]; pageInfo: { hasNextPage: boolean; endCursor?: string | null } };

/** Enough for any tenant a person manages by hand; past it the list says it stops there. */
const MAX_PAGES = 50;

export type AllNodes<Node> = { nodes: Node[]; complete: boolean; fetching: boolean; error?: CombinedError };

/**
 * `connectionOf` picks the connection from the answer; the document takes `$after`. Fetched
 * again whenever `version` changes (a page bumps it after its own mutations) and whenever the
 * component mounts: what another page created is there the next time.
 */
export function useAllNodes<Data, Variables extends { after?: string | null }, Node>(
  document: TypedDocumentNode<Data, Variables>,
  variables: Omit<Variables, 'after'>,
  connectionOf: (data: Data) => Connection<Node>,
  version = 0,
): AllNodes<Node> {
  const client = useClient();
  const [state, setState] = useState<AllNodes<Node>>({ nodes: [], complete: false, fetching: true });
  const key = JSON.stringify(variables);
  useEffect(() => {
    let cancelled = false;
    setState((previous) => ({ ...previous, fetching: true }));
    (async () => {
      const nodes: Node[] = [];
      let after: string | null = null;
      for (let page = 0; page < MAX_PAGES; page++) {
        const answer = await client.query(document, { ...variables, after } as Variables, { requestPolicy: 'network-only' }).toPromise();
        if (cancelled) return;
        if (answer.error || !answer.data) return setState({ nodes, complete: false, fetching: false, error: answer.error });
        const connection = connectionOf(answer.data);
        nodes.push(...connection.edges.map((edge) => edge.node));
        if (!connection.pageInfo.hasNextPage) return setState({ nodes, complete: true, fetching: false });
        // A next page without a new cursor would be this page again.
        if (!connection.pageInfo.endCursor || connection.pageInfo.endCursor === after) break;
        after = connection.pageInfo.endCursor;
      }
      setState({ nodes, complete: false, fetching: false });
    })();
    return () => {
      cancelled = true;
    };
    // `variables` compared by value (key); `connectionOf` is a pure picker.
  }, [client, document, key, version]);
  return state;
}
