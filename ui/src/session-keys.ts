/**
 * What the console keeps in sessionStorage (this tab only, never a URL, never localStorage), shared
 * by the console (ui/src) and its GraphiQL page (ui/graphiql).
 */
/** The signed-in API token. */
export const TOKEN_KEY = 'registry.token';
/** The operations the view on show ran, handed to GraphiQL by "The query behind this view". */
export const BEHIND_KEY = 'registry.behind';
/** The GraphiQL page: a separate page with its own, looser CSP (see src/http/console/console.route.ts). */
export const GRAPHIQL_PATH = '/ui/graphiql/';

export interface Operation {
  query: string;
  variables: Record<string, unknown>;
}
