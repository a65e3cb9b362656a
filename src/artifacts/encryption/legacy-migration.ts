import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ArtifactCodec } from './artifact-file.js';
import { MAGIC, hasMagic } from './chunked-format.js';

/** Written once every file from before encryption is sealed; then the walk is not repeated. */
export const ENCRYPTED_MARKER = '.encryption-v1';
/** The stages whose files appear whole (by rename); `tmp/` (uploads being written) is never touched. */
const STAGES = ['models', 'uploads', 'verifying'] as const;

/**
 * Files from before encryption at rest: on the first start with encryption on, every file under
 * `models/`, `uploads/` and `verifying/` without the format's header is sealed in place (into
 * `tmp/`, synced, then renamed over the original: a crash leaves either the old file or the sealed
 * one, and a leftover in `tmp/` that the cleanup removes). Then a marker file records that none is
 * left, and from then on the codec refuses a plaintext file. With encryption off the marker is
 * removed (new files are then plaintext, sealed by the next start with encryption on).
 * Returns how many files were sealed.
 */
export async function sealFilesFromBefore(root: string, codec: ArtifactCodec): Promise<number> {
  const marker = join(root, ENCRYPTED_MARKER);
  if (!codec.encrypts) {
    await rm(marker, { force: true });
    return 0;
  }
  if ((await stat(marker).catch(() => null)) === null) {
    let sealed = 0;
    for (const stage of STAGES) for (const file of await filesUnder(join(root, stage))) if (await sealIfPlain(root, codec, file)) sealed++;
    await writeFile(marker, 'every artifact file under this folder is encrypted (docs/operations.md, "Encryption at rest")\n');
    codec.refusePlaintext();
    return sealed;
  }
  codec.refusePlaintext();
  return 0;
}

async function sealIfPlain(root: string, codec: ArtifactCodec, file: string): Promise<boolean> {
  const handle = await open(file, 'r').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null; // moved meanwhile (another process finalized it)
    throw err;
  });
  if (handle === null) return false;
  let size: number;
  const start = Buffer.alloc(MAGIC.length);
  try {
    size = (await handle.stat()).size;
    await handle.read(start, 0, start.length, 0);
  } finally {
    await handle.close();
  }
  if (size >= MAGIC.length && hasMagic(start)) return false;
  const tmp = join(root, 'tmp', `sealing-${randomUUID()}`);
  await mkdir(dirname(tmp), { recursive: true });
  try {
    const out = createWriteStream(tmp, { flags: 'wx', mode: 0o600 });
    await pipeline(createReadStream(file), codec.writer(size), out);
    const synced = await open(tmp, 'r+');
    await synced.sync().finally(() => synced.close());
    await rename(tmp, file);
  } finally {
    await rm(tmp, { force: true });
  }
  return true;
}

async function filesUnder(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: string[] = [];
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(path)));
    else if (e.isFile()) out.push(path);
  }
  return out;
}
