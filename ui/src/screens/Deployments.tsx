import { useEffect } from 'preact/hooks';
import { fmtDate, subscribeBehind, useQuery } from '../hooks.js';
import { DEPLOYMENT_FIELDS, type DeploymentRow } from '../live-deployments.js';
import { href } from '../router.js';

const TIMELINE = `query DeploymentTimeline($modelName: String!) {
  deploymentHistory(modelName: $modelName, first: 100) { totalCount edges { node { ${DEPLOYMENT_FIELDS} } } }
  denied: auditEvents(modelName: $modelName, action: "ACCESS_DENIED", first: 50) { edges { node { id sequence occurredAt actor details } } }
  head: auditEvents(modelName: $modelName, first: 1) { edges { node { sequence } } }
}`;

const LIVE = `subscription DeploymentEvents($modelName: String, $afterSequence: Float, $actions: [String!]) {
  registryEvents(modelName: $modelName, afterSequence: $afterSequence, actions: $actions) { sequence action }
}`;
const LIVE_ACTIONS = ['MODEL_VERSION_PROMOTED', 'MODEL_VERSION_ROLLED_BACK', 'PROMOTION_REFUSED', 'ACCESS_DENIED'];

interface Denied {
  id: string;
  sequence: number;
  occurredAt: string;
  actor: string;
  details: { operation?: string; reason?: string };
}

interface Item {
  key: string;
  at: string;
  kind: 'promote' | 'rollback' | 'refused' | 'denied';
  title: string;
  who: string;
  why: string | null;
  live?: boolean;
}

function toItem(d: DeploymentRow): Item {
  const refused = d.status === 'FAILED';
  const verb = d.action === 'PROMOTE' ? 'Promote' : 'Rollback';
  return {
    key: d.id,
    at: d.deployedAt,
    kind: refused ? 'refused' : d.action === 'PROMOTE' ? 'promote' : 'rollback',
    title: `${verb} to v${d.version.number}${d.previousVersion ? ` (from v${d.previousVersion.number})` : ''}${refused ? ' — refused' : ''}`,
    who: d.deployedBy,
    why: refused ? d.failureReason : d.reason,
    live: d.active,
  };
}

/** A timeline per environment, the live version of each, refused and denied attempts in red/orange; refreshed live. */
export function DeploymentsScreen({ model }: { model: string }) {
  const q = useQuery<{ deploymentHistory: { totalCount: number; edges: { node: DeploymentRow }[] }; denied: { edges: { node: Denied }[] }; head: { edges: { node: { sequence: number } }[] } }>(TIMELINE, { modelName: model });
  const headSequence = q.data?.head.edges[0]?.node.sequence ?? null;
  useEffect(() => {
    if (!q.data) return;
    return subscribeBehind(LIVE, { modelName: model, afterSequence: headSequence, actions: LIVE_ACTIONS }, () => q.reload());
  }, [model, headSequence, q.data !== null]);
  if (q.error) return <p role="alert" class="error">{q.error}</p>;
  if (!q.data) return <p>Loading…</p>;
  const rows = q.data.deploymentHistory.edges.map((e) => e.node);
  const envs = [...new Set(rows.map((d) => d.environment))].sort((a, b) => (a === 'production' ? -1 : b === 'production' ? 1 : a.localeCompare(b)));
  const denied: Item[] = q.data.denied.edges.map(({ node: e }) => ({
    key: e.id, at: e.occurredAt, kind: 'denied', title: `Access denied: ${e.details.operation ?? 'operation'}`, who: e.actor, why: e.details.reason ?? null,
  }));
  return (
    <section aria-labelledby="dep-h">
      <h1 id="dep-h">{model}: deployments</h1>
      <nav class="tabs" aria-label="Model views">
        <a href={href(['models', model])}>Versions</a>
        <a href={href(['models', model, 'deployments'])} aria-current="page">Deployments</a>
        <a href={href(['audit'], { model })}>Audit</a>
      </nav>
      <p class="muted" aria-live="polite">Live: refreshes when a promotion, rollback or refusal happens. <span class="legend promote">promote</span> <span class="legend rollback">rollback</span> <span class="legend refused">refused</span> <span class="legend denied">access denied</span></p>
      {envs.length === 0 && <p>Nothing was ever deployed.</p>}
      <div class="lanes">
        {envs.map((env) => {
          const items = rows.filter((d) => d.environment === env).map(toItem);
          const current = rows.find((d) => d.environment === env && d.active);
          return (
            <section class="lane" key={env} aria-labelledby={`env-${env}`} data-testid={`timeline-${env}`}>
              <h2 id={`env-${env}`}>{env}</h2>
              <p data-testid={`live-${env}`}>Live: {current ? <a href={href(['versions', current.version.id])}>v{current.version.number}</a> : 'nothing'}</p>
              <Timeline items={items} />
            </section>
          );
        })}
        {denied.length > 0 && (
          <section class="lane" aria-labelledby="env-denied" data-testid="timeline-denied">
            <h2 id="env-denied">Denied attempts</h2>
            <Timeline items={denied} />
          </section>
        )}
      </div>
    </section>
  );
}

function Timeline({ items }: { items: Item[] }) {
  return (
    <ol class="timeline">
      {items.map((it) => (
        <li key={it.key} class={`ev ${it.kind}`} data-kind={it.kind}>
          <strong>{it.title}</strong>{it.live && <span class="badge prod">live</span>}
          <div class="muted">{fmtDate(it.at)} · {it.who}</div>
          {it.why && <div>{it.why}</div>}
        </li>
      ))}
    </ol>
  );
}
