/**
 * `npm run bench` (full, ~11 min) / `npm run bench -- --quick` (smoke, ~1 min).
 * Flags: --quick, --profile (CPU-profile the registry under each load afterwards), --tsx (run the
 * registry from src/ through tsx instead of the compiled build), --scales=1000,10000.
 * See bench/README.md for what each figure means.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { runAutomation, type AutomationResult } from './lib/automation.js';
import { type Client, dataBody, graphqlClient } from './lib/client.js';
import { type Figure, type LoadSpec, type LoadTiming, measure, measurePaired, median, mergeFigures } from './lib/load.js';
import {
  CEILING_READY, CPU_MEASURED, REGISTRY_READY, ROOT, type RegistryLauncher, type ServerChild, prepareRegistryLauncher, startChild, withBackground,
} from './lib/processes.js';
import { formatProfile, type ProfileSummary, summarizeProfile } from './lib/profile-summary.js';
import {
  AUDIT_EVENTS, COMPARE_VERSIONS, DEPLOYMENT_HISTORY, HELLO, MODEL_VERSIONS, PRODUCTION_MODEL, REGISTRY_STATS, SERVING_AT, VERIFY_AUDIT_LOG,
} from './lib/queries.js';
import { type EventsFigure, measureEvents } from './lib/events.js';
import { type WebhookFigure, measureWebhooks } from './lib/webhook-delivery.js';
import { fmt, figureRow, ratio, table } from './lib/report.js';
import { type AppendFigure, measureAuditAppends } from './lib/audit-appends.js';
import { type PullFigure, measurePullThroughput } from './lib/pull-throughput.js';
import { BIG_MODEL, SEED_ARTIFACT, type SeedStats, seedRegistry, verifySeed } from './lib/seed.js';
import { type TransferFigure, measureTransfer, transferRows } from './lib/transfer.js';
import { type MultipartFigure, measureMultipart, multipartRows } from './lib/multipart-upload.js';
import { startS3rver } from '../test/support/s3rver.js';
import { type ConsoleLoadFigure, measureConsoleLoad } from './lib/console-load.js';

// ---------------------------------------------------------------- settings

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const PROFILE = argv.includes('--profile');
const FORCE_TSX = argv.includes('--tsx');
/** Only the push/pull transfer figures (client and CLI's TypeScript client against curl). */
const TRANSFER_ONLY = argv.includes('--transfer');
/** Only the multipart figures (issue 16): one large upload through s3rver, one PUT against parts. */
const MULTIPART_ONLY = argv.includes('--multipart');
const scalesFlag = argv.find((a) => a.startsWith('--scales='));
/** A compiled registry entry to run instead of building src/ (A/B measurements of a product change). */
const REGISTRY_MAIN = argv.find((a) => a.startsWith('--registry='))?.slice('--registry='.length) ?? null;
const unknown = argv.filter((a) => !['--quick', '--profile', '--tsx', '--transfer', '--multipart'].includes(a) && !a.startsWith('--scales=') && !a.startsWith('--registry='));
if (unknown.length) {
  process.stderr.write(`unknown flag(s): ${unknown.join(' ')}\nusage: npm run bench [-- --quick] [--profile] [--tsx] [--transfer] [--multipart] [--scales=1000,10000] [--registry=path/to/main.js]\n`);
  process.exit(2);
}

const SCALES = scalesFlag ? scalesFlag.slice('--scales='.length).split(',').map(Number) : QUICK ? [1000] : [1000, 10_000, 100_000];
if (SCALES.some((s) => !Number.isInteger(s) || s < 100) || SCALES.some((s, i) => i > 0 && s <= SCALES[i - 1]!)) {
  process.stderr.write('--scales must be increasing integers of at least 100\n');
  process.exit(2);
}
const TIMING: LoadTiming = QUICK
  ? { roundSeconds: 1, warmupSeconds: 0.25, rounds: 2, maxRequestsPerSecond: 50_000 }
  : { roundSeconds: 5, warmupSeconds: 2, rounds: 3, maxRequestsPerSecond: 50_000 };
const SERVER_WARMUP = QUICK ? 0.25 : 1.5;
/**
 * Dashboards run in rounds alternating with their same-shape ceilings: twice the rounds of a
 * single load, so `--quick` gives each side 2 rounds of 0.75 s.
 */
const DASH_TIMING: LoadTiming = QUICK ? { ...TIMING, rounds: 2, roundSeconds: 0.75 } : TIMING;
const INFERENCE_CONNECTIONS = 32;
const DASHBOARD_CONNECTIONS = 8;
const AUTOMATION = QUICK
  ? { clients: 8, artifactBytes: 1024 * 1024, seconds: 1, aloneSeconds: 0.5, promoteSeconds: 0.75, maxOps: 2000, warmupOps: 1 }
  : { clients: 8, artifactBytes: 1024 * 1024, seconds: 10, aloneSeconds: 4, promoteSeconds: 5, maxOps: 5000, warmupOps: 2 };
const VERIFY_RUNS = QUICK ? 1 : 3;
/** Push and pull of one file through the TypeScript client, against curl of the same presigned URLs. */
const TRANSFER = QUICK ? { sizeBytes: 16 * 2 ** 20, rounds: 2 } : { sizeBytes: 256 * 2 ** 20, rounds: 3 };
/** One large upload through s3rver (issue 16): 1 GiB in full runs (128 parts of 8 MiB), 32 MiB past a 16 MiB threshold in quick ones. */
const MULTIPART = QUICK ? { sizeBytes: 32 * 2 ** 20, thresholdBytes: 16 * 2 ** 20 } : { sizeBytes: 2 ** 30, thresholdBytes: 64 * 2 ** 20 };
/** Seconds per audit-append load (1, 4 and 16 writers; SQLite, and MongoDB when MONGODB_URI is set). */
const AUDIT_APPEND_SECONDS = QUICK ? 0.5 : 5;
/** Registry events: subscriber counts, writers and seconds per load. */
const EVENT_SUBSCRIBERS = [1, 100] as const;
const EVENT_WRITERS = 8;
const EVENT_SECONDS = QUICK ? 1 : 5;
/** Pull throughput of the embedded store, encryption at rest on and off (its ceiling): artifact size, clients, rounds, seconds per round. */
const PULL = QUICK
  ? { bytes: 32 * 2 ** 20, connections: 2, rounds: 2, seconds: 1 }
  : { bytes: 256 * 2 ** 20, connections: 4, rounds: 3, seconds: 4 };
/** The console's first load in headless Chromium: rounds, each in a fresh browser profile. */
const CONSOLE_ROUNDS = QUICK ? 1 : 5;
/** Webhook delivery: webhooks per load (each one sender at a time, in sequence order). */
const WEBHOOK_COUNTS = QUICK ? ([1, 4] as const) : ([1, 10] as const);
/**
 * Full runs: the ceilings again at the end, and the two target ratios (GraphQL inference ÷ Apollo
 * shape, download ÷ node:http) from rounds alternating with their ceiling at every size. Ceiling
 * rows are the median of all their rounds.
 */
const CEILINGS_TWICE = !QUICK;
const PAIRED = !QUICK;

/** Prepared for access control: every request carries this admin token (harmless where auth is absent). */
const TOKEN = randomBytes(36).toString('base64url');
if (TOKEN.length !== 48) throw new Error('token length');

const BACKEND_VARS = ['MONGODB_URI', 'MONGODB_DB', 'S3_BUCKET', 'S3_ENDPOINT', 'S3_PUBLIC_ENDPOINT', 'S3_REGION', 'S3_PREFIX', 'S3_FORCE_PATH_STYLE', 'S3_SSE', 'S3_SSE_KMS_KEY_ID', 'S3_CREATE_BUCKET'];

// ---------------------------------------------------------------- state & output

