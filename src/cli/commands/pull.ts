import type { Command } from 'commander';
import { action } from '../context.js';
import { UsageError } from '../exit-codes.js';
import { bytes } from '../output.js';
import { progressBar } from '../progress-bar.js';

/** `model@ref` → [model, ref]; no @ means `fallback`. */
export function modelRef(arg: string, fallback: string | null): [string, string] {
  const at = arg.indexOf('@');
  if (at < 0) {
    if (fallback === null) throw new UsageError(`expected <model>@<ref>, got ${JSON.stringify(arg)}`);
    return [arg, fallback];
  }
  const [model, ref] = [arg.slice(0, at), arg.slice(at + 1)];
  if (!model || !ref) throw new UsageError(`expected <model>@<ref>, got ${JSON.stringify(arg)}`);
  return [model, ref];
}

export function registerPull(program: Command): void {
  program
    .command('pull')
    .description('download a version\'s files into a directory, each checked against its SHA-256 before it is kept')
    .argument('<model[@ref]>', 'ref: version id, number, "latest" (default) or an environment such as production')
    .argument('<dir>', 'target directory (created if missing)')
    .option('--parallel <n>', 'files downloaded at once', '4')
    .action(action(async ({ client, out }, target: string, dir: string, flags: { parallel: string }) => {
      const [model, ref] = modelRef(target, 'latest');
      const parallel = Number(flags.parallel);
      if (!Number.isInteger(parallel) || parallel < 1 || parallel > 16) throw new UsageError('--parallel must be 1..16');
      const bar = progressBar(out.json);
      try {
        const { manifest, files } = await client.pull({ model, ref, dir, parallel, ...(bar.listener ? { onProgress: bar.listener } : {}) });
        bar.stop();
        out.result(
          { model: manifest.model, versionId: manifest.versionId, number: manifest.number, status: manifest.status, environment: manifest.environment, dir, files: manifest.artifacts.map((a, i) => ({ path: a.path, file: files[i], sizeBytes: a.sizeBytes, sha256: a.sha256 })) },
          () => [
            `${manifest.model} version ${manifest.number} ${manifest.versionId} → ${dir}`,
            ...manifest.artifacts.map((a) => `  ${a.path} (${bytes(a.sizeBytes)}, sha256 ${a.sha256.slice(0, 12)}… verified)`),
          ].join('\n'),
        );
      } finally {
        bar.stop();
      }
    }));
}
