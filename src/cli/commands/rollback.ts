import type { Command } from 'commander';
import { action } from '../context.js';
import { deploymentJson, deploymentLine } from './deployment-view.js';

export function registerRollback(program: Command): void {
  program
    .command('rollback')
    .description('put the previously deployed version (or --to) back in an environment')
    .argument('<model>', 'model name')
    .option('--env <environment>', 'environment', 'production')
    .option('--to <ref>', 'the version to go back to (id, number, …); default the one before the current one')
    .option('--reason <text>', 'why, for the history and the audit log')
    .option('--idempotency-key <key>', 'make a repeated rollback safe: the same key and input give the same deployment for 24 h')
    .action(action(async ({ client, out }, model: string, flags: { env: string; to?: string; reason?: string; idempotencyKey?: string }) => {
      const d = await client.rollback({
        model, environment: flags.env,
        ...(flags.to ? { to: flags.to } : {}),
        ...(flags.reason !== undefined ? { reason: flags.reason } : {}),
        ...(flags.idempotencyKey ? { idempotencyKey: flags.idempotencyKey } : {}),
      });
      out.result(deploymentJson(d), () => deploymentLine(d));
    }));
}
