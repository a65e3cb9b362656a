import { randomUUID } from 'node:crypto';
import { link, mkdir, open, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** Audit checkpoints of the filesystem store: `<root>/audit-checkpoints/<name>`, a folder no signed URL names. */
const FOLDER = 'audit-checkpoints';
const NAME = /^[0-9]{16}\.json$/;

/** Written to a temporary file, synced, then linked to its name: never overwritten, never seen half-written. */
export async function writeFsCheckpoint(root: string, name: string, body: Buffer): Promise<void> {
  if (!NAME.test(name)) throw new Error('not a checkpoint name');
  const dir = join(root, FOLDER);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${randomUUID()}.tmp`);
  const handle = await open(tmp, 'wx', 0o644);
  try {
    await handle.writeFile(body);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(tmp, join(dir, name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Written before (a retry after a crash): the same checkpoint, or a conflict to report.
    if (!(await readFile(join(dir, name))).equals(body)) throw new Error(`audit checkpoint ${name} exists with other contents`);
  } finally {
    await rm(tmp, { force: true });
  }
}

export async function fsCheckpointNames(root: string): Promise<string[]> {
  try {
    return (await readdir(join(root, FOLDER))).filter((n) => NAME.test(n)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export async function readFsCheckpoint(root: string, name: string): Promise<Buffer | null> {
  if (!NAME.test(name)) throw new Error('not a checkpoint name');
  try {
    return await readFile(join(root, FOLDER, name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
