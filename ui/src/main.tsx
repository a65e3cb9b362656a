import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { gql, token } from './api.js';
import { clearOperations, operationsBehind } from './hooks.js';
import { href, pageSize, useRoute } from './router.js';
import { AuditScreen } from './screens/Audit.js';
import { CompareScreen } from './screens/Compare.js';
import { DeploymentsScreen } from './screens/Deployments.js';
import { ModelScreen } from './screens/Model.js';
import { ModelsScreen } from './screens/Models.js';
import { SignIn } from './screens/SignIn.js';
import { VersionScreen } from './screens/Version.js';
import { BEHIND_KEY, GRAPHIQL_PATH } from './session-keys.js';
import { VIEWER_QUERY, type Viewer, ViewerContext } from './viewer.js';

function App() {
  const route = useRoute();
  const routeKey = route.path.join('/');
  useMemo(() => clearOperations(), [routeKey]);
  const [viewer, setViewer] = useState<Viewer | null>(null);
  const [checking, setChecking] = useState(token.get() !== null);
  useEffect(() => {
    if (!token.get()) return;
    gql<{ viewer: Viewer }>(VIEWER_QUERY).then(
      (d) => setViewer(d.viewer),
      () => token.clear(),
    ).finally(() => setChecking(false));
  }, []);
  const signOut = () => {
    token.clear();
    setViewer(null);
    location.hash = '#/';
  };
  if (checking) return <p class="page">Checking the token…</p>;
  if (!viewer) return <SignIn onSignedIn={setViewer} />;
  return (
    <ViewerContext.Provider value={viewer}>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
      <header class="top">
        <nav aria-label="Main">
          <a href={href([])} class="brand">Model registry</a>
          <a href={href([])}>Models</a>
          <a href={href(['audit'])}>Audit</a>
          <a href={GRAPHIQL_PATH}>API explorer</a>
        </nav>
        <div class="who" aria-label="Signed in as">
          <span data-testid="viewer-name">{viewer.name}</span>
          <span class="badge" data-testid="viewer-role">{viewer.role}</span>
          <span class="badge" data-testid="viewer-scope">{viewer.modelScope ? `scope ${viewer.modelScope}` : 'all models'}</span>
          <button type="button" onClick={signOut}>Sign out</button>
        </div>
      </header>
      <main id="main" tabIndex={-1} class="page">
        <Screen path={route.path} params={route.params} />
        <footer class="behind">
          <a href={`${GRAPHIQL_PATH}?from=view`} onClick={handOver} data-testid="query-behind">
            The query behind this view
          </a>
        </footer>
      </main>
    </ViewerContext.Provider>
  );
}

/**
 * Hands the queries this view ran to GraphiQL (/ui/graphiql/?from=view opens one tab each) through
 * sessionStorage: queries can be long for a URL, and their variables are nobody's business in one.
 */
function handOver(): void {
  sessionStorage.setItem(BEHIND_KEY, JSON.stringify(operationsBehind()));
}

/** #/explorer was the in-house explorer before GraphiQL: old links land on GraphiQL. */
function ToGraphiQL() {
  useEffect(() => location.replace(GRAPHIQL_PATH), []);
  return <p>Opening GraphiQL…</p>;
}

function Screen({ path, params }: { path: string[]; params: URLSearchParams }) {
  const [first, second, third] = path;
  if (first === 'models' && second && third === 'deployments') return <DeploymentsScreen key={second} model={second} />;
  if (first === 'models' && second && third === 'compare') return <CompareScreen key={params.toString()} model={second} ids={(params.get('ids') ?? '').split(',').filter(Boolean)} />;
  if (first === 'models' && second) return <ModelScreen key={`${second}:${pageSize(params)}`} model={second} first={pageSize(params)} />;
  if (first === 'versions' && second) return <VersionScreen key={second} id={second} />;
  if (first === 'audit') return <AuditScreen key={params.get('model') ?? ''} params={params} />;
  if (first === 'explorer') return <ToGraphiQL />;
  return <ModelsScreen key={params.toString()} first={pageSize(params)} search={params.get('search') ?? ''} />;
}

render(<App />, document.getElementById('app')!);
