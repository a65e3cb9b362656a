import { useEffect, useState } from 'preact/hooks';
import { fmtDate, fmtNum, useQuery } from '../hooks.js';
import { type DeploymentRow, liveByModel } from '../live-deployments.js';
import { go, href } from '../router.js';

const MODELS = `query Models($search: String, $first: Int, $after: String) {
  models(search: $search, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { name description versionCount primaryMetric production { id number metrics { name value } } } }
  }
}`;

interface ModelRow {
  name: string;
  description: string | null;
  versionCount: number;
  primaryMetric: string;
  production: { id: string; number: number; metrics: { name: string; value: number }[] } | null;
}

/** The search and page size live in the URL (#/?search=fraud&first=50): bookmarkable, and Back works. */
export function ModelsScreen({ first, search: applied }: { first: number; search: string }) {
  const [search, setSearch] = useState(applied);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors[cursors.length - 1] ?? null;
  const q = useQuery<{ models: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: ModelRow }[] } }>(MODELS, {
    search: applied || null,
    first,
    after,
  });
  const rows = q.data?.models.edges.map((e) => e.node) ?? [];
  const [live, setLive] = useState<Map<string, DeploymentRow[]>>(new Map());
  useEffect(() => {
    liveByModel(rows.map((r) => r.name)).then(setLive, () => setLive(new Map()));
  }, [q.data]);
  return (
    <section aria-labelledby="models-h">
      <h1 id="models-h">Models</h1>
      <form class="filters" role="search" onSubmit={(e) => { e.preventDefault(); go([], { ...(search.trim() ? { search: search.trim() } : {}), ...(first !== 20 ? { first: String(first) } : {}) }); }}>
        <label for="model-search">Search by name</label>
        <input id="model-search" type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        <button type="submit">Search</button>
      </form>
      {q.error && <p role="alert" class="error">{q.error}</p>}
      {q.data && <p class="muted">{q.data.models.totalCount} model(s)</p>}
      <div class="scroll">
        <table data-testid="models-table" class="cards">
          <caption class="sr-only">Models</caption>
          <thead>
            <tr><th scope="col">Name</th><th scope="col">Description</th><th scope="col">Versions</th><th scope="col">Running</th><th scope="col">Production metric</th></tr>
          </thead>
          <tbody>
            {rows.map((m) => {
              const headline = m.production?.metrics.find((x) => x.name === m.primaryMetric);
              return (
                <tr key={m.name}>
                  <th scope="row"><a href={href(['models', m.name])}>{m.name}</a></th>
                  <td data-label="Description">{m.description ?? ''}</td>
                  <td data-label="Versions">{m.versionCount}</td>
                  <td data-label="Running">
                    <ul class="plain">
                      {(live.get(m.name) ?? []).map((d) => (
                        <li key={d.environment}><span class="badge">{d.environment}</span> v{d.version.number} since {fmtDate(d.deployedAt)} by {d.deployedBy}</li>
                      ))}
                    </ul>
                  </td>
                  <td data-label="Production metric">{headline ? `${m.primaryMetric} ${fmtNum(headline.value)}` : '—'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <div class="pager">
        <button type="button" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>Previous page</button>
        <button type="button" disabled={!q.data?.models.pageInfo.hasNextPage} onClick={() => setCursors([...cursors, q.data!.models.pageInfo.endCursor])}>Next page</button>
      </div>
    </section>
  );
}
