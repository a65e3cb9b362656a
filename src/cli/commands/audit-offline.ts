import { createReadStream } from 'node:fs';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { verifyOffline } from '../../audit/offline-verify.js';
import type { RegistryClient } from '../../client/index.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { parseS3Location, readS3Checkpoints } from './s3-checkpoints.js';
import type { Output } from '../output.js';

const EXPORT_FILE = 'audit-export.jsonl';
const CHECKPOINTS_FILE = 'checkpoints.jsonl';
const KEY_FILE = 'audit-public-key.pem';

/** `audit export <dir>`: checkpoints first, then the events up to the newest of them, then the key. */
export async function exportAudit(client: RegistryClient, dir: string): Promise<{ dir: string; events: number; checkpoints: number; until: number }> {
  const { checkpoints, events, until } = await client.auditExport();
  const pem = await client.auditPublicKey();
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, CHECKPOINTS_FILE), checkpoints.map((l) => `${l}\n`).join(''));
  await writeFile(join(dir, EXPORT_FILE), events.map((l) => `${l}\n`).join(''));
  await writeFile(join(dir, KEY_FILE), pem);
  return { dir, events: events.length, checkpoints: checkpoints.length, until };
}

/** `audit verify --export … --checkpoints … --public-key …`: no server, no database. Exit 1 when anything is wrong. */
export async function verifyOfflineCommand(out: Output, flags: { export?: string; checkpoints?: string; publicKey?: string; s3Endpoint?: string; s3Region?: string }): Promise<void> {
  if (!flags.export || !flags.checkpoints || !flags.publicKey) throw new UsageError('offline verification needs all three: --export, --checkpoints and --public-key');
  const pem = await readFile(flags.publicKey, 'utf8').catch(() => { throw new UsageError(`cannot read ${flags.publicKey}`); });
  const s3 = parseS3Location(flags.checkpoints);
  const checkpoints = s3 ? await readS3Checkpoints(s3, { endpoint: flags.s3Endpoint, region: flags.s3Region }) : await readCheckpoints(flags.checkpoints);
  const lines = createInterface({ input: createReadStream(flags.export), crlfDelay: Infinity });
  const v = await verifyOffline(lines, checkpoints, pem);
  out.result(v, () => v.valid
    ? `audit export valid: ${v.chain.eventsChecked} events, ${v.checkpointsChecked} signed checkpoints, newest at sequence ${v.newestCheckpointSequence ?? '-'}`
    : [`audit export INVALID: ${v.chain.valid ? 'the chain checks out, but' : v.chain.message}`, ...v.problems.map((p) => `  ${p.kind} at sequence ${p.sequence}: ${p.message}`)].join('\n'));
  if (!v.valid) process.exitCode = EXIT.ERROR;
}

/** A folder of stored checkpoint objects, or a JSON-lines file (one checkpoint per line). */
async function readCheckpoints(path: string): Promise<{ name: string | null; body: string }[]> {
  const info = await stat(path).catch(() => null);
  if (info === null) throw new UsageError(`${path} does not exist`);
  if (info.isDirectory()) {
    const names = (await readdir(path)).filter((n) => /^[0-9]{16}\.json$/.test(n)).sort();
    return Promise.all(names.map(async (name) => ({ name, body: await readFile(join(path, name), 'utf8') })));
  }
  return (await readFile(path, 'utf8')).split('\n').filter((l) => l.trim() !== '').map((body) => ({ name: null, body }));
}
