import { createHash, randomBytes } from 'node:crypto';
import type { Client } from './client.js';
import { percentile } from './load.js';
import type { ServerChild } from './processes.js';
import { COMPLETE, PROMOTE, REGISTER } from './queries.js';

export interface OpStats {
  count: number;
  /** Operations per second over the phase's wall time (all clients together). */
  perSecond: number;
  p50: number;
  p99: number;
  mean: number;
  /** Server CPU per operation, ms. */
  cpuMsPerOp: number | null;
  errors: string[];
}

export interface AutomationResult {
  clients: number;
  artifactBytes: number;
  /** register + PUT 1 MiB + complete, end to end, `clients` at once. */
  registration: OpStats;
  /** The same with one client at a time: the latency without queueing behind the other clients. */
  registrationAlone: OpStats;
  /** Server CPU per step of a registration, ms, from the one-client phase (steps do not overlap there). */
  aloneCpuMsPerStep: { register: number; upload: number; complete: number } | null;
  /** The three steps of a registration, p50/p99 ms. */
  steps: { register: { p50: number; p99: number }; upload: { p50: number; p99: number }; complete: { p50: number; p99: number } };
  promote: OpStats;
}

interface Upload {
  path: string;
  upload: { url: string; method: string; headers: { name: string; value: string }[] };
}

const ms = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e6;

function stats(lat: number[], seconds: number, cpuMs: number | null, errors: string[]): OpStats {
  const s = [...lat].sort((a, b) => a - b);
  return {
    count: s.length,
    perSecond: seconds > 0 ? s.length / seconds : 0,
    p50: percentile(s, 0.5),
    p99: percentile(s, 0.99),
    mean: s.length ? s.reduce((a, b) => a + b, 0) / s.length : Number.NaN,
    cpuMsPerOp: cpuMs !== null && s.length ? cpuMs / s.length : null,
    errors: [...new Set(errors)].slice(0, 5),
  };
}

/**
 * Automation: `clients` concurrent loops (fetch), each on its own model, registering versions with
 * one artifact of `artifactBytes` (register → PUT the bytes to the presigned URL → complete), for
 * `seconds` or until `maxOps` registrations; then promoting their READY versions to production in
 * turn (each promotion moves the pointer) for `promoteSeconds` or `maxOps` promotions.
 */
