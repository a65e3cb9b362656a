import type { Command } from 'commander';
import type { Role } from '../../client/index.js';
import { action } from '../context.js';
import { UsageError } from '../exit-codes.js';
import { table } from '../output.js';

const ROLES = ['VIEWER', 'PUBLISHER', 'DEPLOYER', 'ADMIN', 'WORKER'];

export function registerToken(program: Command): void {
  const token = program.command('token').description('API tokens (admin)');
  token
    .command('create')
    .description('create a token and print its secret (shown only once)')
    .argument('<name>', 'a name for the token, e.g. ci-training')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--scope <model>', 'a model name or a prefix ending in "*" (default: every model)')
    .option('--expires <iso-date>', 'expiry, e.g. 2027-01-01T00:00:00.000Z')
    .option('--environments <list>', 'comma-separated environments it may promote to, roll back or undeploy in (default: every one)')
    .action(action(async ({ client, out }, name: string, flags: { role: string; scope?: string; expires?: string; environments?: string }) => {
      const role = flags.role.toUpperCase();
      if (!ROLES.includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
      const created = await client.createToken({ name, role: role as Role, ...(flags.scope ? { modelScope: flags.scope } : {}), ...(flags.expires ? { expiresAt: flags.expires } : {}),
        ...(flags.environments ? { environments: flags.environments.split(',').map((e) => e.trim()) } : {}) });
      out.result(created, () => `${created.secret}\n(token ${created.token.id}, ${created.token.role}; store the secret now, it is not shown again)`);
    }));
  token
    .command('list')
    .description('every token (never a secret)')
    .action(action(async ({ client, out }) => {
      const tokens = await client.tokens();
      out.result({ tokens }, () => table(
        ['id', 'name', 'role', 'scope', 'active', 'expires', 'last used', 'created by'],
        tokens.map((t) => [t.id, t.name, t.role, t.modelScope ?? '*', t.active ? 'yes' : 'no', t.expiresAt, t.lastUsedAt, t.createdBy]),
      ));
    }));
  token
    .command('revoke')
    .description('revoke a token; it stops working at once')
    .argument('<id>', 'the token id (see token list)')
    .action(action(async ({ client, out }, id: string) => {
      const t = await client.revokeToken(id);
      out.result(t, () => `revoked ${t.id} (${t.name})`);
    }));
}
