/**
 * GraphiQL 5 (React + Monaco), bundled by Vite with the console: no CDN, every file from /ui/assets.
 * A page of its own, /ui/graphiql/, because Monaco injects <style> elements at run time: the
 * registry serves this page with a CSP that allows inline styles (and nothing else more than the
 * console's; see src/http/console/console.route.ts), while the Preact console keeps its strict one.
 *
 * The token is the console's (sessionStorage, this tab only): sent as `Authorization: Bearer` on
 * every HTTP request and in the graphql-ws connection params, never put in a URL, a log or an editor.
 */
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import './graphiql.css';
import { createGraphiQLFetcher, type Storage } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import { createClient } from 'graphql-ws';
import { createElement as h } from 'react';
import { createRoot } from 'react-dom/client';
import { BEHIND_KEY, type Operation, TOKEN_KEY } from '../src/session-keys.js';

const bearer = (): Record<string, string> => {
  const secret = sessionStorage.getItem(TOKEN_KEY);
  return secret ? { authorization: `Bearer ${secret}` } : {};
};

const fetcher = createGraphiQLFetcher({
  url: '/graphql',
  // Read per request: signing in again in the console is seen without reloading this page.
  fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string> | undefined), ...bearer() } }),
  // Subscriptions (deploymentEvents, auditEvents…) over graphql-ws on the same path, as the console does.
  wsClient: createClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
    connectionParams: bearer,
    lazy: true,
  }),
});

/**
 * GraphiQL's tabs, history and settings in sessionStorage under a prefix, not in localStorage: they
 * end with the tab like the token (queries can carry model names and variables).
 */
const PREFIX = 'registry.graphiql.';
const ours = () => Object.keys(sessionStorage).filter((k) => k.startsWith(PREFIX));
const storage: Storage = {
  getItem: (key) => sessionStorage.getItem(PREFIX + key),
  setItem: (key, value) => sessionStorage.setItem(PREFIX + key, value),
  removeItem: (key) => sessionStorage.removeItem(PREFIX + key),
  clear: () => ours().forEach((k) => sessionStorage.removeItem(k)),
  get length() {
    return ours().length;
  },
};

/** Reached through "The query behind this view": one tab per operation the view ran, its variables filled in. */
function behindTheView(): { query: string; variables: string }[] | undefined {
  if (new URLSearchParams(location.search).get('from') !== 'view') return undefined;
  history.replaceState(null, '', location.pathname); // a reload keeps the tabs as edited
  let ops: Operation[] = [];
  try {
    ops = JSON.parse(sessionStorage.getItem(BEHIND_KEY) ?? '[]') as Operation[];
  } catch {
    return undefined;
  }
  if (!Array.isArray(ops) || ops.length === 0) return undefined;
  storage.removeItem('graphiql:tabState'); // defaultTabs is used only when no tabs are stored
  return ops.map((op) => ({ query: op.query, variables: JSON.stringify(op.variables ?? {}, null, 2) }));
}

const tabs = behindTheView();
const signedIn = sessionStorage.getItem(TOKEN_KEY) !== null;
const logo = h(
  GraphiQL.Logo,
  null,
  h('span', { className: 'registry-home' }, h('a', { href: '/ui/' }, 'Model registry console')),
  signedIn ? null : h('span', { className: 'registry-signed-out', role: 'status' }, 'Not signed in: sign in on the console first'),
);

createRoot(document.getElementById('graphiql')!).render(
  h(
    GraphiQL,
    {
      fetcher,
      storage,
      defaultTabs: tabs,
      // GraphiQL 5.4 fills the variables editor from initialVariables only, not from the first default tab.
      initialQuery: tabs?.[0]?.query,
      initialVariables: tabs?.[0]?.variables,
      defaultQuery: '# Runs on POST /graphql with the token you signed in with.\n{\n  viewer { name role modelScope }\n}\n',
      // The token comes from the sign-in; a headers editor would invite pasting secrets into storage.
      isHeadersEditorEnabled: false,
      defaultEditorToolsVisibility: 'variables',
    },
    logo,
  ),
);