const started = new Date();
const t0 = Date.now();
const children = new Set<ServerChild>();
const tempDirs: string[] = [];
const printed: string[] = [];
const notes: string[] = [];

function say(line = ''): void {
  printed.push(line);
  process.stdout.write(`${line}\n`);
}
function progress(line: string): void {
  process.stdout.write(`  · [${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
}

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

async function cleanup(): Promise<void> {
  await Promise.all([...children].map((c) => c.stop()));
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    process.stderr.write(`\n${sig}: stopping the servers and removing temporary data\n`);
    cleanup().finally(() => process.exit(130));
  });
}

/** The environment of the children: the caller's, minus the backend variables but those with a `keep` prefix. */
function childEnv(extra: Record<string, string>, keep: string[] = []): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && (!BACKEND_VARS.includes(k) || keep.some((p) => k.startsWith(p)))) env[k] = v;
  }
  return { ...env, ...extra };
}

async function startRegistry(
  launcher: RegistryLauncher, dataDir: string, opts: { nodeFlags?: string[]; keepBackends?: string[]; env?: Record<string, string> } = {},
): Promise<ServerChild> {
  const base = { PORT: '0', HOST: '127.0.0.1', REGISTRY_DATA_DIR: dataDir, LOG_LEVEL: 'warn', REGISTRY_ADMIN_TOKEN: TOKEN };
  const env = childEnv({ ...base, ...opts.env }, opts.keepBackends);
  const c = await startChild('registry', [...(opts.nodeFlags ?? []), ...launcher.args], env, REGISTRY_READY);
  children.add(c);
  return c;
}

async function stopChild(c: ServerChild): Promise<void> {
  await c.stop();
  children.delete(c);
}

async function startCeiling(name: string, file: string, args: string[], extraEnv: Record<string, string> = {}): Promise<ServerChild> {
  const c = await startChild(name, ['--import', 'tsx', join('bench', 'ceilings', file), ...args], childEnv(extraEnv), CEILING_READY);
  children.add(c);
  return c;
}

// ---------------------------------------------------------------- load specs

const auth = { authorization: `Bearer ${TOKEN}` };
const jsonHeaders = { 'content-type': 'application/json', ...auth };
const gqlBody = (query: string, variables?: Record<string, unknown>) => JSON.stringify(variables ? { query, variables } : { query });

function gqlSpec(key: string, title: string, url: string, query: string, variables: Record<string, unknown> | undefined, connections: number): LoadSpec {
  return { key, title, url, method: 'POST', headers: jsonHeaders, body: gqlBody(query, variables), connections, expectStatus: 200, verifyBody: dataBody };
}

function registrySpecs(base: string, model: string, label: string, artifact = SEED_ARTIFACT): Record<string, LoadSpec> {
  const g = `${base}/graphql`;
  const v = { modelName: model };
  return {
    productionModel: gqlSpec('productionModel', `${label} productionModel (GraphQL inference)`, g, PRODUCTION_MODEL, v, INFERENCE_CONNECTIONS),
    download: {
      key: 'download',
      title: `${label} GET …/production/artifacts/${artifact} → 302`,
      url: `${base}/v1/models/${model}/versions/production/artifacts/${artifact}`,
      method: 'GET',
      headers: auth,
      connections: INFERENCE_CONNECTIONS,
      expectStatus: 302,
    },
    modelVersions: gqlSpec('modelVersions', `${label} modelVersions(first: 50) + metrics, deployments`, g, MODEL_VERSIONS, v, DASHBOARD_CONNECTIONS),
    compareVersions: gqlSpec('compareVersions', `${label} compareVersions(first: 20)`, g, COMPARE_VERSIONS, v, DASHBOARD_CONNECTIONS),
    deploymentHistory: gqlSpec('deploymentHistory', `${label} deploymentHistory(first: 50)`, g, DEPLOYMENT_HISTORY, v, DASHBOARD_CONNECTIONS),
    auditEvents: gqlSpec('auditEvents', `${label} auditEvents(first: 50)`, g, AUDIT_EVENTS, undefined, DASHBOARD_CONNECTIONS),
    servingAt: gqlSpec('servingAt', `${label} servingAt(production, at)`, g, SERVING_AT, { ...v, at: SERVING_AT_INSTANT }, DASHBOARD_CONNECTIONS),
  };
}

/** An instant inside the seeded history (bench/lib/seed.ts stamps version i at 2024-01-01 + i × 30 s): servingAt descends to a middle leaf. */
const SERVING_AT_INSTANT = '2024-01-01T04:00:00.000Z';
const DASHBOARD_KEYS = ['modelVersions', 'compareVersions', 'deploymentHistory', 'auditEvents', 'servingAt'] as const;
const SCALE_KEYS = ['productionModel', 'download', ...DASHBOARD_KEYS] as const;

/** One request of each kind before the load: answers must be complete, the route must redirect. */
async function preflight(client: Client, model: string, artifact = SEED_ARTIFACT): Promise<{ shape: unknown; bytes: Record<string, number>; dashboards: Record<string, unknown> }> {
  const bytes: Record<string, number> = {};
  const dashboards: Record<string, unknown> = {};
  const pm = await client.gql(PRODUCTION_MODEL, { modelName: model });
  const v = pm.productionModel as { artifacts: { path: string; downloadUrl: { url: string } | null }[] } | null;
  if (!v || !v.artifacts.some((a) => a.path === artifact && a.downloadUrl)) throw new Error(`preflight: productionModel of ${model} has no downloadable ${artifact}: ${JSON.stringify(pm)}`);
  bytes.productionModel = JSON.stringify({ data: pm }).length;
  const res = await fetch(`${client.base}/v1/models/${model}/versions/production/artifacts/${artifact}`, { headers: auth, redirect: 'manual' });
  await res.arrayBuffer();
  if (res.status !== 302 || !res.headers.get('location')) throw new Error(`preflight: the download route answered ${res.status}, not 302 with a Location`);
  for (const [key, q] of [['modelVersions', MODEL_VERSIONS], ['compareVersions', COMPARE_VERSIONS], ['deploymentHistory', DEPLOYMENT_HISTORY], ['auditEvents', AUDIT_EVENTS]] as const) {
    const d = await client.gql(q, key === 'auditEvents' ? undefined : { modelName: model });
    bytes[key] = JSON.stringify({ data: d }).length;
    dashboards[key] = d[key];
  }
  const sa = await client.gql(SERVING_AT, { modelName: model, at: SERVING_AT_INSTANT });
  if (!(sa.servingAt as { id?: string } | null)?.id) throw new Error(`preflight: servingAt of ${model} at ${SERVING_AT_INSTANT} found no deployment: ${JSON.stringify(sa)}`);
  bytes.servingAt = JSON.stringify({ data: sa }).length;
  return { shape: pm.productionModel, bytes, dashboards };
}

/**
 * A fresh server is slow for its first few thousand requests (JIT tiers, SQLite page cache): before
 * any figure, every load runs for SERVER_WARMUP seconds, unrecorded. Each figure then has its own warm-up.
 */
async function warmServer(server: ServerChild, specs: Record<string, LoadSpec>): Promise<void> {
  for (const spec of Object.values(specs)) await measure(spec, server, { ...TIMING, warmupSeconds: 0, rounds: 1, roundSeconds: SERVER_WARMUP });
}

async function timeVerify(client: Client, server: ServerChild, runs: number) {
  const times: number[] = [];
  const cpu: number[] = [];
  let events = 0;
  for (let i = 0; i < runs; i++) {
    const c0 = server.cpuMs();
    const s = process.hrtime.bigint();
    const d = await client.gql(VERIFY_AUDIT_LOG);
    times.push(Number(process.hrtime.bigint() - s) / 1e6);
    const c1 = server.cpuMs();
    if (c0 !== null && c1 !== null) cpu.push(c1 - c0);
    if (!d.verifyAuditLog.valid) throw new Error(`verifyAuditLog: ${JSON.stringify(d.verifyAuditLog)}`);
    events = d.verifyAuditLog.eventsChecked as number;
  }
  const ms = median(times);
  return { events, runs, ms, msPer100k: (ms * 100_000) / events, cpuMs: cpu.length ? median(cpu) : null };
}

// ---------------------------------------------------------------- phases

interface ScaleResult {
  versions: number;
  seed: SeedStats;
  seedCheck: { valid: boolean; events: number; ms: number; versions: number };
  stats: unknown;
  responseBytes: Record<string, number>;
  figures: Record<string, Figure>;
  /** The ceilings measured in rounds alternating with productionModel (shape) and download (http). */
  paired: { shape: Figure; http: Figure } | null;
  /** Each dashboard query's same-shape ceiling at this size, measured in rounds alternating with it. */
  dashCeilings: Record<string, Figure>;
  verifyAuditLog: Awaited<ReturnType<typeof timeVerify>>;
}

interface BackendResult {
  name: string;
  measured: boolean;
  reason: string;
  figures?: Record<string, Figure>;
  automation?: AutomationResult;
}

const httpSpec = (c: ServerChild): LoadSpec => ({
  key: 'http', title: 'ceiling: bare node:http, 300-byte JSON', url: `${c.url}/`, method: 'GET', headers: auth, connections: INFERENCE_CONNECTIONS, expectStatus: 200,
});
const helloSpec = (c: ServerChild) => gqlSpec('hello', 'ceiling: bare Apollo { hello }', `${c.url}/`, HELLO, undefined, INFERENCE_CONNECTIONS);
/** A dashboard query sent to its same-shape ceiling (bare Apollo with the registry's schema, answering from memory). */
const dashCeilingSpec = (c: ServerChild, key: (typeof DASHBOARD_KEYS)[number], spec: LoadSpec): LoadSpec =>
  ({ ...spec, key: `${key}-ceiling`, title: `ceiling: bare Apollo, ${key} shape (memory)`, url: `${c.url}/` });
const shapeSpec = (c: ServerChild) =>
  gqlSpec('shape', 'ceiling: bare Apollo, productionModel shape (memory)', `${c.url}/`, PRODUCTION_MODEL, { modelName: BIG_MODEL }, INFERENCE_CONNECTIONS);

async function measureCeilings(c: { http: ServerChild; hello: ServerChild; shape: ServerChild }): Promise<Record<'http' | 'hello' | 'shape', Figure>> {
  progress('ceiling: bare node:http');
  const http = await measure(httpSpec(c.http), c.http, TIMING);
  progress('ceiling: bare Apollo { hello }');
  const hello = await measure(helloSpec(c.hello), c.hello, TIMING);
  progress('ceiling: bare Apollo, productionModel shape from memory');
  const shape = await measure(shapeSpec(c.shape), c.shape, TIMING);
  return { http, hello, shape };
}

/** Mongo and S3: measured when their variables are set and the app reads them. */
function backendPlan(): { name: string; vars: string[]; prefix: string; measured: boolean; reason: string }[] {
  let config = '';
  try {
    config = readFileSync(join(ROOT, 'src', 'config.ts'), 'utf8');
  } catch {
    /* no config: nothing is wired */
  }
  return [
    { name: 'MongoDB registry store', vars: ['MONGODB_URI'], prefix: 'MONGODB_' },
    { name: 'S3 artifact store', vars: ['S3_BUCKET'], prefix: 'S3_' },
  ].map(({ name, vars, prefix }) => {
    const v = vars[0]!;
    if (!process.env[v]) return { name, vars, prefix, measured: false, reason: `not measured: ${v} is not set` };
    if (!config.includes(v)) return { name, vars, prefix, measured: false, reason: `not measured: ${v} is set, but the app does not read it yet (src/config.ts has no ${v})` };
    return { name, vars, prefix, measured: true, reason: `measured with the ${prefix}* variables from the environment` };
  });
}

async function main(): Promise<void> {
  const cpuList = cpus();
  const gitCommit = (() => {
    try {
      return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      return null;
    }
  })();
  const dirty = (() => {
    try {
      return execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean).length;
    } catch {
      return null;
    }
  })();
  say(`Model registry benchmark (${QUICK ? 'quick smoke run' : 'full run'}), ${started.toISOString()}`);
  const loadStart = loadavg();
  say(`Machine: ${cpuList.length} × ${cpuList[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${platform()} ${release()}, Node ${process.version}; load average ${loadStart.map((x) => x.toFixed(2)).join(' ')}`);
  say(`The load generator (autocannon / fetch loops, this process) and each server (a child process) share these ${cpuList.length} cores:`);
  say('absolute numbers drift with whatever else runs; read the ratios to the ceilings measured in the same run.');
  say(`Source: git ${gitCommit ?? '?'}${dirty ? `, ${dirty} uncommitted change(s) under src/` : ''}.`);
  if (!CPU_MEASURED) notes.push('server CPU per request is not measured: /proc/<pid>/stat is unavailable on this system');

  const launcher: RegistryLauncher = REGISTRY_MAIN
    ? { kind: 'built', args: ['--enable-source-maps', REGISTRY_MAIN], note: `the given build ${REGISTRY_MAIN} (--registry)` }
    : prepareRegistryLauncher(FORCE_TSX);
  say(`Registry server: ${launcher.note}; LOG_LEVEL=warn; every request sends Authorization: Bearer <REGISTRY_ADMIN_TOKEN>.`);
  say(`Loads: ${TIMING.rounds} rounds of ${TIMING.roundSeconds} s (each capped at ${TIMING.roundSeconds * TIMING.maxRequestsPerSecond} requests) after ${TIMING.warmupSeconds} s of warm-up; medians of the rounds.`);
  say(`Each registry server first runs every load for ${SERVER_WARMUP} s, unrecorded (JIT, page cache).`);
  say();

  if (MULTIPART_ONLY) {
    const multipart = await multipartPhase(launcher);
    reportMultipart(multipart);
    const seconds = (Date.now() - t0) / 1000;
    const file = join(ROOT, 'bench', 'results', `${stamp(started)}-multipart${QUICK ? '-quick' : ''}.json`);
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(file, `${JSON.stringify({ schema: 1, mode: QUICK ? 'multipart-quick' : 'multipart', startedAt: started.toISOString(), durationSeconds: Math.round(seconds), source: { gitCommit, uncommittedChangesUnderSrc: dirty }, multipart, valid: multipart.errors.length === 0, table: printed.join('\n') }, null, 2)}\n`);
    say(`Done in ${Math.round(seconds)} s. Results: ${file.slice(ROOT.length + 1)}`);
    return;
  }

  if (TRANSFER_ONLY) {
    const transfer = await transferPhase(launcher);
    reportTransfer(transfer);
    const seconds = (Date.now() - t0) / 1000;
    const file = join(ROOT, 'bench', 'results', `${stamp(started)}-transfer${QUICK ? '-quick' : ''}.json`);
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(file, `${JSON.stringify({ schema: 1, mode: QUICK ? 'transfer-quick' : 'transfer', startedAt: started.toISOString(), durationSeconds: Math.round(seconds), source: { gitCommit, uncommittedChangesUnderSrc: dirty }, transfer, valid: transfer.errors.length === 0, table: printed.join('\n') }, null, 2)}\n`);
    say(`Done in ${Math.round(seconds)} s. Results: ${file.slice(ROOT.length + 1)}`);
    return;
  }

  // 1. The first registry, seeded to the first scale: its productionModel answer feeds the shape ceiling.
  const dataDir = tempDir('registry-bench-');
  const db = join(dataDir, 'registry.db');
  const scales: ScaleResult[] = [];
  let seeded = 0;
  let ceilingFigures: Record<'http' | 'hello' | 'shape', Figure> | null = null;
  let ceilingStart: Record<'http' | 'hello' | 'shape', Figure> | null = null;
  let ceilingEnd: Record<'http' | 'hello' | 'shape', Figure> | null = null;
  let ceilingProcs: { http: ServerChild; hello: ServerChild; shape: ServerChild } | null = null;

  for (const scale of SCALES) {
    progress(`seeding ${scale.toLocaleString('en-US')} versions (from ${seeded.toLocaleString('en-US')}) through SqliteRegistryStore`);
    const seed = await seedRegistry(db, seeded, scale);
    seeded = scale;
    progress(`seeded ${seed.versions} versions in ${(seed.ms / 1000).toFixed(1)} s (${Math.round(seed.versionsPerSecond)}/s); verifying the audit chain`);
    const seedCheck = await verifySeed(db);
    progress(`audit chain valid: ${seedCheck.events} events, ${seedCheck.versions} versions`);

    const server = await startRegistry(launcher, dataDir);
    const client = graphqlClient(server.url, TOKEN);
    const pre = await preflight(client, BIG_MODEL);
    const stats = (await client.gql(REGISTRY_STATS)).registryStats;

    if (!ceilingProcs) {
      progress('starting the ceilings');
      ceilingProcs = {
        http: await startCeiling('bare node:http', 'bare-http.ts', []),
        hello: await startCeiling('bare Apollo hello', 'bare-apollo.ts', ['hello']),
        shape: await startCeiling('bare Apollo shape', 'bare-apollo.ts', ['shape'], { BENCH_SHAPE_DATA: JSON.stringify(pre.shape) }),
      };
      for (const [spec, c] of [[httpSpec(ceilingProcs.http), ceilingProcs.http], [helloSpec(ceilingProcs.hello), ceilingProcs.hello], [shapeSpec(ceilingProcs.shape), ceilingProcs.shape]] as const) {
        await warmServer(c, { [spec.key]: spec });
      }
      ceilingStart = await measureCeilings(ceilingProcs);
    }

    const label = `${scale >= 1000 ? `${scale / 1000}k` : scale}:`;
    const specs = registrySpecs(server.url, BIG_MODEL, label);
    // The dashboards' same-shape ceiling: this size's own answers, served from memory (a file: too large for an env variable).
    const dashFile = join(tempDir('registry-bench-dash-'), 'answers.json');
    writeFileSync(dashFile, JSON.stringify(pre.dashboards));
    const dashCeiling = await startCeiling('bare Apollo dashboards', 'bare-apollo.ts', ['dashboard'], { BENCH_DASHBOARD_FILE: dashFile });
    const dashSpecs = Object.fromEntries(DASHBOARD_KEYS.map((k) => [k, dashCeilingSpec(dashCeiling, k, specs[k]!)]));
    if (!QUICK) await warmServer(dashCeiling, dashSpecs);
    const dashCeilings: Record<string, Figure> = {};
    await warmServer(server, specs);
    const figures: Record<string, Figure> = {};
    let pairedShape: Figure | null = null;
    let pairedHttp: Figure | null = null;
    for (const key of SCALE_KEYS) {
      progress(`${scale} versions: ${specs[key]!.title.slice(label.length + 1)}${(PAIRED && (key === 'productionModel' || key === 'download')) || (DASHBOARD_KEYS as readonly string[]).includes(key) ? ', alternating with its ceiling' : ''}`);
      if (PAIRED && key === 'productionModel') {
        const [f, c] = await measurePaired({ spec: specs[key]!, server }, { spec: shapeSpec(ceilingProcs.shape), server: ceilingProcs.shape }, TIMING);
        figures[key] = f;
        pairedShape = c;
      } else if (PAIRED && key === 'download') {
        const [f, c] = await measurePaired({ spec: specs[key]!, server }, { spec: httpSpec(ceilingProcs.http), server: ceilingProcs.http }, TIMING);
        figures[key] = f;
        pairedHttp = c;
      } else if ((DASHBOARD_KEYS as readonly string[]).includes(key)) {
        const [f, c] = await measurePaired({ spec: specs[key]!, server }, { spec: dashSpecs[key]!, server: dashCeiling }, DASH_TIMING);
        figures[key] = f;
        dashCeilings[key] = c;
      } else {
        figures[key] = await measure(specs[key]!, server, TIMING);
      }
    }
    await stopChild(dashCeiling);
    const paired = pairedShape && pairedHttp ? { shape: pairedShape, http: pairedHttp } : null;
    progress(`${scale} versions: verifyAuditLog ×${VERIFY_RUNS}`);
    const verify = await timeVerify(client, server, VERIFY_RUNS);
    await stopChild(server);
    scales.push({ versions: scale, seed, seedCheck, stats, responseBytes: pre.bytes, figures, paired, dashCeilings, verifyAuditLog: verify });
  }

  // 2. Automation on its own, empty registry.
  progress(`automation: ${AUTOMATION.clients} clients registering with ${AUTOMATION.artifactBytes / 2 ** 20} MiB uploads for ${AUTOMATION.seconds} s, then promoting for ${AUTOMATION.promoteSeconds} s`);
  const autoDir = tempDir('registry-bench-auto-');
  const autoServer = await startRegistry(launcher, autoDir);
  const { value: automation, backgroundPct: automationBackgroundPct } = await withBackground(autoServer, () =>
    runAutomation(graphqlClient(autoServer.url, TOKEN), autoServer, AUTOMATION));
  await stopChild(autoServer);
  rmSync(join(autoDir, 'artifacts'), { recursive: true, force: true });

  // 2b. Push and pull of one large file: the TypeScript client against curl of the same presigned URLs.
  const transfer = await transferPhase(launcher);

  // 3. Other backends, when configured.
  const backends: BackendResult[] = [];
  for (const plan of backendPlan()) {
    if (!plan.measured) {
      backends.push({ name: plan.name, measured: false, reason: plan.reason });
      continue;
    }
    progress(`${plan.name}: automation, inference and dashboards on a registry filled by the automation clients`);
    // Never into the configured database or key space itself: a database / key prefix of this run's own.
    const own = `registry_bench_${stamp(started).replace(/\W/g, '_')}`;
    const isolate: Record<string, string> = plan.prefix === 'MONGODB_'
      ? { MONGODB_DB: own }
      : { S3_PREFIX: [process.env.S3_PREFIX?.replace(/^\/+|\/+$/g, ''), own].filter(Boolean).join('/') };
    try {
      const dir = tempDir('registry-bench-backend-');
      if (plan.prefix === 'MONGODB_') {
        // With MongoDB the audit signing key must be named (replicas share it).
        isolate.REGISTRY_AUDIT_SIGNING_KEY_FILE = join(dir, 'audit-signing-key.pem');
        writeFileSync(isolate.REGISTRY_AUDIT_SIGNING_KEY_FILE, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      }
      const server = await startRegistry(launcher, dir, { keepBackends: [plan.prefix], env: isolate });
      const client = graphqlClient(server.url, TOKEN);
      const auto = await runAutomation(client, server, { ...AUTOMATION, seconds: Math.min(AUTOMATION.seconds, 5), promoteSeconds: Math.min(AUTOMATION.promoteSeconds, 3) });
      const model = 'bench-auto-0';
      await preflight(client, model, 'model.bin');
      const specs = registrySpecs(server.url, model, `${plan.vars[0]}:`, 'model.bin');
      await warmServer(server, specs);
      const figures: Record<string, Figure> = {};
      for (const key of SCALE_KEYS) figures[key] = await measure(specs[key]!, server, TIMING);
      await stopChild(server);
      backends.push({ name: plan.name, measured: true, reason: `${plan.reason}, in ${Object.entries(isolate).map(([k, v]) => `${k}=${v}`).join(' ')}`, figures, automation: auto });
    } catch (err) {
      const lines = (err as Error).message.split('\n').filter((l) => l.trim());
      const why = lines.find((l) => /Failed to start|Error:/.test(l)) ?? lines[0] ?? String(err);
      backends.push({ name: plan.name, measured: false, reason: `not measured: ${why.trim().slice(0, 300)}` });
    }
    if (plan.prefix === 'MONGODB_') {
      try {
        const { MongoClient } = await import('mongodb');
        const mongo = new MongoClient(process.env.MONGODB_URI!, { serverSelectionTimeoutMS: 5000 });
        await mongo.db(own).dropDatabase();
        await mongo.close();
      } catch (err) {
        notes.push(`could not drop the benchmark's MongoDB database ${own}: ${(err as Error).message}`);
      }
    } else {
      notes.push(`the S3 objects of this run stay under the prefix ${isolate.S3_PREFIX} of bucket ${process.env.S3_BUCKET}`);
    }
  }

  // 4. The ceilings again: drift over the run shows, and their figures are the median of all rounds.
  if (ceilingProcs && ceilingStart) {
    if (CEILINGS_TWICE) {
      progress('ceilings again (end of run)');
      ceilingEnd = await measureCeilings(ceilingProcs);
      const pairs = scales.flatMap((s) => (s.paired ? [s.paired] : []));
      ceilingFigures = {
        http: mergeFigures(ceilingStart.http, ...pairs.map((p) => p.http), ceilingEnd.http),
        hello: mergeFigures(ceilingStart.hello, ceilingEnd.hello),
        shape: mergeFigures(ceilingStart.shape, ...pairs.map((p) => p.shape), ceilingEnd.shape),
      };
    } else {
      ceilingFigures = ceilingStart;
    }
    for (const c of Object.values(ceilingProcs)) await stopChild(c);
  }
  if (!ceilingFigures) throw new Error('no ceilings were measured');

  // 5. Optional profiles of the registry under each load, at the largest scale.
  const profiles: { scenario: string; file: string; summary: ProfileSummary }[] = [];
  if (PROFILE) {
    const profDir = join(ROOT, 'bench', 'results', `profiles-${stamp(started)}`);
    mkdirSync(profDir, { recursive: true });
    const scenarios: [string, (server: ServerChild) => Promise<unknown>][] = [
      ...SCALE_KEYS.map((key): [string, (s: ServerChild) => Promise<unknown>] => [key, (s) => measure(registrySpecs(s.url, BIG_MODEL, 'profile')[key]!, s, { ...TIMING, rounds: 1 })]),
      ['registration', (s) => runAutomation(graphqlClient(s.url, TOKEN), s, { ...AUTOMATION, promoteSeconds: 1 })],
    ];
    for (const [scenario, run] of scenarios) {
      progress(`profiling the registry (${scenario}) with --cpu-prof`);
      const dir = join(profDir, scenario);
      const server = await startRegistry(launcher, scenario === 'registration' ? tempDir('registry-bench-prof-') : dataDir, {
        nodeFlags: ['--cpu-prof', '--cpu-prof-dir', dir],
      });
      await run(server);
      await stopChild(server);
      const file = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f))[0];
      if (file) profiles.push({ scenario, file, summary: summarizeProfile(file, ROOT, 15) });
    }
  }

  const auditAppends = await measureAuditAppends({ seconds: AUDIT_APPEND_SECONDS, mongoUri: process.env.MONGODB_URI || null, progress });

  // 6. Registry events: subscribers on the writing process and on a second process on the same SQLite file.
  const eventsDir = tempDir('registry-bench-events-');
  const eventsEnv = { env: { REGISTRY_MAX_WS_CONNECTIONS_PER_TOKEN: '0', REGISTRY_WEBHOOK_ALLOW_PRIVATE: 'true' } };
  const [writer, listener] = [await startRegistry(launcher, eventsDir, eventsEnv), await startRegistry(launcher, eventsDir, eventsEnv)];
  const events: EventsFigure[] = [];
  for (const subscribers of EVENT_SUBSCRIBERS) {
    for (const [path, listenUrl] of [['same process', writer.url], ['other process', listener.url]] as const) {
      progress(`registry events: ${subscribers} subscriber(s) on the ${path}, ${EVENT_WRITERS} writers for ${EVENT_SECONDS} s`);
      events.push(await measureEvents({ writeUrl: writer.url, listenUrl, token: TOKEN, path, subscribers, writers: EVENT_WRITERS, seconds: EVENT_SECONDS }));
    }
  }
  // 7. Webhook delivery from the writing process to a receiver on 127.0.0.1.
  const webhooks: WebhookFigure[] = [];
  for (const count of WEBHOOK_COUNTS) {
    progress(`webhooks: ${count} webhook(s), ${EVENT_WRITERS} writers for ${EVENT_SECONDS} s`);
    webhooks.push(await measureWebhooks({ writeUrl: writer.url, token: TOKEN, webhooks: count, writers: EVENT_WRITERS, seconds: EVENT_SECONDS }));
  }
  await stopChild(writer);
  await stopChild(listener);
  // 8. Pull throughput of the embedded store: encryption at rest (the default) against REGISTRY_ENCRYPTION=off.
  const [encrypted, plain] = [
    await startRegistry(launcher, tempDir('registry-bench-pull-enc-')),
    await startRegistry(launcher, tempDir('registry-bench-pull-plain-'), { env: { REGISTRY_ENCRYPTION: 'off' } }),
  ];
  const pulls = await measurePullThroughput({ encrypted, plain, token: TOKEN, ...PULL, progress });
  await stopChild(encrypted);
  await stopChild(plain);
  // 9. One large upload through s3rver: one PUT (curl, client) against multipart with 1 and 4 parts at a time.
  const multipart = await multipartPhase(launcher);
  // 10. The web console's first load in headless Chromium, on a registry of its own seeded through the API.
  const consoleServer = await startRegistry(launcher, tempDir('registry-bench-console-'));
  const consoleLoad = await measureConsoleLoad({ url: consoleServer.url, token: TOKEN, rounds: CONSOLE_ROUNDS, progress });
  await stopChild(consoleServer);
  report({ launcher, scales, ceilings: ceilingFigures, ceilingStart, ceilingEnd, automation, automationBackgroundPct, backends, profiles, gitCommit, dirty, loadStart, auditAppends, events, webhooks, transfer, pulls, multipart, consoleLoad });
}

