/**
 * A/B comparison of two compiled registries (e.g. before and after a product change) on the same
 * seeded data, with their rounds interleaved (A, B, A, B, …) so drift on a shared machine hits both.
 *
 *   npx tsx bench/ab.ts --a=path/to/before/main.js --b=path/to/after/main.js \
 *     [--scale=100000 | --scale-a=100000 --scale-b=1000] [--loads=productionModel,download,auditEvents] [--rounds=5] [--seconds=4] [--warmup=4] [--verbose]
 *     [--env-a=LOG_LEVEL=info --env-b=LOG_LEVEL=warn]   (settings for one side: the same build with and without its access log)
 *
 * Loads: productionModel, download, modelVersions, compareVersions, deploymentHistory, auditEvents,
 * verifyAuditLog, registration (8 clients: register, PUT 1 MiB, complete; `--upload-mib=N` for another size). The seeded registry is kept in bench/.ab-data/<scale> and reused by later runs.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAutomation } from './lib/automation.js';
import { dataBody, graphqlClient } from './lib/client.js';
import { type LoadSpec, type RoundResult, median, runLoad } from './lib/load.js';
import { REGISTRY_READY, ROOT, type ServerChild, startChild } from './lib/processes.js';
import { AUDIT_EVENTS, COMPARE_VERSIONS, DEPLOYMENT_HISTORY, MODEL_VERSIONS, PRODUCTION_MODEL, VERIFY_AUDIT_LOG } from './lib/queries.js';
import { fmt, table } from './lib/report.js';
import { BIG_MODEL, SEED_ARTIFACT, seedRegistry, verifySeed } from './lib/seed.js';

const arg = (name: string, fallback?: string): string => {
  const v = process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
  if (v === undefined) {
    process.stderr.write(`--${name}=… is required\n`);
    process.exit(2);
  }
  return v;
};
const A = arg('a');
const B = arg('b');
const SCALE = Number(arg('scale', '100000'));
/** Each side may have its own registry size: the same build at two sizes measures flatness. */
const SCALES = [Number(arg('scale-a', String(SCALE))), Number(arg('scale-b', String(SCALE)))] as const;
const LOADS = arg('loads', 'productionModel,download,modelVersions,compareVersions,deploymentHistory,auditEvents').split(',');
const ROUNDS = Number(arg('rounds', '5'));
const SECONDS = Number(arg('seconds', '4'));
const WARMUP = Number(arg('warmup', '4'));
const VERBOSE = process.argv.includes('--verbose');
const TOKEN = randomBytes(36).toString('base64url');
/** `--env-a=K=V,K2=V2`: settings for one side only (after the defaults below). */
const sideEnv = (side: 'a' | 'b'): Record<string, string> =>
  Object.fromEntries(arg(`env-${side}`, '').split(',').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));

