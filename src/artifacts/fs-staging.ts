import { readdir, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { StagedGroup } from './artifact.store.js';
import { groupConsecutive } from './staging.js';

/**
 * The filesystem store's staged bytes: `uploads/<model>/<version>/<path>` (uploaded, not yet
 * verified), `verifying/<model>/<version>/<call>/<path>` (claimed by a verification that did not
 * finish) and `tmp/<uuid>` (an upload cut off mid-body). Listed in key order, grouped by version
 * (a `tmp/` file is a group of its own, naming no version), and `multipart/<model>/<version>/…`
 * (the parts and plan of multipart uploads not joined, multipart/fs-multipart.ts).
 */
export async function* listFsStaged(root: string, sizeOf: (file: string, diskBytes: number) => Promise<number>): AsyncIterable<StagedGroup> {
  for (const stage of ['uploads', 'verifying', 'tmp', 'multipart'] as const) {
    yield* groupConsecutive(walk(root, stage, sizeOf), (key) => {
      const [s, model, version] = key.split('/');
      if (s === 'tmp') return { id: key, modelName: null, versionId: null };
      return model && version ? { id: `${s}/${model}/${version}`, modelName: model, versionId: version } : null;
    });
  }
}

/** Removes the group's files, then the folders they leave empty (up to the stage folder). */
export async function removeFsStaged(root: string, fileFor: (key: string) => string, group: StagedGroup): Promise<void> {
  for (const key of group.keys) {
    const stage = key.split('/')[0];
    if (stage !== 'uploads' && stage !== 'verifying' && stage !== 'tmp' && stage !== 'multipart') throw new Error('not a staged key');
    const file = fileFor(key);
    // Inside its stage folder, whatever the key's segments say (keys come from the listing, but still).
    if (!file.startsWith(join(root, stage) + sep)) throw new Error('not a staged key');
    await rm(file, { force: true });
    let dir = dirname(file);
    while (dir !== join(root, stage) && dir.startsWith(join(root, stage) + sep)) {
      if (!(await rmdir(dir).then(() => true, () => false))) break; // not empty (or gone): stop
      dir = dirname(dir);
    }
  }
}

/** `sizeOf`: the bytes a file holds as the store counts them (the plaintext of an encrypted file). */
async function* walk(root: string, stage: string, sizeOf: (file: string, diskBytes: number) => Promise<number>): AsyncIterable<{ key: string; size: number; modified: Date }> {
  const files: string[] = [];
  await collect(join(root, stage), files);
  for (const file of files.sort()) {
    const info = await stat(file).catch(() => null); // gone meanwhile (finalized, removed)
    if (info?.isFile()) yield { key: relative(root, file).split(sep).join('/'), size: await sizeOf(file, info.size), modified: info.mtime };
  }
}

async function collect(dir: string, into: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) await collect(path, into);
    else if (e.isFile()) into.push(path);
  }
}
