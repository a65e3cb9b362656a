import autocannon from 'autocannon';
import { type ServerChild, withBackground } from './processes.js';

/** One HTTP load: what autocannon sends and what every answer must look like. */
export interface LoadSpec {
  /** Short name, used as the key in the JSON result. */
  key: string;
  title: string;
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  connections: number;
  /** Every response must have this status (302 for the download route: autocannon does not follow redirects). */
  expectStatus: number;
  /** Checked on every response body (cheap: GraphQL answers must start with `{"data":{`). */
  verifyBody?: (body: string) => boolean;
}

export interface LoadTiming {
  /** Seconds of each measured round; the load stops at this time or at the request cap, whichever is first. */
  roundSeconds: number;
  warmupSeconds: number;
  rounds: number;
  /** The request cap of a round is roundSeconds × this (and at least `connections`). */
  maxRequestsPerSecond: number;
}

export interface RoundResult {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  mean: number;
  /** Server CPU time (user + system, all threads) per request, µs; null where /proc is unavailable. */
  cpuUsPerReq: number | null;
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
  mismatches: number;
  /** CPU used by other processes during the round, % of all cores (tick resolution: ±1-2 %). */
  backgroundPct: number | null;
}

export interface Figure {
  key: string;
  title: string;
  connections: number;
  /** Medians over the rounds. */
  rps: number;
  p50: number;
  p99: number;
  cpuUsPerReq: number | null;
  /** Median CPU share of other processes during the rounds (%); high values mean the figure is noisy. */
  backgroundPct: number | null;
  rounds: RoundResult[];
  /** Wrong statuses, errors, body mismatches: a figure with problems is not valid. */
  problems: string[];
  /** The server's resident set size (MiB) at the end of the load; null where /proc is unavailable. */
  rssMiB: number | null;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i]!;
}

/** One bounded autocannon run against `spec`; latency is recorded per response with hrtime precision. */
export async function runLoad(spec: LoadSpec, seconds: number, maxRequests: number, server: ServerChild | null): Promise<RoundResult> {
  const { value, backgroundPct } = await withBackground(server, () => autocannonRound(spec, seconds, maxRequests, server));
  return { ...value, backgroundPct };
}

function autocannonRound(spec: LoadSpec, seconds: number, maxRequests: number, server: ServerChild | null): Promise<Omit<RoundResult, 'backgroundPct'>> {
  return new Promise((resolve, reject) => {
    let lat = new Float64Array(65536);
    let n = 0;
    let last = 0n;
    const cpu0 = server?.cpuMs() ?? null;
    const start = process.hrtime.bigint();
    const instance = autocannon(
      {
        url: spec.url,
        method: spec.method,
        headers: spec.headers,
        body: spec.body,
        connections: spec.connections,
        pipelining: 1,
        duration: seconds,
        maxOverallRequests: Math.max(spec.connections, Math.round(maxRequests)),
        timeout: 30,
        // autocannon ends a run at its next sample tick: sample often so a round ends on time.
        sampleInt: 100,
        verifyBody: spec.verifyBody,
      },
      (err, result) => {
        if (err) return reject(err);
        const cpu1 = server?.cpuMs() ?? null;
        const elapsed = Number(last - start) / 1e9;
        const sorted = lat.subarray(0, n).sort();
        let sum = 0;
        for (let i = 0; i < n; i++) sum += sorted[i]!;
        const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([k, v]) => [k, v.count]));
        resolve({
          requests: n,
          seconds: elapsed,
          rps: n > 0 && elapsed > 0 ? n / elapsed : 0,
          p50: percentile(sorted, 0.5),
          p99: percentile(sorted, 0.99),
          mean: n ? sum / n : Number.NaN,
          cpuUsPerReq: cpu0 !== null && cpu1 !== null && n > 0 ? ((cpu1 - cpu0) * 1000) / n : null,
          statusCodes,
          errors: result.errors,
          timeouts: result.timeouts,
          mismatches: result.mismatches,
        });
      },
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      if (n === lat.length) {
        const grown = new Float64Array(lat.length * 2);
        grown.set(lat);
        lat = grown;
      }
      lat[n++] = responseTime;
      last = process.hrtime.bigint();
    });
  });
}

