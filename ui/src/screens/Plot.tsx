import { fmtNum } from '../hooks.js';

export interface PlotPoint {
  id: string;
  number: number;
  status: string;
  value: number;
}

const W = 640;
const H = 240;
const PAD = { l: 56, r: 16, t: 16, b: 36 };

/**
 * One metric across versions, by version number, as hand-written SVG (no chart library):
 * production is a larger ringed point, ARCHIVED and FAILED versions are grey.
 */
export function MetricPlot({ metric, points, productionId }: { metric: string; points: PlotPoint[]; productionId: string | null }) {
  if (points.length === 0) return <p class="muted">No version has {metric}.</p>;
  const xs = points.map((p) => p.number);
  const ys = points.map((p) => p.value);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [yMin, yMax] = [Math.min(...ys), Math.max(...ys)];
  const span = yMax - yMin || Math.abs(yMax) || 1;
  const [y0, y1] = [yMin - span * 0.1, yMax + span * 0.1];
  const x = (n: number) => PAD.l + (x1 === x0 ? (W - PAD.l - PAD.r) / 2 : ((n - x0) / (x1 - x0)) * (W - PAD.l - PAD.r));
  const y = (v: number) => H - PAD.b - ((v - y0) / (y1 - y0)) * (H - PAD.t - PAD.b);
  const ticks = [y0, (y0 + y1) / 2, y1];
  const sorted = [...points].sort((a, b) => a.number - b.number);
  return (
    <figure class="plot">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby="plot-title" data-testid="metric-plot">
        <title id="plot-title">{`${metric} by version number; production marked with a ring`}</title>
        <line x1={PAD.l} y1={H - PAD.b} x2={W - PAD.r} y2={H - PAD.b} class="axis" />
        <line x1={PAD.l} y1={PAD.t} x2={PAD.l} y2={H - PAD.b} class="axis" />
        {ticks.map((t) => (
          <text key={t} x={PAD.l - 6} y={y(t) + 4} class="tick" text-anchor="end">{fmtNum(t)}</text>
        ))}
        {sorted.map((p) => (
          <text key={`x${p.id}`} x={x(p.number)} y={H - PAD.b + 16} class="tick" text-anchor="middle">{p.number}</text>
        ))}
        <text x={(W + PAD.l) / 2} y={H - 4} class="tick" text-anchor="middle">version</text>
        <polyline class="trend" points={sorted.filter((p) => p.status === 'READY').map((p) => `${x(p.number)},${y(p.value)}`).join(' ')} />
        {sorted.map((p) => {
          const grey = p.status === 'ARCHIVED' || p.status === 'FAILED';
          const prod = p.id === productionId;
          return (
            <g key={p.id}>
              {prod && <circle cx={x(p.number)} cy={y(p.value)} r={10} class="prod-ring" />}
              <circle cx={x(p.number)} cy={y(p.value)} r={5} class={grey ? 'pt grey' : 'pt'} data-status={p.status} data-production={prod ? 'true' : undefined}>
                <title>{`v${p.number} ${p.status}${prod ? ' (production)' : ''}: ${metric} ${fmtNum(p.value)}`}</title>
              </circle>
            </g>
          );
        })}
      </svg>
      <figcaption>
        <span class="legend ready">READY</span> <span class="legend grey">ARCHIVED / FAILED</span> <span class="legend prod">production</span>
      </figcaption>
    </figure>
  );
}
