import type { Command } from 'commander';
import { action } from '../context.js';
import { UsageError } from '../exit-codes.js';
import { modelRef } from './pull.js';
import { deploymentJson, deploymentLine } from './deployment-view.js';

interface PromoteFlags {
  env: string;
  requireImprovement?: string;
  expectCurrent?: string;
  reason?: string;
  idempotencyKey?: string;
}

/** `metric[:ratio]` → the improvement policy. */
export function improvement(spec: string): { metric: string; minRatio: number } {
  const [metric, ratio, ...rest] = spec.split(':');
  const minRatio = ratio === undefined ? 1 : Number(ratio);
  if (!metric || rest.length || !Number.isFinite(minRatio) || minRatio <= 0) throw new UsageError(`--require-improvement must be metric[:ratio], got ${JSON.stringify(spec)}`);
  return { metric, minRatio };
}

export function registerPromote(program: Command): void {
  program
    .command('promote')
    .description('deploy a READY version to an environment (the version there is demoted in the same step)')
    .argument('<model@ref>', 'ref: version id, number, "latest" or an environment (e.g. staging)')
    .option('--env <environment>', 'target environment', 'production')
    .option('--require-improvement <metric[:ratio]>', 'refuse unless the metric is at least ratio (default 1) × the current version\'s')
    .option('--expect-current <versionId>', 'refuse (exit 3) unless this version is deployed now')
    .option('--reason <text>', 'why, for the history and the audit log')
    .option('--idempotency-key <key>', 'make a repeated promote safe: the same key and input give the same deployment for 24 h')
    .action(action(async ({ client, out }, target: string, flags: PromoteFlags) => {
      const [model, ref] = modelRef(target, null);
      const d = await client.promote({
        model, ref, environment: flags.env,
        ...(flags.requireImprovement ? { requireImprovement: improvement(flags.requireImprovement) } : {}),
        ...(flags.expectCurrent ? { expectCurrent: flags.expectCurrent } : {}),
        ...(flags.reason !== undefined ? { reason: flags.reason } : {}),
        ...(flags.idempotencyKey ? { idempotencyKey: flags.idempotencyKey } : {}),
      });
      out.result(deploymentJson(d), () => deploymentLine(d));
    }));
}
