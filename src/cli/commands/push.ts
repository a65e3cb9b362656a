import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, normalize, relative, sep } from 'node:path';
import type { Command } from 'commander';
import type { PushFile } from '../../client/index.js';
import { action, collect } from '../context.js';
import { UsageError } from '../exit-codes.js';
import { progressBar } from '../progress-bar.js';

interface PushFlags {
  type: string;
  dataset: string;
  metric?: string[];
  param?: string[];
  paramsFile?: string;
  feature?: string[];
  tag?: string[];
  description?: string;
  idempotencyKey?: string;
  parallel: string;
  partParallel: string;
}

/** `k=v` pairs; values parsed as JSON when they are JSON (numbers, booleans, …), else kept as text. */
function pairs(list: string[] | undefined, what: string): [string, string][] {
  return (list ?? []).map((item) => {
    const i = item.indexOf('=');
    if (i <= 0) throw new UsageError(`${what} must be key=value, got ${JSON.stringify(item)}`);
    return [item.slice(0, i), item.slice(i + 1)];
  });
}

export function parseMetrics(list: string[] | undefined): Record<string, number> {
  return Object.fromEntries(pairs(list, '--metric').map(([k, v]) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--metric ${k}: ${JSON.stringify(v)} is not a number`);
    return [k, n];
  }));
}

async function parseParams(list: string[] | undefined, file: string | undefined): Promise<Record<string, unknown>> {
  let params: Record<string, unknown> = {};
  if (file) {
    const text = await readFile(file, 'utf8').catch(() => {
      throw new UsageError(`--params-file: cannot read ${file}`);
    });
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new UsageError(`--params-file: ${file} is not JSON (${(err as Error).message})`);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError(`--params-file: ${file} must hold a JSON object`);
    params = parsed as Record<string, unknown>;
  }
  for (const [k, v] of pairs(list, '--param')) {
    try {
      params[k] = JSON.parse(v);
    } catch {
      params[k] = v;
    }
  }
  return params;
}

/**
 * The artifacts of the given files and directories: a directory gives every file under it, named
 * by its path inside the directory; a file gives its path as given when that is relative and stays
 * below the current directory, else its name.
 */
export async function artifactsOf(args: string[]): Promise<PushFile[]> {
  const out: PushFile[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.isDirectory()) await walk(join(dir, e.name), `${prefix}${e.name}/`);
      else if (e.isFile()) out.push({ file: join(dir, e.name), path: `${prefix}${e.name}` });
    }
  };
  for (const arg of args) {
    const s = await stat(arg).catch(() => null);
    if (!s) throw new UsageError(`${arg}: no such file or directory`);
    if (s.isDirectory()) await walk(arg, '');
    else {
      const rel = normalize(arg);
      const path = isAbsolute(rel) || rel.startsWith(`..${sep}`) || relative('.', rel).startsWith('..') ? basename(arg) : rel.split(sep).join('/');
      out.push({ file: arg, path });
    }
  }
  const seen = new Set<string>();
  for (const f of out) {
    if (seen.has(f.path)) throw new UsageError(`two files would both be stored as ${f.path}`);
    seen.add(f.path);
  }
  return out;
}

export function registerPush(program: Command): void {
  program
    .command('push')
    .description('register a version with its files, upload them (verified by the registry) and print its id and number')
    .argument('<model>', 'model name (created on its first version)')
    .argument('<files...>', 'files or directories to upload')
    .requiredOption('--type <modelType>', 'model type, e.g. random_forest')
    .requiredOption('--dataset <version>', 'dataset version the model was trained on')
    .option('--metric <name=value>', 'a metric (repeatable)', collect)
    .option('--param <name=value>', 'a hyperparameter, value as JSON or text (repeatable)', collect)
    .option('--params-file <file.json>', 'hyperparameters from a JSON object (--param entries override)')
    .option('--feature <name>', 'a feature name (repeatable)', collect)
    .option('--tag <tag>', 'a tag (repeatable)', collect)
    .option('--description <text>', 'description of the version')
    .option('--idempotency-key <key>', 'key for safe retries (default: derived from the inputs and the files\' SHA-256)')
    .option('--parallel <n>', 'files uploaded at once', '4')
    .option('--part-parallel <n>', 'parts of one large file uploaded at once (multipart uploads)', '4')
    .action(action(async ({ client, out }, model: string, files: string[], flags: PushFlags) => {
      const parallel = Number(flags.parallel);
      if (!Number.isInteger(parallel) || parallel < 1 || parallel > 16) throw new UsageError('--parallel must be 1..16');
      const partParallel = Number(flags.partParallel);
      if (!Number.isInteger(partParallel) || partParallel < 1 || partParallel > 32) throw new UsageError('--part-parallel must be 1..32');
      const bar = progressBar(out.json);
      try {
        const result = await client.push({
          model,
          files: await artifactsOf(files),
          modelType: flags.type,
          datasetVersion: flags.dataset,
          metrics: parseMetrics(flags.metric),
          hyperparameters: await parseParams(flags.param, flags.paramsFile),
          featureNames: flags.feature ?? [],
          tags: flags.tag ?? [],
          ...(flags.description !== undefined ? { description: flags.description } : {}),
          ...(flags.idempotencyKey ? { idempotencyKey: flags.idempotencyKey } : {}),
          parallel,
          partParallel,
          ...(bar.listener ? { onProgress: bar.listener } : {}),
        });
        bar.stop();
        const v = result.version;
        out.result(
          { versionId: v.id, number: v.number, status: v.status, model: v.modelName, idempotencyKey: result.idempotencyKey, uploaded: result.uploaded },
          () => `${v.modelName} version ${v.number} ${v.id} ${v.status}${result.uploaded ? '' : ' (already pushed)'}`,
        );
      } finally {
        bar.stop();
      }
    }));
}
