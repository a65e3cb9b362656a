/** A minimal GraphQL-over-HTTP client (fetch) that sends the bench's bearer token on every request. */
export interface Client {
  /** Base URL of the registry (no path). */
  base: string;
  headers: Record<string, string>;
  /** Data of a successful answer; throws on HTTP or GraphQL errors. */
  gql<T = any>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** GraphQL POST body as autocannon sends it. */
  body(query: string, variables?: Record<string, unknown>): string;
}

export function graphqlClient(base: string, token: string): Client {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const body = (query: string, variables?: Record<string, unknown>) => JSON.stringify(variables ? { query, variables } : { query });
  return {
    base,
    headers,
    body,
    async gql(query, variables) {
      const res = await fetch(`${base}/graphql`, { method: 'POST', headers, body: body(query, variables) });
      const text = await res.text();
      let parsed: { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };
      try {
        parsed = JSON.parse(text) as typeof parsed;
      } catch {
        throw new Error(`HTTP ${res.status}: ${text.slice(0, 300)}`);
      }
      if (parsed.errors?.length) {
        throw new Error(`GraphQL errors (HTTP ${res.status}): ${parsed.errors.map((e) => `${e.extensions?.code ?? '?'}: ${e.message}`).join('; ')}`);
      }
      return parsed.data as any;
    },
  };
}

/** GraphQL answers that carry data (Apollo writes `errors` first when there are any). */
export const dataBody = (body: string): boolean => body.startsWith('{"data":{');
