import type { Command } from 'commander';
import { action } from '../context.js';
import { table } from '../output.js';
import { deploymentJson } from './deployment-view.js';
import { pageSize } from './models.js';

export function registerHistory(program: Command): void {
  program
    .command('history')
    .description('a model\'s deployments (promotions, rollbacks, refusals), newest first')
    .argument('<model>', 'model name')
    .option('--env <environment>', 'only this environment')
    .option('--first <n>', 'how many', '20')
    .action(action(async ({ client, out }, model: string, flags: { env?: string; first: string }) => {
      const page = await client.history(model, { first: pageSize(flags.first), ...(flags.env ? { environment: flags.env } : {}) });
      const rows = page.edges.map((e) => e.node);
      out.result({ totalCount: page.totalCount, deployments: rows.map(deploymentJson) }, () => table(
        ['deployed at', 'env', 'action', 'status', '#', 'version id', 'previous', 'by', 'reason'],
        rows.map((d) => [d.deployedAt, d.environment, d.action, d.active ? `${d.status} (live)` : d.status, d.version?.number ?? null, d.version?.id ?? null, d.previousVersion?.number ?? null, d.deployedBy, d.failureReason ?? d.reason]),
      ));
    }));
}
