import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

/** The parts of a V8 .cpuprofile (node --cpu-prof) this summary reads. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  /** `function (file:line)`, the file relative to the project. */
  name: string;
  selfMs: number;
  selfPct: number;
  /** Self plus callees (each sample counted once per function even under recursion). */
  totalMs: number;
  totalPct: number;
}

export interface ProfileSummary {
  file: string;
  sampledMs: number;
  idlePct: number;
  /** Functions by self time. */
  topSelf: ProfileEntry[];
  /** Project functions (the registry's own code) by total time: where the product spends its time, callees included. */
  topProjectTotal: ProfileEntry[];
  /** Self time grouped by package / area (node_modules/<pkg>, src/<dir>, node:internal, native). */
  byArea: { area: string; selfMs: number; selfPct: number }[];
}

function areaOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return `npm:${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (url.startsWith('node:')) return 'node:internal';
  const m = /\/(src|dist|build|\.build)\/([^/]+)\//.exec(url);
  if (m) return `src/${m[2]}`;
  return url.includes('/bench/') ? 'bench' : 'other';
}

/** Summarizes a .cpuprofile: top self-time functions, top project functions by total time, areas. */
export function summarizeProfile(file: string, root: string, top = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (id: number) => {
    const f = byId.get(id)!.callFrame;
    const where = f.url ? `${relative(root, f.url.replace(/^file:\/\//, ''))}:${f.lineNumber + 1}` : '';
    return `${f.functionName || '(anonymous)'}${where ? ` (${where})` : ''}`;
  };
  const project = new Set<string>();
  const isProject = (url: string) => {
    const path = url.replace(/^file:\/\//, '');
    return path.startsWith(root) && !path.includes('/node_modules/') && !/\/bench\/(lib|ceilings)\//.test(path);
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const area = new Map<string, number>();
  let idle = 0;
  let sum = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i] ?? 0) / 1000;
    const id = p.samples[i]!;
    sum += dt;
    const f = byId.get(id)!.callFrame;
    if (f.functionName === '(idle)') {
      idle += dt;
      continue;
    }
    const name = label(id);
    self.set(name, (self.get(name) ?? 0) + dt);
    const a = areaOf(f.url, f.functionName);
    area.set(a, (area.get(a) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = label(cur);
      if (seen.has(n)) continue;
      if (isProject(byId.get(cur)!.callFrame.url)) project.add(n);
      seen.add(n);
      total.set(n, (total.get(n) ?? 0) + dt);
    }
  }
  const busy = sum - idle || 1;
  const entry = (name: string): ProfileEntry => {
    const s = self.get(name) ?? 0;
    const t = total.get(name) ?? 0;
    return { name, selfMs: round(s), selfPct: round((100 * s) / busy), totalMs: round(t), totalPct: round((100 * t) / busy) };
  };
  const topSelf = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([n]) => entry(n));
  const topProjectTotal = [...total.entries()]
    .filter(([n]) => project.has(n))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([n]) => entry(n));
  const byArea = [...area.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([a, ms]) => ({ area: a, selfMs: round(ms), selfPct: round((100 * ms) / busy) }));
  return { file, sampledMs: round(sum), idlePct: round((100 * idle) / (sum || 1)), topSelf, topProjectTotal, byArea };
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

export function formatProfile(s: ProfileSummary, title: string): string {
  const lines = [`${title}: ${s.sampledMs} ms sampled, ${s.idlePct}% idle; % of busy time`];
  lines.push('  by area (self):');
  for (const a of s.byArea.slice(0, 10)) lines.push(`    ${a.selfPct.toFixed(1).padStart(5)}%  ${a.area}`);
  lines.push('  top self time:');
  for (const e of s.topSelf) lines.push(`    ${e.selfPct.toFixed(1).padStart(5)}%  ${e.name}`);
  lines.push('  project functions by total time (callees included):');
  for (const e of s.topProjectTotal) lines.push(`    ${e.totalPct.toFixed(1).padStart(5)}%  ${e.name}`);
  return lines.join('\n');
}

// `tsx bench/lib/profile-summary.ts <file.cpuprofile>...` prints the summary of each.
if (import.meta.url === `file://${process.argv[1]}`) {
  for (const f of process.argv.slice(2)) console.log(formatProfile(summarizeProfile(f, process.cwd()), f));
}