function problemsOf(spec: LoadSpec, r: RoundResult): string[] {
  const out: string[] = [];
  const wrong = Object.entries(r.statusCodes).filter(([code]) => Number(code) !== spec.expectStatus);
  if (wrong.length) out.push(`statuses other than ${spec.expectStatus}: ${wrong.map(([c, k]) => `${c}×${k}`).join(', ')}`);
  if (r.errors) out.push(`${r.errors} connection errors (${r.timeouts} timeouts)`);
  if (r.mismatches) out.push(`${r.mismatches} bodies failed the check`);
  if (r.requests === 0) out.push('no response');
  return out;
}

/** Warm-up (not recorded), then `rounds` measured rounds; medians of rps, p50, p99 and CPU per request. */
export async function measure(spec: LoadSpec, server: ServerChild | null, t: LoadTiming): Promise<Figure> {
  const cap = (s: number) => Math.max(spec.connections, s * t.maxRequestsPerSecond);
  if (t.warmupSeconds > 0) await runLoad(spec, t.warmupSeconds, cap(t.warmupSeconds), server);
  const rounds: RoundResult[] = [];
  for (let i = 0; i < t.rounds; i++) rounds.push(await runLoad(spec, t.roundSeconds, cap(t.roundSeconds), server));
  return figureOf(spec, rounds, server?.rssMiB() ?? null);
}

function medianOrNull(xs: (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? median(v) : null;
}

/** Merges the rounds of two measurements of the same target (the ceilings at the start and the end of a run). */
export function mergeFigures(...figures: Figure[]): Figure {
  const first = figures[0]!;
  const rss = figures.map((x) => x.rssMiB).filter((x): x is number => x !== null);
  const f = figureOf({ key: first.key, title: first.title, connections: first.connections } as LoadSpec, figures.flatMap((x) => x.rounds), rss.length ? Math.max(...rss) : null);
  return { ...f, problems: [...new Set(figures.flatMap((x) => x.problems))] };
}

/**
 * Two loads measured in alternating rounds (a, b, a, b, …) after both warm up, so that drift on a
 * shared machine hits both alike: for ratios that are targets (registry ÷ its ceiling).
 */
export async function measurePaired(
  a: { spec: LoadSpec; server: ServerChild | null },
  b: { spec: LoadSpec; server: ServerChild | null },
  t: LoadTiming,
): Promise<[Figure, Figure]> {
  const cap = (spec: LoadSpec, s: number) => Math.max(spec.connections, s * t.maxRequestsPerSecond);
  for (const x of [a, b]) if (t.warmupSeconds > 0) await runLoad(x.spec, t.warmupSeconds, cap(x.spec, t.warmupSeconds), x.server);
  const rounds: [RoundResult[], RoundResult[]] = [[], []];
  for (let i = 0; i < t.rounds; i++) {
    for (const [k, x] of [a, b].entries()) rounds[k]!.push(await runLoad(x.spec, t.roundSeconds, cap(x.spec, t.roundSeconds), x.server));
  }
  return [figureOf(a.spec, rounds[0], a.server?.rssMiB() ?? null), figureOf(b.spec, rounds[1], b.server?.rssMiB() ?? null)];
}

function figureOf(spec: LoadSpec, rounds: RoundResult[], rssMiB: number | null = null): Figure {
  const cpus = rounds.map((r) => r.cpuUsPerReq).filter((c): c is number => c !== null);
  return {
    key: spec.key,
    title: spec.title,
    connections: spec.connections,
    rps: median(rounds.map((r) => r.rps)),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    cpuUsPerReq: cpus.length ? median(cpus) : null,
    backgroundPct: medianOrNull(rounds.map((r) => r.backgroundPct)),
    rounds,
    problems: [...new Set(rounds.flatMap((r) => problemsOf(spec, r)))],
    rssMiB,
  };
}
