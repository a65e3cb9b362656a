import { useState } from 'preact/hooks';
import { fmtDate, fmtNum, useQuery } from '../hooks.js';
import { href } from '../router.js';
import { MODEL_OVERVIEW, type Page, RANKED_PAGE, VERSIONS_PAGE, type VersionRow } from './model-queries.js';
import { MetricPlot } from './Plot.js';

const STATUSES = ['READY', 'PENDING_UPLOAD', 'FAILED', 'ARCHIVED'];

interface Overview {
  model: { name: string; description: string | null; primaryMetric: string; versionCount: number; production: { id: string; number: number } | null; versions: Page<VersionRow> } | null;
}

/** A model: versions table (sort by a metric through compareVersionsConnection), plot, compare. */
export function ModelScreen({ model, first }: { model: string; first: number }) {
  const overview = useQuery<Overview>(MODEL_OVERVIEW, { name: model });
  const [sort, setSort] = useState<{ metric: string; direction: 'ASC' | 'DESC' } | null>(null);
  const [status, setStatus] = useState('');
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [selected, setSelected] = useState<string[]>([]);
  const [plotMetric, setPlotMetric] = useState<string | null>(null);
  const after = cursors[cursors.length - 1] ?? null;
  const plain = useQuery<{ modelVersions: Page<VersionRow> }>(VERSIONS_PAGE, { modelName: model, status: status || null, first, after }, sort !== null);
  const ranked = useQuery<{ compareVersionsConnection: Page<{ rank: number; value: number | null; version: VersionRow }> }>(
    RANKED_PAGE,
    { modelName: model, metric: sort?.metric ?? null, direction: sort?.direction ?? 'DESC', first, after },
    sort === null,
  );
  const m = overview.data?.model;
  if (overview.error) return <p role="alert" class="error">{overview.error}</p>;
  if (!m) return <p>{overview.loading ? 'Loading…' : `No model "${model}" (or outside your token's scope).`}</p>;
  const all = m.versions.edges.map((e) => e.node);
  const metricNames = [...new Set(all.flatMap((v) => v.metrics.map((x) => x.name)))];
  const chosen = plotMetric ?? (metricNames.includes(m.primaryMetric) ? m.primaryMetric : metricNames[0] ?? m.primaryMetric);
  const page = sort ? ranked.data?.compareVersionsConnection : plain.data?.modelVersions;
  let rows = (page?.edges ?? []).map((e) => ('version' in e.node ? (e.node as { version: VersionRow }).version : (e.node as VersionRow)));
  if (sort && status) rows = rows.filter((r) => r.status === status);
  const error = sort ? ranked.error : plain.error;
  const resetPaging = () => setCursors([null]);
  const sortBy = (metric: string) => {
    resetPaging();
    setSort(sort?.metric === metric && sort.direction === 'DESC' ? { metric, direction: 'ASC' } : { metric, direction: 'DESC' });
  };
  const toggle = (id: string) => setSelected(selected.includes(id) ? selected.filter((s) => s !== id) : [...selected, id]);
  const points = all.flatMap((v) => {
    const value = v.metrics.find((x) => x.name === chosen)?.value;
    return value === undefined ? [] : [{ id: v.id, number: v.number, status: v.status, value }];
  });
  return (
    <section aria-labelledby="model-h">
      <h1 id="model-h">{m.name}</h1>
      {m.description && <p>{m.description}</p>}
      <p class="muted">
        {m.versionCount} version(s) · primary metric {m.primaryMetric} · production {m.production ? <a href={href(['versions', m.production.id])}>v{m.production.number}</a> : 'none'}
      </p>
      <nav class="tabs" aria-label="Model views">
        <a href={href(['models', m.name])} aria-current="page">Versions</a>
        <a href={href(['models', m.name, 'deployments'])}>Deployments</a>
        <a href={href(['audit'], { model: m.name })}>Audit</a>
      </nav>

      <h2>Plot</h2>
      <label for="plot-metric">Metric</label>{' '}
      <select id="plot-metric" value={chosen} onChange={(e) => setPlotMetric(e.currentTarget.value)}>
        {metricNames.map((n) => <option key={n} value={n}>{n}</option>)}
      </select>
      <MetricPlot metric={chosen} points={points} productionId={m.production?.id ?? null} />

      <h2>Versions</h2>
      <div class="filters">
        <label for="status-filter">Status</label>
        <select id="status-filter" value={status} onChange={(e) => { resetPaging(); setStatus(e.currentTarget.value); }}>
          <option value="">any</option>
          {STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
        </select>
        {sort && <button type="button" onClick={() => { resetPaging(); setSort(null); }}>Newest first</button>}
        <a class={selected.length >= 2 ? 'button' : 'button disabled'} aria-disabled={selected.length < 2} href={selected.length >= 2 ? href(['models', m.name, 'compare'], { ids: selected.join(',') }) : undefined} data-testid="compare-link">
          Compare selected ({selected.length})
        </a>
      </div>
      {sort && <p class="muted" data-testid="sort-note">Ranked by {sort.metric} ({sort.direction === 'DESC' ? 'highest' : 'lowest'} first): READY and ARCHIVED versions only.</p>}
      {error && <p role="alert" class="error">{error}</p>}
      <div class="scroll">
        <table data-testid="versions-table">
          <caption class="sr-only">Versions of {m.name}</caption>
          <thead>
            <tr>
              <th scope="col"><span class="sr-only">Select</span></th>
              <th scope="col">#</th><th scope="col">Id</th><th scope="col">Status</th><th scope="col">Created</th><th scope="col">Author</th><th scope="col">Tags</th>
              {metricNames.map((n) => (
                <th scope="col" key={n} aria-sort={sort?.metric === n ? (sort.direction === 'DESC' ? 'descending' : 'ascending') : 'none'}>
                  <button type="button" class="link" onClick={() => sortBy(n)} data-testid={`sort-${n}`}>
                    {n} {sort?.metric === n ? (sort.direction === 'DESC' ? '▼' : '▲') : ''}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((v) => (
              <tr key={v.id} class={v.status === 'ARCHIVED' || v.status === 'FAILED' ? 'dim' : ''} data-version={v.number}>
                <td><input type="checkbox" aria-label={`Select version ${v.number}`} checked={selected.includes(v.id)} onChange={() => toggle(v.id)} /></td>
                <td><a href={href(['versions', v.id])}>v{v.number}</a></td>
                <td class="mono">{v.id}</td>
                <td><span class={`status ${v.status}`}>{v.status}</span>{m.production?.id === v.id && <span class="badge prod">production</span>}</td>
                <td>{fmtDate(v.createdAt)}</td>
                <td>{v.createdBy}</td>
                <td>{v.tags.join(', ')}</td>
                {metricNames.map((n) => <td key={n} class="num">{fmtNum(v.metrics.find((x) => x.name === n)?.value)}</td>)}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="pager">
        <span class="muted">{page ? `${page.totalCount} in all` : ''}</span>
        <button type="button" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>Previous page</button>
        <button type="button" disabled={!page?.pageInfo.hasNextPage} onClick={() => setCursors([...cursors, page!.pageInfo.endCursor])}>Next page</button>
      </div>
    </section>
  );
}