async function main(): Promise<void> {
  for (const scale of [...new Set(SCALES)]) {
    const seeded = join(ROOT, 'bench', '.ab-data', String(scale));
    if (!existsSync(join(seeded, 'registry.db'))) {
      mkdirSync(seeded, { recursive: true });
      process.stdout.write(`seeding ${scale} versions into ${seeded} …\n`);
      await seedRegistry(join(seeded, 'registry.db'), 0, scale);
      await verifySeed(join(seeded, 'registry.db'));
    }
  }
  // Each side gets its own copy: a build that migrates the schema must not change the other's data.
  const dirs = SCALES.map((scale) => {
    const d = mkdtempSync(join(tmpdir(), 'registry-ab-'));
    cpSync(join(ROOT, 'bench', '.ab-data', String(scale)), d, { recursive: true });
    return d;
  });
  const servers: ServerChild[] = [];
  try {
    for (const [i, main] of [A, B].entries()) {
      const env = { ...process.env, PORT: '0', HOST: '127.0.0.1', REGISTRY_DATA_DIR: dirs[i]!, LOG_LEVEL: 'warn', REGISTRY_ADMIN_TOKEN: TOKEN } as Record<string, string>;
      for (const k of Object.keys(env)) if (k.startsWith('MONGODB_') || k.startsWith('S3_')) delete env[k]; // the embedded store
      Object.assign(env, sideEnv(i === 0 ? 'a' : 'b'));
      servers.push(await startChild(i === 0 ? 'A' : 'B', ['--enable-source-maps', main], env, REGISTRY_READY));
    }
    const rows: (string | number)[][] = [];
    for (const load of LOADS) {
      const results: RoundResult[][] = [[], []];
      if (load === 'verifyAuditLog') {
        const times: number[][] = [[], []];
        for (let r = 0; r < ROUNDS; r++) {
          for (const [i, s] of servers.entries()) {
            const t = process.hrtime.bigint();
            const d = await graphqlClient(s.url, TOKEN).gql(VERIFY_AUDIT_LOG);
            if (!d.verifyAuditLog.valid) throw new Error('invalid chain');
            times[i]!.push(Number(process.hrtime.bigint() - t) / 1e6);
          }
        }
        const [a, b] = times.map(median) as [number, number];
        rows.push([load, '', '', '', fmt.ms(a), fmt.ms(b), (b / a).toFixed(2), '', '', '']);
        continue;
      }
      if (load === 'registration') {
        rows.push(await registrationRow(servers));
        continue;
      }
      const specs = servers.map((s) => spec(load, s.url));
      for (const [i, s] of servers.entries()) await runLoad(specs[i]!, WARMUP, WARMUP * 50_000, s); // warm-up, not recorded
      for (let r = 0; r < ROUNDS; r++) {
        for (const [i, s] of servers.entries()) {
          const x = await runLoad(specs[i]!, SECONDS, SECONDS * 50_000, s);
          results[i]!.push(x);
          if (VERBOSE) process.stdout.write(`    ${load} ${i ? 'B' : 'A'} round ${r + 1}: ${fmt.rps(x.rps)} req/s, p50 ${fmt.ms(x.p50)} ms, ${fmt.us(x.cpuUsPerReq)} µs/req, other CPU ${x.backgroundPct?.toFixed(0) ?? '-'} %\n`);
        }
      }
      const m = (i: number, f: (x: RoundResult) => number | null) => median(results[i]!.map(f).filter((x): x is number => x !== null));
      const bad = results.flat().filter((r) => Object.keys(r.statusCodes).some((c) => Number(c) !== specs[0]!.expectStatus) || r.errors || r.mismatches);
      rows.push([
        load + (bad.length ? ' (!)' : ''),
        fmt.rps(m(0, (x) => x.rps)), fmt.rps(m(1, (x) => x.rps)), (m(1, (x) => x.rps) / m(0, (x) => x.rps)).toFixed(2),
        fmt.ms(m(0, (x) => x.p50)), fmt.ms(m(1, (x) => x.p50)), (m(1, (x) => x.p50) / m(0, (x) => x.p50)).toFixed(2),
        fmt.us(m(0, (x) => x.cpuUsPerReq)), fmt.us(m(1, (x) => x.cpuUsPerReq)), (m(1, (x) => x.cpuUsPerReq) / m(0, (x) => x.cpuUsPerReq)).toFixed(2),
      ]);
      process.stdout.write(`  · ${load} done\n`);
    }
    console.log(`\nA = ${A} on ${SCALES[0]} versions ${JSON.stringify(sideEnv('a'))}\nB = ${B} on ${SCALES[1]} versions ${JSON.stringify(sideEnv('b'))}\n${ROUNDS} interleaved rounds of ${SECONDS} s per side after ${WARMUP} s of warm-up; medians\n`);
    console.log(table(['load', 'A req/s', 'B req/s', 'B/A', 'A p50 ms', 'B p50 ms', 'B/A', 'A CPU µs/req', 'B CPU µs/req', 'B/A'], rows));
  } finally {
    for (const s of servers) await s.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

/** Registrations on each side in interleaved rounds: req/s, p50 of the whole and of its completion step, server CPU per registration. */
async function registrationRow(servers: ServerChild[]): Promise<(string | number)[]> {
  const bytes = Number(arg('upload-mib', '1')) * 2 ** 20;
  const runs: { perSecond: number; p50: number; complete: number; cpu: number | null }[][] = [[], []];
  for (let r = 0; r < ROUNDS + 1; r++) {
    for (const [i, s] of servers.entries()) {
      const a = await runAutomation(graphqlClient(s.url, TOKEN), s, { clients: 8, artifactBytes: bytes, seconds: SECONDS, aloneSeconds: 0, promoteSeconds: 0, maxOps: 100_000, warmupOps: r === 0 ? 3 : 0 });
      if (a.registration.errors.length) throw new Error(`registration on ${i ? 'B' : 'A'}: ${a.registration.errors[0]}`);
      if (r === 0) continue; // warm-up round
      runs[i]!.push({ perSecond: a.registration.perSecond, p50: a.registration.p50, complete: a.steps.complete.p50, cpu: a.registration.cpuMsPerOp });
      if (VERBOSE) process.stdout.write(`    registration ${i ? 'B' : 'A'} round ${r}: ${a.registration.perSecond.toFixed(1)}/s, p50 ${fmt.ms(a.registration.p50)} ms (complete ${fmt.ms(a.steps.complete.p50)} ms)\n`);
    }
  }
  const m = (i: number, f: (x: (typeof runs)[0][0]) => number | null) => median(runs[i]!.map(f).filter((x): x is number => x !== null));
  process.stdout.write(`  · registration done (complete step p50: A ${fmt.ms(m(0, (x) => x.complete))} ms, B ${fmt.ms(m(1, (x) => x.complete))} ms)\n`);
  return [
    `registration (${bytes / 2 ** 20} MiB)`,
    m(0, (x) => x.perSecond).toFixed(1), m(1, (x) => x.perSecond).toFixed(1), (m(1, (x) => x.perSecond) / m(0, (x) => x.perSecond)).toFixed(2),
    fmt.ms(m(0, (x) => x.p50)), fmt.ms(m(1, (x) => x.p50)), (m(1, (x) => x.p50) / m(0, (x) => x.p50)).toFixed(2),
    `${fmt.ratio(m(0, (x) => x.cpu))} ms`, `${fmt.ratio(m(1, (x) => x.cpu))} ms`, (m(1, (x) => x.cpu) / m(0, (x) => x.cpu)).toFixed(2),
  ];
}

function spec(load: string, base: string): LoadSpec {
  const auth = { authorization: `Bearer ${TOKEN}` };
  const gql = (query: string, variables: Record<string, unknown> | undefined, connections: number): LoadSpec => ({
    key: load, title: load, url: `${base}/graphql`, method: 'POST', headers: { 'content-type': 'application/json', ...auth },
    body: JSON.stringify(variables ? { query, variables } : { query }), connections, expectStatus: 200, verifyBody: dataBody,
  });
  const v = { modelName: BIG_MODEL };
  switch (load) {
    case 'productionModel': return gql(PRODUCTION_MODEL, v, 32);
    case 'download':
      return { key: load, title: load, url: `${base}/v1/models/${BIG_MODEL}/versions/production/artifacts/${SEED_ARTIFACT}`, method: 'GET', headers: auth, connections: 32, expectStatus: 302 };
    case 'modelVersions': return gql(MODEL_VERSIONS, v, 8);
    case 'compareVersions': return gql(COMPARE_VERSIONS, v, 8);
    case 'deploymentHistory': return gql(DEPLOYMENT_HISTORY, v, 8);
    case 'auditEvents': return gql(AUDIT_EVENTS, undefined, 8);
    default: throw new Error(`unknown load ${load}`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
