import { useState } from 'preact/hooks';
import { gql } from '../api.js';
import { fmtBytes, fmtDate, fmtNum, useQuery } from '../hooks.js';
import { DEPLOYMENT_FIELDS, type DeploymentRow } from '../live-deployments.js';
import { href } from '../router.js';
import { Actions } from './Actions.js';

const VERSION = `query Version($id: ID!) {
  modelVersion(id: $id) {
    id modelName number modelType status failureReason description datasetVersion
    metrics { name value } hyperparameters featureNames tags environments createdAt createdBy
    training { trainedAt durationSeconds trainingSamples validationSamples }
    artifacts { path sizeBytes sha256 contentType }
    legalHold { reason setBy setAt }
    deployments(first: 50) { edges { node { ${DEPLOYMENT_FIELDS} } } }
  }
}`;
const EVENTS = `query VersionEvents($modelName: String!) { auditEvents(modelName: $modelName, first: 100) { edges { node { id sequence occurredAt actor action versionId details } } } }`;
const DOWNLOAD = `query DownloadUrl($id: ID!) { modelVersion(id: $id) { artifacts { path downloadUrl(expiresInSeconds: 60) { url method } } } }`;

/** A version: metadata, artifacts (download through a fresh presigned URL), deployments, audit events, actions. */
export function VersionScreen({ id }: { id: string }) {
  const q = useQuery<{ modelVersion: any }>(VERSION, { id });
  const v = q.data?.modelVersion;
  const events = useQuery<{ auditEvents: { edges: { node: any }[] } }>(EVENTS, { modelName: v?.modelName ?? '' }, !v);
  const [downloadError, setDownloadError] = useState<string | null>(null);
  if (q.error) return <p role="alert" class="error">{q.error}</p>;
  if (!v) return <p>{q.loading ? 'Loading…' : `No version ${id} (or outside your token's scope).`}</p>;
  const download = async (path: string) => {
    setDownloadError(null);
    try {
      const d = await gql(DOWNLOAD, { id });
      const url = d.modelVersion.artifacts.find((a: { path: string }) => a.path === path)?.downloadUrl?.url;
      if (!url) throw new Error(`No download URL for ${path} (the version is ${v.status})`);
      const a = document.createElement('a');
      a.href = url;
      a.download = path.split('/').pop() ?? path;
      a.rel = 'noopener';
      document.body.append(a);
      a.click();
      a.remove();
    } catch (err) {
      setDownloadError((err as Error).message);
    }
  };
  const deployments: DeploymentRow[] = v.deployments.edges.map((e: { node: DeploymentRow }) => e.node);
  const mine = (events.data?.auditEvents.edges ?? []).map((e) => e.node).filter((e) => e.versionId === v.id);
  return (
    <section aria-labelledby="ver-h">
      <h1 id="ver-h"><a href={href(['models', v.modelName])}>{v.modelName}</a> v{v.number} <span class={`status ${v.status}`}>{v.status}</span></h1>
      {v.failureReason && <p class="error">{v.failureReason}</p>}
      <dl class="meta">
        <dt>Id</dt><dd class="mono">{v.id}</dd>
        <dt>Type</dt><dd>{v.modelType}</dd>
        <dt>Dataset</dt><dd>{v.datasetVersion}</dd>
        <dt>Created</dt><dd>{fmtDate(v.createdAt)} by {v.createdBy}</dd>
        <dt>Description</dt><dd>{v.description ?? '—'}</dd>
        <dt>Tags</dt><dd>{v.tags.join(', ') || '—'}</dd>
        <dt>Live in</dt><dd>{v.environments.join(', ') || 'no environment'}</dd>
        <dt>Metrics</dt><dd>{v.metrics.map((m: { name: string; value: number }) => `${m.name} ${fmtNum(m.value)}`).join(' · ')}</dd>
        <dt>Hyperparameters</dt><dd class="mono">{JSON.stringify(v.hyperparameters)}</dd>
        <dt>Features</dt><dd>{v.featureNames.join(', ') || '—'}</dd>
        <dt>Training</dt><dd>{fmtDate(v.training.trainedAt)} · {fmtNum(v.training.durationSeconds)} s · {fmtNum(v.training.trainingSamples)} / {fmtNum(v.training.validationSamples)} samples</dd>
        {v.legalHold && (<><dt>Legal hold</dt><dd>{v.legalHold.reason} ({v.legalHold.setBy}, {fmtDate(v.legalHold.setAt)})</dd></>)}
      </dl>
      <Actions v={v} onDone={q.reload} />
      <h2>Artifacts</h2>
      {downloadError && <p role="alert" class="error">{downloadError}</p>}
      <div class="scroll"><table data-testid="artifacts">
        <thead><tr><th scope="col">Path</th><th scope="col">Size</th><th scope="col">Type</th><th scope="col">sha256</th><th scope="col"><span class="sr-only">Download</span></th></tr></thead>
        <tbody>{v.artifacts.map((a: { path: string; sizeBytes: number; contentType: string; sha256: string }) => (
          <tr key={a.path}><td>{a.path}</td><td class="num">{fmtBytes(a.sizeBytes)}</td><td>{a.contentType}</td><td class="mono hash">{a.sha256}</td>
            <td><button type="button" onClick={() => download(a.path)} disabled={v.status !== 'READY' && v.status !== 'ARCHIVED'}>Download<span class="sr-only"> {a.path}</span></button></td></tr>
        ))}</tbody>
      </table></div>
      <h2>Deployment history</h2>
      <ul class="plain" data-testid="version-deployments">
        {deployments.length === 0 && <li>Never deployed.</li>}
        {deployments.map((d) => <li key={d.id} class={`ev ${d.status === 'FAILED' ? 'refused' : d.action.toLowerCase()}`}>{fmtDate(d.deployedAt)} · {d.action} {d.status} in {d.environment} by {d.deployedBy}{d.failureReason ? `: ${d.failureReason}` : d.reason ? `: ${d.reason}` : ''}</li>)}
      </ul>
      <h2>Audit events</h2>
      <ul class="plain" data-testid="version-events">
        {mine.map((e) => <li key={e.id}>#{e.sequence} {fmtDate(e.occurredAt)} · {e.action} by {e.actor}</li>)}
      </ul>
      <p><a href={href(['audit'], { model: v.modelName })}>All audit events of {v.modelName}</a></p>
    </section>
  );
}
