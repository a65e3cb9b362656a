import { fmtBytes, fmtNum, useQuery } from '../hooks.js';
import { href } from '../router.js';

interface Full {
  id: string;
  number: number;
  status: string;
  datasetVersion: string;
  modelType: string;
  metrics: { name: string; value: number }[];
  hyperparameters: Record<string, unknown>;
  featureNames: string[];
  artifacts: { path: string; sizeBytes: number; sha256: string }[];
}

const FIELDS = `id number status datasetVersion modelType metrics { name value } hyperparameters featureNames artifacts { path sizeBytes sha256 }`;

/** One query for N versions: modelVersion under aliases v0, v1, … */
export function compareQuery(count: number): string {
  const vars = Array.from({ length: count }, (_, i) => `$v${i}: ID!`).join(', ');
  return `query CompareVersions(${vars}) {\n${Array.from({ length: count }, (_, i) => `  v${i}: modelVersion(id: $v${i}) { ${FIELDS} }`).join('\n')}\n}`;
}

const show = (v: unknown) => (v === undefined ? '—' : JSON.stringify(v));

/** Side by side: metrics with deltas against the first version, hyperparameter diff, data, artifacts. */
export function CompareScreen({ model, ids }: { model: string; ids: string[] }) {
  const q = useQuery<Record<string, Full | null>>(compareQuery(ids.length), Object.fromEntries(ids.map((id, i) => [`v${i}`, id])), ids.length < 2);
  if (ids.length < 2) return <p>Select two or more versions on the <a href={href(['models', model])}>model page</a>.</p>;
  if (q.error) return <p role="alert" class="error">{q.error}</p>;
  if (!q.data) return <p>Loading…</p>;
  const versions = ids.map((_, i) => q.data![`v${i}`]).filter((v): v is Full => !!v);
  const base = versions[0]!;
  const metricNames = [...new Set(versions.flatMap((v) => v.metrics.map((m) => m.name)))];
  const hpKeys = [...new Set(versions.flatMap((v) => Object.keys(v.hyperparameters ?? {})))].sort();
  const metric = (v: Full, n: string) => v.metrics.find((m) => m.name === n)?.value;
  const head = (
    <tr>
      <th scope="col">&nbsp;</th>
      {versions.map((v) => <th scope="col" key={v.id}><a href={href(['versions', v.id])}>v{v.number}</a> <span class={`status ${v.status}`}>{v.status}</span></th>)}
    </tr>
  );
  return (
    <section aria-labelledby="cmp-h">
      <h1 id="cmp-h">Compare {model}: {versions.map((v) => `v${v.number}`).join(', ')}</h1>
      <p class="muted">Deltas are against v{base.number}, the first selected.</p>
      <h2>Metrics</h2>
      <div class="scroll"><table data-testid="compare-metrics"><thead>{head}</thead><tbody>
        {metricNames.map((n) => (
          <tr key={n}><th scope="row">{n}</th>
            {versions.map((v, i) => {
              const value = metric(v, n);
              const b = metric(base, n);
              const delta = i > 0 && value !== undefined && b !== undefined ? value - b : null;
              return <td key={v.id} class="num">{fmtNum(value)}{delta !== null && <span class={delta > 0 ? 'delta up' : delta < 0 ? 'delta down' : 'delta'}> ({delta >= 0 ? '+' : ''}{fmtNum(delta)})</span>}</td>;
            })}
          </tr>
        ))}
      </tbody></table></div>
      <h2>Hyperparameters</h2>
      <div class="scroll"><table data-testid="compare-hyperparameters"><thead>{head}</thead><tbody>
        {hpKeys.map((k) => {
          const values = versions.map((v) => show(v.hyperparameters?.[k]));
          const differs = new Set(values).size > 1;
          return <tr key={k} class={differs ? 'differs' : ''}><th scope="row">{k}{differs && <span class="sr-only"> (differs)</span>}</th>{values.map((s, i) => <td key={i} class="mono">{s}</td>)}</tr>;
        })}
      </tbody></table></div>
      <h2>Data and artifacts</h2>
      <div class="scroll"><table><thead>{head}</thead><tbody>
        <tr><th scope="row">Model type</th>{versions.map((v) => <td key={v.id}>{v.modelType}</td>)}</tr>
        <tr><th scope="row">Dataset</th>{versions.map((v) => <td key={v.id}>{v.datasetVersion}</td>)}</tr>
        <tr><th scope="row">Features</th>{versions.map((v) => <td key={v.id}>{v.featureNames.join(', ')}</td>)}</tr>
        <tr><th scope="row">Artifacts</th>{versions.map((v) => (
          <td key={v.id}><ul class="plain">{v.artifacts.map((a) => <li key={a.path}>{a.path} · {fmtBytes(a.sizeBytes)} · <span class="mono hash">{a.sha256}</span></li>)}</ul></td>
        ))}</tr>
      </tbody></table></div>
    </section>
  );
}
