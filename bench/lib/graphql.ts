/** A minimal GraphQL-over-HTTP client for seeding and for checking a scenario before loading it. */
export type Headers = Record<string, string>;

export async function request(url: string, query: string, variables: Record<string, unknown> = {}, headers: Headers = {}) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: Record<string, any> | null; errors?: { message: string; extensions?: unknown }[] };
  return { status: response.status, ...body };
}

/** The data of a call that must succeed. */
export async function gql<T = any>(url: string, query: string, variables: Record<string, unknown> = {}, headers: Headers = {}): Promise<T> {
  const result = await request(url, query, variables, headers);
  if (result.status !== 200 || result.errors?.length || !result.data) {
    throw new Error(`GraphQL call failed (${result.status}): ${JSON.stringify(result.errors)}\n${query}`);
  }
  return result.data as T;
}
