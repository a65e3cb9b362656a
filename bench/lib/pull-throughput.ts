/**
 * Pull throughput of the embedded artifact store, with encryption at rest (the default) and
 * without (REGISTRY_ENCRYPTION=off, the ceiling: the same server and route with no cipher): one
 * artifact of `bytes` bytes published on each registry, then downloaded over and over by
 * `connections` concurrent clients through `/v1/models/.../artifacts/<path>` (302 to the signed
 * URL, then the bytes). Rounds alternate between the two servers, so drift on a shared machine
 * hits both sides of the ratio alike. Every round's first download is checked against the sha256.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ServerChild } from './processes.js';

export interface PullFigure {
  encryption: 'on' | 'off';
  bytes: number;
  connections: number;
  /** Medians of the rounds. */
  mibPerSecond: number;
  /** Server CPU (user + system) per MiB sent, ms; null where /proc is missing. */
  cpuMsPerMiB: number | null;
  /** Range requests of 1 MiB at random offsets, per second (median of the rounds). */
  rangesPerSecond: number;
  errors: string[];
}

const MODEL = 'pull-bench';
const PATH = 'weights.bin';

async function gql(url: string, token: string, query: string, variables?: Record<string, unknown>): Promise<any> {
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data: any; errors?: { message: string }[] };
  if (body.errors) throw new Error(body.errors[0]!.message);
  return body.data;
}

/** Registers, uploads and completes one version holding `bytes`; returns the artifact's route. */
async function publish(url: string, token: string, bytes: Buffer): Promise<string> {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const data = await gql(url, token, `mutation($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { version { id } uploads { upload { url headers { name value } } } } }`, {
    input: { modelName: MODEL, modelType: 'bench', datasetVersion: 'd1', metrics: [{ name: 'auc', value: 0.5 }], artifacts: [{ path: PATH, sizeBytes: bytes.length, sha256 }] },
  });
  const { version, uploads } = data.registerModelVersion as { version: { id: string }; uploads: { upload: { url: string; headers: { name: string; value: string }[] } }[] };
  const up = uploads[0]!.upload;
  const res = await fetch(up.url, { method: 'PUT', body: bytes, headers: Object.fromEntries(up.headers.map((h) => [h.name, h.value])) });
  if (!res.ok) throw new Error(`upload answered ${res.status}`);
  const done = await gql(url, token, `mutation($id: ID!) { completeModelVersionUpload(versionId: $id) { status } }`, { id: version.id });
  if (done.completeModelVersionUpload.status !== 'READY') throw new Error(`version not READY: ${JSON.stringify(done)}`);
  return `${url}/v1/models/${MODEL}/versions/${version.id}/artifacts/${PATH}`;
}

/** Downloads until `seconds` pass; returns the bytes received. The first download is hashed and checked. */
async function pullFor(route: string, token: string, seconds: number, connections: number, sha256: string, size: number, range: boolean, errors: string[]): Promise<{ bytes: number; requests: number }> {
  const end = Date.now() + seconds * 1000;
  let bytes = 0;
  let requests = 0;
  let checked = false;
  const worker = async (): Promise<void> => {
    while (Date.now() < end) {
      const start = range ? Math.floor(Math.random() * (size - 2 ** 20)) : 0;
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      if (range) headers.range = `bytes=${start}-${start + 2 ** 20 - 1}`;
      const res = await fetch(route, { headers });
      if (res.status !== (range ? 206 : 200)) {
        errors.push(`download answered ${res.status}`);
        await res.arrayBuffer().catch(() => null);
        return;
      }
      if (!checked && !range) {
        checked = true;
        const body = Buffer.from(await res.arrayBuffer());
        if (createHash('sha256').update(body).digest('hex') !== sha256) errors.push('a download did not match the sha256');
        bytes += body.length;
      } else {
        for await (const chunk of res.body!) bytes += (chunk as Uint8Array).length;
      }
      requests++;
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  return { bytes, requests };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.floor(s.length / 2)]!;
};

export async function measurePullThroughput(opts: {
  encrypted: ServerChild; plain: ServerChild; token: string; bytes: number; connections: number; rounds: number; seconds: number;
  progress: (what: string) => void;
}): Promise<PullFigure[]> {
  const body = randomBytes(opts.bytes);
  const sha256 = createHash('sha256').update(body).digest('hex');
  const sides = [
    { encryption: 'on' as const, server: opts.encrypted, rates: [] as number[], cpu: [] as number[], ranges: [] as number[], errors: [] as string[], route: '' },
    { encryption: 'off' as const, server: opts.plain, rates: [] as number[], cpu: [] as number[], ranges: [] as number[], errors: [] as string[], route: '' },
  ];
  for (const s of sides) s.route = await publish(s.server.url, opts.token, body);
  // Warm-up (unrecorded): JIT and page cache on both sides.
  for (const s of sides) await pullFor(s.route, opts.token, Math.min(1, opts.seconds), opts.connections, sha256, opts.bytes, false, s.errors);
  for (let round = 0; round < opts.rounds; round++) {
    for (const s of round % 2 === 0 ? sides : [...sides].reverse()) {
      opts.progress(`pull throughput: encryption ${s.encryption}, round ${round + 1}/${opts.rounds}`);
      const cpu0 = s.server.cpuMs();
      const t0 = performance.now();
      const got = await pullFor(s.route, opts.token, opts.seconds, opts.connections, sha256, opts.bytes, false, s.errors);
      const elapsed = (performance.now() - t0) / 1000;
      const cpu1 = s.server.cpuMs();
      const mib = got.bytes / 2 ** 20;
      s.rates.push(mib / elapsed);
      if (cpu0 !== null && cpu1 !== null && mib > 0) s.cpu.push((cpu1 - cpu0) / mib);
      const r0 = performance.now();
      const ranged = await pullFor(s.route, opts.token, opts.seconds / 2, opts.connections, sha256, opts.bytes, true, s.errors);
      s.ranges.push(ranged.requests / ((performance.now() - r0) / 1000));
    }
  }
  return sides.map((s) => ({
    encryption: s.encryption, bytes: opts.bytes, connections: opts.connections, mibPerSecond: median(s.rates),
    cpuMsPerMiB: s.cpu.length ? median(s.cpu) : null, rangesPerSecond: median(s.ranges), errors: [...new Set(s.errors)],
  }));
}
