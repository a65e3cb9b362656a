import type { Figure } from './load.js';

/** Fixed-width text tables for the terminal (and the `table` field of the JSON result). */
export function table(head: string[], rows: (string | number)[][], alignLeft = 1): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i < alignLeft ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export const fmt = {
  rps: (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-'),
  ms: (x: number) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)) : '-'),
  us: (x: number | null) => (x !== null && Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-'),
  ratio: (x: number | null) => (x !== null && Number.isFinite(x) ? x.toFixed(2) : '-'),
};

export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  return a !== null && a !== undefined && b !== null && b !== undefined && b > 0 && Number.isFinite(a) ? a / b : null;
}

/** A figure row: req/s, p50, p99, CPU/req, other CPU, server RSS at the end of the load, then ratios of req/s to each ceiling. */
export function figureRow(f: Figure, ceilings: (Figure | null)[], ownCeiling?: Figure | null): (string | number)[] {
  return [
    f.title + (f.problems.length ? '  (!)' : ''),
    f.connections,
    fmt.rps(f.rps),
    fmt.ms(f.p50),
    fmt.ms(f.p99),
    fmt.us(f.cpuUsPerReq),
    f.backgroundPct === null ? '-' : f.backgroundPct.toFixed(0),
    f.rssMiB === null || f.rssMiB === undefined ? '-' : Math.round(f.rssMiB),
    ...ceilings.map((c) => fmt.ratio(ratio(f.rps, c?.rps))),
    ownCeiling === undefined ? '' : fmt.ratio(ratio(f.rps, ownCeiling?.rps)),
  ];
}
