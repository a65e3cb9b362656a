import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { RegistryClientError } from './errors.js';
import { type Manifest, fetchManifest } from './manifest.js';
import type { ProgressListener } from './progress.js';
import { inParallel, withRetries } from './retry.js';
import { downloadVerified } from './streams.js';
import type { Transport } from './transport.js';

export interface PullOptions {
  model: string;
  /** A version id, a number, `latest` or an environment (default `latest`). */
  ref?: string;
  /** The directory the files go to (created if missing). */
  dir: string;
  /** Files downloaded at once (default 4). */
  parallel?: number;
  onProgress?: ProgressListener;
}

export interface PullResult {
  manifest: Manifest;
  /** Absolute paths of the files written, in the manifest's order. */
  files: string[];
}

/** Where an artifact goes inside `dir`; refuses any path that would leave it. */
export function targetOf(dir: string, path: string): string {
  const parts = path.split('/');
  if (!path || path.startsWith('/') || path.includes('\\') || parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\0'))) {
    throw new RegistryClientError('BAD_RESPONSE', `Refusing the artifact path ${JSON.stringify(path)}: it is not a plain relative path`);
  }
  const target = resolve(dir, ...parts);
  if (relative(resolve(dir), target).startsWith(`..${sep}`)) throw new RegistryClientError('BAD_RESPONSE', `Refusing the artifact path ${JSON.stringify(path)}`);
  return target;
}

/**
 * Downloads every artifact of `model@ref` into `dir`: in parallel, each into a temporary name
 * beside its target while its SHA-256 is computed, and renamed into place only when every file
 * is verified. On any failure (a mismatch included) the temporary files and the directories this
 * pull created are removed, and nothing of the version is left in `dir`.
 */
export async function pull(t: Transport, o: PullOptions): Promise<PullResult> {
  const answer = await fetchManifest(t, o.model, o.ref ?? 'latest');
  if (answer.notModified) throw new RegistryClientError('BAD_RESPONSE', 'Unexpected 304 for an unconditional manifest request');
  const { manifest } = answer;
  const targets = manifest.artifacts.map((a) => targetOf(o.dir, a.path));
  const created: string[] = [];
  const temps = new Set<string>();
  const suffix = `.partial-${randomBytes(6).toString('hex')}`;
  try {
    for (const target of targets) {
      const first = await mkdir(dirname(target), { recursive: true });
      if (first) created.push(first);
    }
    o.onProgress?.({ phase: 'download', totalBytes: manifest.artifacts.reduce((s, a) => s + a.sizeBytes, 0), files: targets.length });
    await inParallel(manifest.artifacts, o.parallel ?? 4, async (a, i) => {
      const temp = `${targets[i]!}${suffix}`;
      let got = 0;
      await withRetries(async () => {
        if (got) o.onProgress?.({ phase: 'download', bytes: -got });
        got = 0;
        await rm(temp, { force: true });
        temps.add(temp);
        await downloadVerified(a.url, temp, a, (n) => {
          got += n;
          o.onProgress?.({ phase: 'download', bytes: n });
        });
      }, t.options.retry);
    });
    for (const target of targets) {
      await rename(`${target}${suffix}`, target);
      temps.delete(`${target}${suffix}`);
    }
  } catch (err) {
    await Promise.all([...temps].map((f) => rm(f, { force: true })));
    for (const d of created) await removeEmptyTree(d);
    throw err;
  }
  return { manifest, files: targets };
}

/** Removes `dir` and its subdirectories if they hold no file (a pull that failed leaves no empty tree). */
async function removeEmptyTree(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) if (e.isDirectory()) await removeEmptyTree(join(dir, e.name));
  await rmdir(dir).catch(() => {});
}
