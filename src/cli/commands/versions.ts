import type { Command } from 'commander';
import type { VersionSummaryFragment } from '../../client/index.js';
import { action } from '../context.js';
import { num, table } from '../output.js';
import { pageSize } from './models.js';

const metricOf = (v: VersionSummaryFragment, name: string) => v.metrics.find((m) => m.name === name)?.value ?? null;

export function registerVersions(program: Command): void {
  program
    .command('versions')
    .description('list a model\'s versions, newest first (or by a metric, best first)')
    .argument('<model>', 'model name')
    .option('--sort <metric>', 'order by this metric, highest first (versions without it last)')
    .option('--first <n>', 'how many of the newest', '50')
    .action(action(async ({ client, out }, model: string, flags: { sort?: string; first: string }) => {
      const page = await client.versions(model, { first: pageSize(flags.first) });
      const versions = page.edges.map((e) => e.node);
      if (flags.sort) {
        const key = flags.sort;
        versions.sort((a, b) => (metricOf(b, key) ?? Number.NEGATIVE_INFINITY) - (metricOf(a, key) ?? Number.NEGATIVE_INFINITY) || b.number - a.number);
      }
      const names = [...new Set(versions.flatMap((v) => v.metrics.map((m) => m.name)))].sort((a, b) => (a === flags.sort ? -1 : b === flags.sort ? 1 : a.localeCompare(b)));
      out.result({ totalCount: page.totalCount, versions }, () => table(
        ['#', 'version id', 'status', ...names, 'environments', 'dataset', 'created'],
        versions.map((v) => [v.number, v.id, v.status, ...names.map((n) => num(metricOf(v, n))), v.environments.join(',') || null, v.datasetVersion, v.createdAt]),
      ));
    }));
}
