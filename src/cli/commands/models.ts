import type { Command } from 'commander';
import { action } from '../context.js';
import { UsageError } from '../exit-codes.js';
import { table } from '../output.js';

/** --first as a page size (1..100). */
export function pageSize(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new UsageError('--first must be 1..100');
  return n;
}

export function registerModels(program: Command): void {
  program
    .command('models')
    .description('list models, by name')
    .option('--search <text>', 'only names containing this')
    .option('--first <n>', 'how many', '50')
    .action(action(async ({ client, out }, flags: { search?: string; first: string }) => {
      const page = await client.models({ first: pageSize(flags.first), ...(flags.search ? { search: flags.search } : {}) });
      const models = page.edges.map((e) => e.node);
      out.result({ totalCount: page.totalCount, models }, () => table(
        ['model', 'versions', 'latest', 'production', 'created'],
        models.map((m) => [m.name, m.versionCount, m.latestVersion ? `${m.latestVersion.number} (${m.latestVersion.status})` : null, m.production?.number ?? null, m.createdAt]),
      ) + (page.pageInfo.hasNextPage ? `\n… ${page.totalCount - models.length} more (--first)` : ''));
    }));
}