/** A registry of its own (embedded store, local artifact directory) for the transfer figures. */
async function transferPhase(launcher: RegistryLauncher): Promise<TransferFigure> {
  progress(`transfer: push and pull of ${TRANSFER.sizeBytes / 2 ** 20} MiB, TypeScript client and curl, ${TRANSFER.rounds} rounds`);
  const dir = tempDir('registry-bench-transfer-');
  const server = await startRegistry(launcher, join(dir, 'data'));
  try {
    return await measureTransfer({ url: server.url, token: TOKEN, dir, ...TRANSFER, progress });
  } finally {
    await stopChild(server);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A registry of its own on S3 (s3rver, run in this process) for the multipart figures. */
async function multipartPhase(launcher: RegistryLauncher): Promise<MultipartFigure> {
  progress(`multipart: one ${MULTIPART.sizeBytes / 2 ** 20} MiB upload through s3rver: curl and client one PUT, client multipart with 1 and 4 parts at a time`);
  const dir = tempDir('registry-bench-multipart-');
  const s3 = await startS3rver('bench-multipart');
  const server = await startRegistry(launcher, join(dir, 'data'), {
    env: {
      S3_BUCKET: s3.bucket, S3_ENDPOINT: s3.endpoint, S3_FORCE_PATH_STYLE: 'true', S3_REGION: s3.region,
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED', AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
      REGISTRY_MULTIPART_THRESHOLD_BYTES: String(MULTIPART.thresholdBytes), REGISTRY_ASYNC_COMPLETION_BYTES: String(2 ** 40),
    },
  });
  try {
    return await measureMultipart({ url: server.url, token: TOKEN, dir, sizeBytes: MULTIPART.sizeBytes, progress });
  } finally {
    await stopChild(server);
    await s3.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function reportMultipart(m: MultipartFigure): void {
  say();
  say(`Multipart (issue 16): one ${m.sizeMiB} MiB upload through s3rver (run in the benchmark process, which also runs the client); one upload each, in the order listed`);
  say(table(['figure', 'MiB/s', '÷ curl'], multipartRows(m)));
  say(`Completion of the 4-part upload (CompleteMultipartUpload, copy to a private key, read-back of every byte, copy to the final key): ${m.completeSeconds.toFixed(1)} s, ${m.completeStatus}.`);
  for (const e of m.errors) say(`(!) multipart error: ${e}`);
}

const transferTarget = (t: TransferFigure): Target => {
  const x = ratio(t.clientPull, t.curlGet);
  return { name: 'pull with the TypeScript client', goal: '≥ 0.80 × curl GET of the same presigned URL (MiB/s)', value: x === null ? 'not measured' : `${x.toFixed(2)} (${t.clientPull.toFixed(0)} vs ${t.curlGet.toFixed(0)} MiB/s, ${t.sizeMiB} MiB)`, pass: x === null ? null : x >= 0.8 };
};

function reportTransfer(t: TransferFigure): void {
  say();
  say(`Transfer: one ${t.sizeMiB} MiB file, embedded store (the registry serves its own signed URLs); medians of ${t.rounds} rounds, client and curl alternating`);
  say(table(['figure', 'MiB/s', '÷ curl', 'CPU ms/MiB'], transferRows(t)));
  say('CPU ms/MiB: user + system time of curl, or of the benchmark process (the client), per MiB moved; the client also hashes every byte.');
  for (const e of t.errors) say(`(!) transfer error: ${e}`);
  const target = transferTarget(t);
  say(`${target.pass === null ? 'n/a' : target.pass ? 'PASS' : 'MISS'}  ${target.name}: ${target.goal}; measured ${target.value}`);
}

// ---------------------------------------------------------------- report

interface Target {
  name: string;
  goal: string;
  value: string;
  pass: boolean | null;
}

function stamp(d: Date): string {
  return d.toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
}

function report(r: {
  launcher: RegistryLauncher;
  scales: ScaleResult[];
  ceilings: Record<'http' | 'hello' | 'shape', Figure>;
  ceilingStart: Record<'http' | 'hello' | 'shape', Figure> | null;
  ceilingEnd: Record<'http' | 'hello' | 'shape', Figure> | null;
  automation: AutomationResult;
  automationBackgroundPct: number | null;
  backends: BackendResult[];
  profiles: { scenario: string; file: string; summary: ProfileSummary }[];
  gitCommit: string | null;
  dirty: number | null;
  loadStart: number[];
  auditAppends: AppendFigure[];
  events: EventsFigure[];
  webhooks: WebhookFigure[];
  transfer: TransferFigure;
  pulls: PullFigure[];
  multipart: MultipartFigure;
  consoleLoad: ConsoleLoadFigure;
}): void {
  const { ceilings: c, scales } = r;
  const head = ['figure', 'conns', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'other CPU %', 'RSS MiB', '÷ node:http', '÷ apollo{hello}', '÷ apollo(shape)'];
  const rows: (string | number)[][] = [];
  rows.push(figureRow(c.http, [c.http, c.hello]));
  rows.push(figureRow(c.hello, [c.http, c.hello]));
  rows.push(figureRow(c.shape, [c.http, c.hello], c.shape));
  for (const s of scales) {
    for (const key of SCALE_KEYS) {
      const f = s.figures[key]!;
      rows.push(figureRow(f, [c.http, c.hello], key === 'productionModel' ? c.shape : undefined));
    }
  }
  for (const b of r.backends) if (b.figures) for (const key of SCALE_KEYS) rows.push(figureRow(b.figures[key]!, [c.http, c.hello], key === 'productionModel' ? c.shape : undefined));

  say();
  say('Throughput and latency. req/s, p50, p99: medians of the rounds. CPU µs/req: the server process\'s user+system time per request.');
  say('other CPU %: share of both cores used by other processes during the rounds (noise). ÷ columns: req/s over the ceiling\'s req/s.');
  say(table(head, rows));
  if (r.ceilingStart && r.ceilingEnd) {
    const drift = (k: 'http' | 'hello' | 'shape') => `${k} ${fmt.rps(r.ceilingStart![k].rps)} → ${fmt.rps(r.ceilingEnd![k].rps)} req/s`;
    say(`Ceiling drift over the run (start → end): ${drift('http')}; ${drift('hello')}; ${drift('shape')}.`);
    say('Ceiling rows: the median of all their rounds (start, end and, for http and shape, those alternating with the registry at each size).');
  }
  say('RSS MiB: the server process\'s resident set size at the end of the load (for a size\'s registry: after every load before it at that size).');
  const problems = [...Object.values(c), ...scales.flatMap((s) => [...Object.values(s.figures), ...Object.values(s.dashCeilings)])].filter((f) => f.problems.length);
  for (const f of problems) say(`(!) ${f.title}: ${f.problems.join('; ')}`);

  // Dashboards against their same-shape ceilings.
  say();
  say('Dashboards against their same-shape ceilings: bare Apollo with the registry\'s schema answering the same query with the registry\'s own');
  say('answer at that size from memory, in rounds alternating with the registry. ÷: registry over ceiling (req/s; CPU: ceiling µs ÷ registry µs).');
  const dRows: (string | number)[][] = [];
  for (const sc of scales) {
    for (const key of DASHBOARD_KEYS) {
      const f = sc.figures[key]!;
      const ce = sc.dashCeilings[key]!;
      dRows.push([
        sc.versions.toLocaleString('en-US'), key, fmt.rps(f.rps), fmt.rps(ce.rps), fmt.ratio(ratio(f.rps, ce.rps)),
        fmt.us(f.cpuUsPerReq), fmt.us(ce.cpuUsPerReq), fmt.ratio(ratio(ce.cpuUsPerReq, f.cpuUsPerReq)), f.rssMiB === null ? '-' : Math.round(f.rssMiB),
      ]);
    }
  }
  say(table(['versions', 'query', 'req/s', 'ceiling req/s', '÷ ceiling', 'CPU µs/req', 'ceiling µs/req', '÷ (CPU)', 'RSS MiB'], dRows, 2));

  // Scale curve.
  const first = scales[0]!;
  const last = scales[scales.length - 1]!;
  if (scales.length > 0) {
    say();
    say(`Scale: p50 ms (req/s) as the registry grows; "${BIG_MODEL}" holds half the versions, the rest are in models of 50`);
    const sHead = ['query', ...scales.map((s) => `${s.versions.toLocaleString('en-US')} v / ${s.seedCheck.events.toLocaleString('en-US')} ev`), `p50 ×(last/first)`, 'CPU ×(last/first)'];
    const sRows = SCALE_KEYS.map((key) => [
      key,
      ...scales.map((s) => `${fmt.ms(s.figures[key]!.p50)} (${fmt.rps(s.figures[key]!.rps)})`),
      fmt.ratio(ratio(last.figures[key]!.p50, first.figures[key]!.p50)),
      fmt.ratio(ratio(last.figures[key]!.cpuUsPerReq, first.figures[key]!.cpuUsPerReq)),
    ]);
    for (const [key, which, name] of [['productionModel', 'shape', 'productionModel ÷ apollo(shape)'], ['download', 'http', 'download ÷ node:http']] as const) {
      const at = (sc: ScaleResult) => ratio(sc.figures[key]!.rps, (sc.paired?.[which] ?? c[which]).rps);
      sRows.push([`${name}${PAIRED ? ' (alternating)' : ''}`, ...scales.map((sc) => fmt.ratio(at(sc))), '', '']);
    }
    sRows.push([
      'verifyAuditLog ms',
      ...scales.map((s) => `${fmt.ms(s.verifyAuditLog.ms)} (${fmt.ms(s.verifyAuditLog.msPer100k)}/100k ev)`),
      fmt.ratio(ratio(last.verifyAuditLog.ms, first.verifyAuditLog.ms)),
      fmt.ratio(ratio(last.verifyAuditLog.cpuMs, first.verifyAuditLog.cpuMs)),
    ]);
    say(table(sHead, sRows));
    say(`Seeding (SqliteRegistryStore port methods, synchronous=OFF, 500 calls per commit): ${scales.map((s) => `${s.seed.versions.toLocaleString('en-US')} versions in ${(s.seed.ms / 1000).toFixed(1)} s`).join('; ')}; every chain verified afterwards.`);
  }

  // Automation.
  const a = r.automation;
  const stepCpu = (k: 'register' | 'upload' | 'complete') => (a.aloneCpuMsPerStep ? `(${a.aloneCpuMsPerStep[k].toFixed(2)} alone)` : '');
  say();
  say(`Automation: ${a.clients} concurrent clients (fetch), each on its own model; a registration = register + PUT ${a.artifactBytes / 2 ** 20} MiB + complete`);
  say(table(
    ['operation', 'count', 'per second', 'p50 ms', 'p99 ms', 'server CPU ms/op', '÷ apollo{hello} req/s'],
    [
      ['registration (1 MiB)', a.registration.count, a.registration.perSecond.toFixed(1), fmt.ms(a.registration.p50), fmt.ms(a.registration.p99), fmt.ratio(a.registration.cpuMsPerOp), ratio(a.registration.perSecond, c.hello.rps)?.toFixed(4) ?? '-'],
      ['  register mutation', '', '', fmt.ms(a.steps.register.p50), fmt.ms(a.steps.register.p99), stepCpu('register'), ''],
      ['  PUT 1 MiB upload', '', '', fmt.ms(a.steps.upload.p50), fmt.ms(a.steps.upload.p99), stepCpu('upload'), ''],
      ['  complete (sha256)', '', '', fmt.ms(a.steps.complete.p50), fmt.ms(a.steps.complete.p99), stepCpu('complete'), ''],
      [`registration, 1 client alone`, a.registrationAlone.count, a.registrationAlone.perSecond.toFixed(1), fmt.ms(a.registrationAlone.p50), fmt.ms(a.registrationAlone.p99), fmt.ratio(a.registrationAlone.cpuMsPerOp), ''],
      ['promote', a.promote.count, a.promote.perSecond.toFixed(1), fmt.ms(a.promote.p50), fmt.ms(a.promote.p99), fmt.ratio(a.promote.cpuMsPerOp), ratio(a.promote.perSecond, c.hello.rps)?.toFixed(4) ?? '-'],
    ],
  ));
  if (r.automationBackgroundPct !== null) say(`Other processes used ${r.automationBackgroundPct.toFixed(0)} % of the cores during the automation phase.`);
  for (const e of [...a.registration.errors, ...a.registrationAlone.errors, ...a.promote.errors]) say(`(!) automation error: ${e}`);

  reportTransfer(r.transfer);
  reportMultipart(r.multipart);

  // Backends.
  say();
  say('Stores: embedded (SQLite file + local artifact directory) measured above.');
  for (const b of r.backends) {
    say(`${b.name}: ${b.reason}`);
    const x = b.automation;
    if (x) {
      say(`  automation: ${x.registration.perSecond.toFixed(1)} registrations/s with ${x.clients} clients, p50 ${fmt.ms(x.registration.p50)} ms, p99 ${fmt.ms(x.registration.p99)} ms ` +
        `(register ${fmt.ms(x.steps.register.p50)}, upload ${fmt.ms(x.steps.upload.p50)}, complete ${fmt.ms(x.steps.complete.p50)} ms p50; ` +
        `${fmt.ratio(x.registration.cpuMsPerOp)} ms registry CPU each); alone p50 ${fmt.ms(x.registrationAlone.p50)} ms; promote p50 ${fmt.ms(x.promote.p50)} ms, p99 ${fmt.ms(x.promote.p99)} ms`);
      for (const e of [...x.registration.errors, ...x.promote.errors]) say(`  (!) ${e}`);
    }
  }

  // Targets.
  const targets: Target[] = [];
  // Judged on req/s at the worst scale; the CPU-per-request ratio (ceiling CPU / registry CPU) is
  // printed beside it because it drifts less than throughput on a shared machine.
  // Each size's ratio uses the ceiling rounds that alternated with it (full runs), else the run's ceiling.
  const worst = (key: string, which: 'shape' | 'http') => scales.reduce<{ s: ScaleResult; v: number; cpu: number | null } | null>((w, s) => {
    const ceiling = s.paired?.[which] ?? c[which];
    const v = ratio(s.figures[key]!.rps, ceiling.rps) ?? Number.NaN;
    return w === null || v < w.v ? { s, v, cpu: ratio(ceiling.cpuUsPerReq, s.figures[key]!.cpuUsPerReq) } : w;
  }, null)!;
  const how = PAIRED ? 'rounds alternating with the ceiling' : 'the run\'s ceiling';
  const gq = worst('productionModel', 'shape');
  targets.push({
    name: 'GraphQL inference hot path', goal: '≥ 0.90 × bare Apollo serving the same shape from memory (req/s)',
    value: `${gq.v.toFixed(2)} at ${gq.s.versions} versions, ${how} (by CPU/req: ${fmt.ratio(gq.cpu)})`, pass: gq.v >= 0.9,
  });
  const dl = worst('download', 'http');
  targets.push({
    name: 'HTTP download route (302)', goal: '≥ 0.50 × bare node:http (req/s)',
    value: `${dl.v.toFixed(2)} at ${dl.s.versions} versions, ${how} (by CPU/req: ${fmt.ratio(dl.cpu)})`, pass: dl.v >= 0.5,
  });
  for (const key of DASHBOARD_KEYS) {
    const lo = scales.find((s) => s.versions === 1000) ?? first;
    const hi = scales.find((s) => s.versions === 100_000) ?? null;
    const x = hi ? ratio(hi.figures[key]!.cpuUsPerReq, lo.figures[key]!.cpuUsPerReq) : null;
    const p = hi ? ratio(hi.figures[key]!.p50, lo.figures[key]!.p50) : null;
    targets.push({
      name: `${key} flat with size`,
      goal: 'CPU/req at 100k versions ≤ 1.2 × at 1k',
      value: x === null ? `not evaluated (no 100k scale in this run)`
        : `${x.toFixed(2)} (${fmt.us(lo.figures[key]!.cpuUsPerReq)} → ${fmt.us(hi!.figures[key]!.cpuUsPerReq)} µs; p50 ×${fmt.ratio(p)})`,
      pass: x === null ? null : x <= 1.2,
    });
    const r = hi ? ratio(hi.figures[key]!.rps, hi.dashCeilings[key]!.rps) : null;
    targets.push({
      name: `${key} vs its same-shape ceiling`,
      goal: '≥ 0.60 × bare Apollo serving the same answer from memory, at 100k versions (req/s)',
      value: r === null
        ? `not evaluated (no 100k scale in this run; at ${last.versions}: ${fmt.ratio(ratio(last.figures[key]!.rps, last.dashCeilings[key]!.rps))})`
        : `${r.toFixed(2)} (by CPU/req: ${fmt.ratio(ratio(hi!.dashCeilings[key]!.cpuUsPerReq, hi!.figures[key]!.cpuUsPerReq))})`,
      pass: r === null ? null : r >= 0.6,
    });
  }
  targets.push(transferTarget(r.transfer));
  targets.push({ name: 'registration with 1 MiB upload', goal: 'p50 < 50 ms (embedded store)', value: `${fmt.ms(a.registration.p50)} ms`, pass: a.registration.p50 < 50 });
  const invalid = problems.length > 0 || a.registration.errors.length > 0 || a.promote.errors.length > 0
    || r.auditAppends.some((f) => f.errors.length > 0 || !f.chainValid)
    || r.events.some((f) => f.errors.length > 0 || f.broken > 0)
    || r.webhooks.some((f) => f.errors.length > 0 || f.broken > 0)
    || r.transfer.errors.length > 0
    || r.multipart.errors.length > 0
    || r.pulls.some((f) => f.errors.length > 0);
  say();
  say('Targets');
  say(table(['', 'target', 'goal', 'measured'], targets.map((t) => [t.pass === null ? 'n/a' : t.pass ? 'PASS' : 'MISS', t.name, t.goal, t.value]), 4));
  if (invalid) say('(!) Some loads had wrong statuses, errors or failed body checks: see the lines marked (!) above.');
  say();
  say('Audit appends (one chain for the registry; each writer a process with its own store; chain verified after each load)');
  say(table(['engine', 'writers', 'appends/s', 'p50 ms', 'p99 ms', 'chain'], r.auditAppends.map((f) => [
    f.engine + (f.errors.length ? `  (!) ${f.errors[0]}` : ''), f.writers, fmt.rps(f.perSecond), fmt.ms(f.p50Ms), fmt.ms(f.p99Ms), f.chainValid ? 'valid' : 'INVALID',
  ])));
  if (!process.env.MONGODB_URI) say('MongoDB: not measured (MONGODB_URI is not set).');
  say();
  say(`Registry events (graphql-ws): ${EVENT_WRITERS} writers send updateModel (one event each) to one process; subscribers on it (woken by its writes) or on a second process on the same SQLite file (found by polling every 250 ms)`);
  say('events/s: received by the slowest subscriber over the load; latency: from the event\'s occurredAt (just before its commit) to its arrival, every delivery.');
  say(table(['subscribers on', 'subscribers', 'events', 'events/s', 'p50 ms', 'p99 ms', 'in order, none missed'], r.events.map((f) => [
    f.path + (f.errors.length ? `  (!) ${f.errors[0]}` : ''), f.subscribers, f.events, fmt.rps(f.perSecond), fmt.ms(f.p50Ms), fmt.ms(f.p99Ms), f.broken === 0 ? 'yes' : `NO (${f.broken})`,
  ])));
  say();
  say(`Webhook delivery: ${EVENT_WRITERS} writers send updateModel to one process; its delivery worker POSTs each event to every webhook (a receiver on 127.0.0.1 in the bench process), one request at a time per webhook`);
  say('events/s: delivered to the slowest webhook over the load; latency: from the event\'s occurredAt (just before its commit) to its arrival, every delivery.');
  say(table(['webhooks', 'events', 'events/s', 'p50 ms', 'p99 ms', 'in order, none missed'], r.webhooks.map((f) => [
    String(f.webhooks) + (f.errors.length ? `  (!) ${f.errors[0]}` : ''), f.events, fmt.rps(f.perSecond), fmt.ms(f.p50Ms), fmt.ms(f.p99Ms), f.broken === 0 ? 'yes' : `NO (${f.broken})`,
  ])));
  say();
  const [pullOn, pullOff] = [r.pulls.find((f) => f.encryption === 'on')!, r.pulls.find((f) => f.encryption === 'off')!];
  say(`Pull throughput, embedded store: one ${PULL.bytes / 2 ** 20} MiB artifact downloaded by ${PULL.connections} clients (302 route, then the bytes), ${PULL.rounds} rounds of ${PULL.seconds} s alternating between the two servers;`);
  say('ranges/s: 1 MiB Range requests at random offsets. off = REGISTRY_ENCRYPTION=off, the ceiling (not for production).');
  say(table(['encryption at rest', 'MiB/s', 'server CPU ms/MiB', 'ranges/s', '÷ off (MiB/s)'], r.pulls.map((f) => [
    f.encryption + (f.errors.length ? `  (!) ${f.errors[0]}` : ''), f.mibPerSecond.toFixed(0), f.cpuMsPerMiB === null ? 'n/a' : f.cpuMsPerMiB.toFixed(2),
    f.rangesPerSecond.toFixed(0), (f.mibPerSecond / pullOff.mibPerSecond).toFixed(2),
  ])));
  say(`Encryption at rest costs ${((1 - pullOn.mibPerSecond / pullOff.mibPerSecond) * 100).toFixed(0)} % of pull throughput in this run.`);
  say();
  const cl = r.consoleLoad;
  if (cl.skipped) say(`Console first load: NOT MEASURED (${cl.skipped}).`);
  else {
    say(`Console first load (/ui in headless Chromium, a fresh profile each round, medians of ${cl.rounds} rounds; ceiling: the same fresh browser loading /healthz)`);
    say(table(['figure', 'value', '÷ ceiling'], [
      ['bytes transferred (headers included)', `${(cl.bytes / 1024).toFixed(1)} KiB in ${cl.requests} responses`, ''],
      ['time to the models list, cold', fmt.ms(cl.msToModelsList), (cl.msToModelsList / cl.msBareLoad).toFixed(1)],
      ['time to the models list, reload (assets cached)', fmt.ms(cl.warmMsToModelsList), (cl.warmMsToModelsList / cl.msBareLoad).toFixed(1)],
      ['ceiling: fresh browser, GET /healthz', fmt.ms(cl.msBareLoad), '1.0'],
    ]));
  }
  for (const n of notes) say(`Note: ${n}`);
  say(`Load average at the start: ${r.loadStart.map((x) => x.toFixed(2)).join(' ')}; at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}.`);

  for (const p of r.profiles) {
    say();
    say(formatProfile(p.summary, `Profile (${p.scenario}) ${p.file.slice(ROOT.length + 1)}`));
  }

  const seconds = (Date.now() - t0) / 1000;
  say();
  say(`Done in ${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s.`);

  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${stamp(started)}${QUICK ? '-quick' : ''}.json`);
  const json = {
    schema: 1,
    mode: QUICK ? 'quick' : 'full',
    startedAt: started.toISOString(),
    durationSeconds: Math.round(seconds),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, memoryGiB: Math.round(totalmem() / 2 ** 30), platform: `${platform()} ${release()}`, node: process.version },
    sharedCores: 'the load generator (this process) and the servers (child processes) share the machine\'s cores',
    source: { gitCommit: r.gitCommit, uncommittedChangesUnderSrc: r.dirty },
    registry: { launcher: r.launcher.note, env: 'PORT=0 HOST=127.0.0.1 LOG_LEVEL=warn REGISTRY_ADMIN_TOKEN=<48 chars>' },
    settings: { timing: TIMING, inferenceConnections: INFERENCE_CONNECTIONS, dashboardConnections: DASHBOARD_CONNECTIONS, automation: AUTOMATION, verifyRuns: VERIFY_RUNS, scales: SCALES },
    units: { rps: 'requests per second', p50: 'ms', p99: 'ms', cpuUsPerReq: 'µs of server CPU per request' },
    ceilings: { median: r.ceilings, start: r.ceilingStart, end: r.ceilingEnd },
    scales: r.scales,
    automation: r.automation,
    backends: r.backends,
    auditAppends: r.auditAppends,
    events: r.events,
    webhooks: r.webhooks,
    transfer: r.transfer,
    multipart: r.multipart,
    pulls: r.pulls,
    consoleLoad: r.consoleLoad,
    targets,
    valid: !invalid,
    notes,
    profiles: r.profiles.map((p) => ({ scenario: p.scenario, file: p.file.slice(ROOT.length + 1), summary: p.summary })),
    table: printed.join('\n'),
  };
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  process.stdout.write(`Results: ${file.slice(ROOT.length + 1)}\n`);
}

main()
  .catch(async (err: unknown) => {
    process.stderr.write(`\nbenchmark failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await cleanup();
  });
