import { useEffect, useState } from 'preact/hooks';
import { gql } from '../api.js';
import { fmtDate, subscribeBehind, useQuery } from '../hooks.js';
import { unscoped, useViewer } from '../viewer.js';

const EVENTS = `query AuditEvents($modelName: String, $actor: String, $action: String, $since: DateTime, $until: DateTime, $first: Int, $after: String) {
  auditEvents(modelName: $modelName, actor: $actor, action: $action, since: $since, until: $until, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id sequence occurredAt actor action modelName versionId details previousHash hash } }
  }
}`;
const VERIFY = `query VerifyAuditLog { verifyAuditLog { valid eventsChecked firstInvalidSequence headHash message checkpointsChecked } }`;
const LIVE = `subscription AuditLive($afterSequence: Float, $modelName: String) { registryEvents(afterSequence: $afterSequence, modelName: $modelName) { sequence } }`;

interface Filters {
  model: string;
  actor: string;
  action: string;
  since: string;
  until: string;
}

const iso = (local: string) => (local ? new Date(local).toISOString() : null);

/** The audit log with filters, hashes, live refresh and "verify chain". */
export function AuditScreen({ params }: { params: URLSearchParams }) {
  const viewer = useViewer();
  const initial: Filters = { model: params.get('model') ?? '', actor: '', action: '', since: '', until: '' };
  const [form, setForm] = useState<Filters>(initial);
  const [applied, setApplied] = useState<Filters>(initial);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const q = useQuery<{ auditEvents: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: any }[] } }>(EVENTS, {
    modelName: applied.model || null, actor: applied.actor || null, action: applied.action || null, since: iso(applied.since), until: iso(applied.until), first: 50, after: cursors[cursors.length - 1] ?? null,
  });
  const [verify, setVerify] = useState<{ valid: boolean; eventsChecked: number; firstInvalidSequence: number | null; message: string | null; checkpointsChecked: number } | string | null>(null);
  const rows = q.data?.auditEvents.edges.map((e) => e.node) ?? [];
  const newest = cursors.length === 1 ? rows[0]?.sequence ?? null : null;
  useEffect(() => {
    if (newest === null) return;
    return subscribeBehind(LIVE, { afterSequence: newest, modelName: applied.model || null }, () => q.reload());
  }, [newest, applied.model]);
  const field = (k: keyof Filters, label: string, type: 'text' | 'datetime-local' = 'text') => (
    <div class="field"><label for={`f-${k}`}>{label}</label>{type === 'text' ? <input id={`f-${k}`} type="text" value={form[k]} onInput={(e) => setForm({ ...form, [k]: e.currentTarget.value })} /> : <input id={`f-${k}`} type="datetime-local" value={form[k]} onInput={(e) => setForm({ ...form, [k]: e.currentTarget.value })} />}</div>
  );
  const runVerify = async () => {
    setVerify(null);
    try {
      setVerify((await gql(VERIFY)).verifyAuditLog);
    } catch (err) {
      setVerify((err as Error).message);
    }
  };
  return (
    <section aria-labelledby="audit-h">
      <h1 id="audit-h">Audit log</h1>
      <form class="filters" onSubmit={(e) => { e.preventDefault(); setCursors([null]); setApplied(form); }}>
        {field('model', 'Model')}{field('actor', 'Actor')}{field('action', 'Action')}{field('since', 'Since', 'datetime-local')}{field('until', 'Until', 'datetime-local')}
        <button type="submit">Filter</button>
      </form>
      {unscoped(viewer) && (
        <div class="verify">
          <button type="button" onClick={runVerify} data-testid="verify">Verify chain</button>
          <span aria-live="polite" data-testid="verify-result">
            {typeof verify === 'string' && <span class="error">{verify}</span>}
            {verify && typeof verify === 'object' && (verify.valid
              ? <span class="ok">Valid: {verify.eventsChecked} events, {verify.checkpointsChecked} checkpoints checked.</span>
              : <span class="error">Broken at sequence {verify.firstInvalidSequence ?? '?'}: {verify.message}</span>)}
          </span>
        </div>
      )}
      {q.error && <p role="alert" class="error">{q.error}</p>}
      <p class="muted" aria-live="polite">{q.data ? `${q.data.auditEvents.totalCount} event(s); live` : 'Loading…'}</p>
      <div class="scroll"><table data-testid="audit-table">
        <thead><tr><th scope="col">#</th><th scope="col">When</th><th scope="col">Action</th><th scope="col">Actor</th><th scope="col">Model / version</th><th scope="col">Details</th><th scope="col">Hash / previous</th></tr></thead>
        <tbody>{rows.map((e) => (
          <tr key={e.id} class={e.action.startsWith('ACCESS_DENIED') || e.action === 'PROMOTION_REFUSED' ? 'refused-row' : ''}>
            <td>{e.sequence}</td><td>{fmtDate(e.occurredAt)}</td><td>{e.action}</td><td>{e.actor}</td>
            <td>{e.modelName ?? '—'}<br /><span class="mono">{e.versionId ?? ''}</span></td>
            <td class="mono small">{JSON.stringify(e.details)}</td>
            <td class="mono hash small"><span title="hash">{e.hash}</span><br /><span class="muted" title="previous hash">{e.previousHash}</span></td>
          </tr>
        ))}</tbody>
      </table></div>
      <div class="pager">
        <button type="button" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>Newer</button>
        <button type="button" disabled={!q.data?.auditEvents.pageInfo.hasNextPage} onClick={() => setCursors([...cursors, q.data!.auditEvents.pageInfo.endCursor])}>Older</button>
      </div>
    </section>
  );
}
