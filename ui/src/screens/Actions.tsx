import { useState } from 'preact/hooks';
import { gql } from '../api.js';
import { fmtNum, useQuery } from '../hooks.js';
import { canDeploy, useViewer } from '../viewer.js';

const CONTEXT = `query PromoteContext($name: String!) { model(name: $name) { primaryMetric production { id number } } }`;
const COMPARISON = `query PromoteComparison($modelName: String!, $metric: String, $ids: [ID!]) {
  compareVersions(modelName: $modelName, metric: $metric, versionIds: $ids) { value deltaVsProduction version { id number } }
}`;
const PROMOTE = `mutation Promote($input: PromoteInput!) { promoteModelVersion(input: $input) { id status environment version { number } } }`;
const ROLLBACK = `mutation Rollback($input: RollbackInput!) { rollbackModel(input: $input) { id status environment version { number } } }`;
const ARCHIVE = `mutation Archive($id: ID!, $reason: String) { archiveModelVersion(versionId: $id, reason: $reason) { id status } }`;

interface Target {
  id: string;
  number: number;
  modelName: string;
  status: string;
  environments: string[];
}

type Comparison = { value: number | null; deltaVsProduction: number | null; version: { id: string; number: number } }[];

/** Promote (with an optional improvement policy and a confirm step), roll back, archive: only for DEPLOYER+ in scope. */
export function Actions({ v, onDone }: { v: Target; onDone: () => void }) {
  const viewer = useViewer();
  const allowed = canDeploy(viewer, v.modelName);
  const ctx = useQuery<{ model: { primaryMetric: string; production: { id: string; number: number } | null } | null }>(CONTEXT, { name: v.modelName }, !allowed);
  const [env, setEnv] = useState('production');
  const [reason, setReason] = useState('');
  const [policy, setPolicy] = useState(false);
  const [metric, setMetric] = useState('');
  const [minRatio, setMinRatio] = useState('1');
  const [review, setReview] = useState<Comparison | null>(null);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  if (!allowed) return null;
  const primary = ctx.data?.model?.primaryMetric ?? 'roc_auc';
  const production = ctx.data?.model?.production ?? null;
  const run = async (what: () => Promise<string>) => {
    setMessage(null);
    try {
      setMessage({ ok: true, text: await what() });
      onDone();
    } catch (err) {
      setMessage({ ok: false, text: (err as Error).message });
    }
    setReview(null);
  };
  const startReview = async (e: Event) => {
    e.preventDefault();
    setMessage(null);
    const ids = production && production.id !== v.id ? [v.id, production.id] : [v.id];
    try {
      const d = await gql<{ compareVersions: Comparison }>(COMPARISON, { modelName: v.modelName, metric: (policy && metric) || primary, ids });
      setReview(d.compareVersions);
    } catch (err) {
      setReview([]);
      setMessage({ ok: false, text: `No comparison: ${(err as Error).message}` });
    }
  };
  const promote = () =>
    run(async () => {
      const input = { versionId: v.id, environment: env, reason: reason || null, requireImprovement: policy ? { metric: metric || null, minRatio: Number(minRatio) } : null };
      const d = await gql(PROMOTE, { input });
      return `Promoted: v${d.promoteModelVersion.version.number} is live in ${d.promoteModelVersion.environment}.`;
    });
  const mine = review?.find((r) => r.version.id === v.id);
  const prod = review?.find((r) => r.version.id === production?.id);
  return (
    <section class="actions" aria-labelledby="actions-h" data-testid="actions">
      <h2 id="actions-h">Actions</h2>
      {message && <p role={message.ok ? 'status' : 'alert'} class={message.ok ? 'ok' : 'error'} data-testid="action-message">{message.text}</p>}
      {v.status === 'READY' && (
        <form onSubmit={startReview} class="stack">
          <label for="env">Environment</label>
          <input id="env" value={env} onInput={(e) => setEnv(e.currentTarget.value)} pattern="[a-z][a-z0-9-]{0,31}" required />
          <label for="reason">Reason</label>
          <input id="reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
          <label class="check"><input type="checkbox" checked={policy} onChange={(e) => setPolicy(e.currentTarget.checked)} data-testid="policy" /> Require an improvement over production</label>
          {policy && (
            <div class="row">
              <label for="policy-metric">Metric</label>
              <input id="policy-metric" placeholder={primary} value={metric} onInput={(e) => setMetric(e.currentTarget.value)} />
              <label for="policy-ratio">Minimum ratio</label>
              <input id="policy-ratio" type="number" step="any" min="0" value={minRatio} onInput={(e) => setMinRatio(e.currentTarget.value)} />
            </div>
          )}
          <button type="submit">Promote v{v.number}…</button>
        </form>
      )}
      {review && (
        <div role="dialog" aria-modal="false" aria-labelledby="confirm-h" class="confirm" data-testid="confirm">
          <h3 id="confirm-h">Promote v{v.number} to {env}?</h3>
          <p>
            {(policy && metric) || primary}: v{v.number} {fmtNum(mine?.value)}
            {production ? ` · production v${production.number} ${fmtNum(prod?.value ?? (production.id === v.id ? mine?.value : null))}` : ' · nothing in production'}
            {mine?.deltaVsProduction !== null && mine?.deltaVsProduction !== undefined && ` · delta ${mine.deltaVsProduction >= 0 ? '+' : ''}${fmtNum(mine.deltaVsProduction)}`}
          </p>
          {policy && <p>Policy: {metric || primary} at least {minRatio} × production (the server checks it).</p>}
          <button type="button" onClick={promote}>Confirm promote</button> <button type="button" onClick={() => setReview(null)}>Cancel</button>
        </div>
      )}
      {v.environments.map((e) => (
        <button type="button" key={e} onClick={() => run(async () => {
          const d = await gql(ROLLBACK, { input: { modelName: v.modelName, environment: e, reason: reason || null } });
          return `Rolled back: v${d.rollbackModel.version.number} is live in ${e}.`;
        })}>Roll back {e}</button>
      ))}
      {v.status === 'READY' && (
        <button type="button" onClick={() => confirm(`Archive v${v.number}?`) && run(async () => {
          await gql(ARCHIVE, { id: v.id, reason: reason || null });
          return `Archived v${v.number}.`;
        })}>Archive v{v.number}</button>
      )}
    </section>
  );
}
