import type { Command } from 'commander';
import { action } from '../context.js';
import { num, table } from '../output.js';
import { pageSize } from './models.js';

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description('rank a model\'s READY and ARCHIVED versions by a metric, with the difference to production')
    .argument('<model>', 'model name')
    .option('--metric <name>', 'the metric', 'roc_auc')
    .option('--asc', 'lower is better (e.g. a loss)')
    .option('--first <n>', 'how many', '20')
    .action(action(async ({ client, out }, model: string, flags: { metric: string; asc?: boolean; first: string }) => {
      const rows = await client.compare(model, { metric: flags.metric, first: pageSize(flags.first), direction: flags.asc ? 'ASC' : 'DESC' });
      out.result({ metric: flags.metric, versions: rows.map((r) => ({ rank: r.rank, value: r.value, deltaVsProduction: r.deltaVsProduction, version: r.version })) }, () => table(
        ['rank', '#', 'version id', flags.metric, 'Δ production', 'environments', 'status'],
        rows.map((r) => [r.rank, r.version.number, r.version.id, num(r.value), r.deltaVsProduction === null ? null : `${r.deltaVsProduction >= 0 ? '+' : ''}${num(r.deltaVsProduction)}`, r.version.environments.join(',') || null, r.version.status]),
      ));
    }));
}
