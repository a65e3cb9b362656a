import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RegistryClient } from '../../src/client/index.js';
import { RegisterModelVersionDocument } from '../../src/client/generated/graphql.js';
import { median } from './load.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;

export interface TransferFigure {
  sizeMiB: number;
  rounds: number;
  /** Medians of the rounds, MiB/s. */
  curlPut: number;
  clientUpload: number;
  /** hash + register + upload + complete (the server reads the file back), end to end. */
  clientPush: number;
  curlGet: number;
  /** manifest + download with SHA-256 while streaming + rename. */
  clientPull: number;
  /** CPU time per MiB moved (user + system, all threads), medians: what the client spends beside curl. */
  cpuMsPerMiB: { curlPut: number; clientUpload: number; curlGet: number; clientPull: number };
  perRound: { curlPut: number; clientUpload: number; clientPush: number; curlGet: number; clientPull: number; cpu: TransferFigure['cpuMsPerMiB'] }[];
  errors: string[];
}

/** A file of `bytes` random bytes and its SHA-256 (also the multipart phase's). */
export async function makeFile(file: string, bytes: number): Promise<{ sha256: string }> {
  const hash = createHash('sha256');
  const out = createWriteStream(file);
  for (let left = bytes; left > 0; left -= 4 * MiB) {
    const chunk = randomBytes(Math.min(4 * MiB, left));
    hash.update(chunk);
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return { sha256: hash.digest('hex') };
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * curl of a presigned URL, its answer written to `out`: seconds (curl's own time_total) and curl's
 * CPU time (user + system, from the shell's `times` after it).
 */
async function curl(out: string, args: string[]): Promise<{ seconds: number; cpuMs: number }> {
  const { stdout } = await run('bash', ['-c', 'curl "$@" && times', 'bash', '-sS', '--fail', '-o', out, '-w', '%{time_total}\\n', ...args], { maxBuffer: MiB });
  const [total, , children] = stdout.trim().split('\n');
  const [user, sys] = (children ?? '').trim().split(/\s+/).map((t) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(t);
    return m ? Number(m[1]) * 60_000 + Number(m[2]) * 1000 : Number.NaN;
  });
  return { seconds: Number(total), cpuMs: user! + sys! };
}

/**
 * Push and pull of one file through the TypeScript client against curl of the same presigned URLs,
 * in alternating order per round. Each round: register a version (key K) and PUT its file with
 * curl; push the same inputs with the client under K (the registration replays with fresh URLs of
 * the same upload, and the client uploads it again and completes it); then GET the manifest's URL
 * with curl into a file and pull the version with the client.
 */
export async function measureTransfer(o: { url: string; token: string; dir: string; sizeBytes: number; rounds: number; progress: (s: string) => void }): Promise<TransferFigure> {
  const client = new RegistryClient({ url: o.url, token: o.token });
  const file = join(o.dir, 'artifact.bin');
  const { sha256 } = await makeFile(file, o.sizeBytes);
  const mib = o.sizeBytes / MiB;
  const perRound: TransferFigure['perRound'] = [];
  const errors: string[] = [];
  for (let round = 0; round < o.rounds; round++) {
    try {
      o.progress(`transfer round ${round + 1}/${o.rounds}: ${mib} MiB push and pull, client and curl`);
      const input = { modelName: 'bench-transfer', modelType: 'bench', datasetVersion: `round-${round}`, metrics: [], hyperparameters: {}, featureNames: [], tags: [], artifacts: [{ path: 'artifact.bin', sizeBytes: o.sizeBytes, sha256, contentType: 'application/octet-stream' }] };
      const key = `bench-transfer-${Date.now()}-${round}`;
      const reg = (await client.request(RegisterModelVersionDocument, { input: { ...input, idempotencyKey: key } })).registerModelVersion;
      const up = reg.uploads[0]!.upload;
      const curlPut = await curl('/dev/null', ['-X', up.method, '-T', file, ...up.headers.flatMap((h) => ['-H', `${h.name}: ${h.value}`]), up.url]);

      let uploadStart = 0;
      let uploadEnd = 0;
      let uploadCpu = 0;
      const t0 = performance.now();
      const pushed = await client.push({
        model: input.modelName, modelType: input.modelType, datasetVersion: input.datasetVersion, files: [{ file, path: 'artifact.bin' }], idempotencyKey: key,
        onProgress: (e) => {
          if (e.bytes === undefined && e.phase === 'upload') {
            uploadStart = performance.now();
            uploadCpu = cpuMs();
          }
          if (e.bytes === undefined && e.phase === 'complete') {
            uploadEnd = performance.now();
            uploadCpu = cpuMs() - uploadCpu;
          }
        },
      });
      const pushS = (performance.now() - t0) / 1000;
      const uploadS = (uploadEnd - uploadStart) / 1000;

      const target = join(o.dir, `pull-${round}`);
      await mkdir(target, { recursive: true });
      const pullOnce = async () => {
        const [s, c] = [performance.now(), cpuMs()];
        await client.pull({ model: input.modelName, ref: pushed.version.id, dir: target });
        const measured = { seconds: (performance.now() - s) / 1000, cpuMs: cpuMs() - c };
        await rm(join(target, 'artifact.bin'));
        return measured;
      };
      const curlOnce = async () => {
        const answer = await client.manifest(input.modelName, pushed.version.id);
        if (answer.notModified) throw new Error('unexpected 304');
        const out = join(target, 'curl.bin');
        const measured = await curl(out, [answer.manifest.artifacts[0]!.url]);
        if ((await stat(out)).size !== o.sizeBytes) throw new Error('curl downloaded a short file');
        await rm(out);
        return measured;
      };
      // Alternate which goes first, so that the page cache and warm-up favour neither.
      let curlGet: { seconds: number; cpuMs: number };
      let pull: { seconds: number; cpuMs: number };
      if (round % 2 === 0) {
        curlGet = await curlOnce();
        pull = await pullOnce();
      } else {
        pull = await pullOnce();
        curlGet = await curlOnce();
      }
      await rm(target, { recursive: true, force: true });
      perRound.push({
        curlPut: mib / curlPut.seconds, clientUpload: mib / uploadS, clientPush: mib / pushS, curlGet: mib / curlGet.seconds, clientPull: mib / pull.seconds,
        cpu: { curlPut: curlPut.cpuMs / mib, clientUpload: uploadCpu / mib, curlGet: curlGet.cpuMs / mib, clientPull: pull.cpuMs / mib },
      });
    } catch (err) {
      errors.push((err as Error).message.slice(0, 300));
    }
  }
  await rm(file, { force: true });
  const med = (k: Exclude<keyof TransferFigure['perRound'][number], 'cpu'>) => (perRound.length ? median(perRound.map((r) => r[k])) : Number.NaN);
  const cpu = (k: keyof TransferFigure['cpuMsPerMiB']) => (perRound.length ? median(perRound.map((r) => r.cpu[k])) : Number.NaN);
  return {
    sizeMiB: mib, rounds: o.rounds, curlPut: med('curlPut'), clientUpload: med('clientUpload'), clientPush: med('clientPush'), curlGet: med('curlGet'), clientPull: med('clientPull'),
    cpuMsPerMiB: { curlPut: cpu('curlPut'), clientUpload: cpu('clientUpload'), curlGet: cpu('curlGet'), clientPull: cpu('clientPull') }, perRound, errors,
  };
}

/** The transfer figures as table rows: figure, MiB/s, ratio to curl, CPU ms per MiB. */
export function transferRows(t: TransferFigure): (string | number)[][] {
  const r = (x: number, c: number) => (Number.isFinite(x) && c > 0 ? (x / c).toFixed(2) : '-');
  const m = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '-');
  const c = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '-');
  return [
    [`curl PUT to the presigned upload URL`, m(t.curlPut), '1.00', c(t.cpuMsPerMiB.curlPut)],
    [`client upload (push's upload phase)`, m(t.clientUpload), r(t.clientUpload, t.curlPut), c(t.cpuMsPerMiB.clientUpload)],
    [`client push end to end (hash, register, upload, complete)`, m(t.clientPush), r(t.clientPush, t.curlPut), ''],
    [`curl GET of the manifest's presigned URL to a file`, m(t.curlGet), '1.00', c(t.cpuMsPerMiB.curlGet)],
    [`client pull (manifest, download + sha256, rename)`, m(t.clientPull), r(t.clientPull, t.curlGet), c(t.cpuMsPerMiB.clientPull)],
  ];
}