export async function runAutomation(
  client: Client,
  server: ServerChild,
  opts: { clients: number; artifactBytes: number; seconds: number; aloneSeconds: number; promoteSeconds: number; maxOps: number; warmupOps: number },
): Promise<AutomationResult> {
  const files = Array.from({ length: opts.clients }, () => {
    const bytes = randomBytes(opts.artifactBytes);
    return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
  });
  const origin = new URL(client.base).origin;
  const registered: string[][] = files.map(() => []);
  const total: number[] = [];
  const register: number[] = [];
  const upload: number[] = [];
  const complete: number[] = [];
  const errors: string[] = [];

  // Only with one client: the server's CPU between the steps belongs to that step.
  let stepCpu: [number, number, number] | null = null;
  const cpuMark = () => (stepCpu ? server.cpuMs() : null);
  const registerOne = async (c: number, record: boolean): Promise<void> => {
    const file = files[c]!;
    const k0 = cpuMark();
    const t0 = process.hrtime.bigint();
    const data = await client.gql(REGISTER, {
      input: {
        modelName: `bench-auto-${c}`,
        modelType: 'gradient_boosting',
        datasetVersion: 'ds-bench',
        metrics: [{ name: 'roc_auc', value: 0.8 + Math.random() / 10 }, { name: 'accuracy', value: 0.9 }],
        hyperparameters: { n_estimators: 200, max_depth: 6 },
        featureNames: ['f1', 'f2', 'f3'],
        tags: ['bench'],
        artifacts: [{ path: 'model.bin', sizeBytes: file.bytes.length, sha256: file.sha256 }],
      },
    });
    const t1 = process.hrtime.bigint();
    const k1 = cpuMark();
    const { version, uploads } = data.registerModelVersion as { version: { id: string }; uploads: Upload[] };
    for (const u of uploads) {
      const headers: Record<string, string> = Object.fromEntries(u.upload.headers.map((h) => [h.name, h.value]));
      // The bearer token goes to the registry only; a presigned storage URL carries its own authorization.
      if (new URL(u.upload.url).origin === origin) headers.authorization = client.headers.authorization!;
      const res = await fetch(u.upload.url, { method: u.upload.method, headers, body: file.bytes });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`upload: HTTP ${res.status}`);
    }
    const t2 = process.hrtime.bigint();
    const k2 = cpuMark();
    const done = await client.gql(COMPLETE, { id: version.id });
    if (done.completeModelVersionUpload.status !== 'READY') throw new Error(`complete: ${JSON.stringify(done.completeModelVersionUpload)}`);
    const t3 = process.hrtime.bigint();
    const k3 = cpuMark();
    if (stepCpu && k0 !== null && k1 !== null && k2 !== null && k3 !== null) {
      stepCpu[0] += k1 - k0;
      stepCpu[1] += k2 - k1;
      stepCpu[2] += k3 - k2;
    }
    registered[c]!.push(version.id);
    if (!record) return;
    register.push(Number(t1 - t0) / 1e6);
    upload.push(Number(t2 - t1) / 1e6);
    complete.push(Number(t3 - t2) / 1e6);
    total.push(Number(t3 - t0) / 1e6);
  };

  // Warm-up: a few registrations per client, not recorded (JIT, first model creation, directories).
  await Promise.all(files.map(async (_f, c) => {
    for (let i = 0; i < opts.warmupOps; i++) await registerOne(c, false);
  }));

  const loop = async (deadline: number, op: (c: number) => Promise<void>, count: () => number, clients = files.length) =>
    Promise.all(files.slice(0, clients).map(async (_f, c) => {
      while (Date.now() < deadline && count() < opts.maxOps) {
        try {
          await op(c);
        } catch (err) {
          errors.push((err as Error).message.slice(0, 200));
          if (errors.length > 50) return;
        }
      }
    }));

  let cpu0 = server.cpuMs();
  let t = process.hrtime.bigint();
  await loop(Date.now() + opts.seconds * 1000, (c) => registerOne(c, true), () => total.length);
  const regSeconds = ms(t) / 1000;
  let cpu1 = server.cpuMs();
  const registration = stats(total, regSeconds, cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null, errors.splice(0));
  const steps = { register: pp(register), upload: pp(upload), complete: pp(complete) };

  for (const xs of [total, register, upload, complete]) xs.length = 0;
  stepCpu = [0, 0, 0];
  cpu0 = server.cpuMs();
  t = process.hrtime.bigint();
  await loop(Date.now() + opts.aloneSeconds * 1000, (c) => registerOne(c, true), () => total.length, 1);
  cpu1 = server.cpuMs();
  const registrationAlone = stats(total, ms(t) / 1000, cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null, errors.splice(0));
  const n = total.length;
  const aloneCpuMsPerStep = server.cpuMs() !== null && n > 0 ? { register: stepCpu[0] / n, upload: stepCpu[1] / n, complete: stepCpu[2] / n } : null;
  stepCpu = null;

  const promotions: number[] = [];
  const next = files.map(() => 0);
  const promoteOne = async (c: number) => {
    const ids = registered[c]!;
    if (ids.length < 2) throw new Error(`client ${c} has fewer than 2 versions to promote in turn`);
    const id = ids[next[c]!++ % ids.length]!;
    const t0 = process.hrtime.bigint();
    const data = await client.gql(PROMOTE, { versionId: id });
    promotions.push(ms(t0));
    if (data.promoteModelVersion.status !== 'SUCCEEDED') throw new Error(`promote: ${JSON.stringify(data.promoteModelVersion)}`);
  };
  cpu0 = server.cpuMs();
  t = process.hrtime.bigint();
  await loop(Date.now() + opts.promoteSeconds * 1000, promoteOne, () => promotions.length);
  const promoteSeconds = ms(t) / 1000;
  cpu1 = server.cpuMs();
  const promote = stats(promotions, promoteSeconds, cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null, errors.splice(0));

  return { clients: opts.clients, artifactBytes: opts.artifactBytes, registration, registrationAlone, aloneCpuMsPerStep, steps, promote };
}

function pp(xs: number[]): { p50: number; p99: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: percentile(s, 0.5), p99: percentile(s, 0.99) };
}
