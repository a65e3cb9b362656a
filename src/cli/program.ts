import { Command } from 'commander';
import { CLI_VERSION } from './context.js';
import { registerAdmin } from './commands/admin.js';
import { registerAudit } from './commands/audit.js';
import { registerCompare } from './commands/compare.js';
import { registerHistory } from './commands/history.js';
import { registerModels } from './commands/models.js';
import { registerPromote } from './commands/promote.js';
import { registerPull } from './commands/pull.js';
import { registerPush } from './commands/push.js';
import { registerRollback } from './commands/rollback.js';
import { registerToken } from './commands/token.js';
import { registerVersions } from './commands/versions.js';
import { DEFAULT_URL } from './settings.js';

/** The `model-registry` command and its subcommands (one file each under commands/). */
export function buildProgram(): Command {
  const program = new Command('model-registry')
    .description('Push, pull, promote and inspect models in a model registry.')
    .version(CLI_VERSION)
    .option('--url <url>', `the registry's base URL (default: $REGISTRY_URL, else ${DEFAULT_URL})`)
    .option('--token <secret>', 'an API token (default: $REGISTRY_TOKEN)')
    .option('--json', 'print one JSON document (for scripts) instead of tables and progress')
    .showHelpAfterError('(run with --help for usage)')
    // Before the subcommands are added, so that they inherit it: main.ts maps commander's errors to exit 2.
    .exitOverride()
    .addHelpText('after', `
Exit codes: 0 ok, 1 error, 2 usage (or input the registry refused as invalid), 3 refused by policy
or conflict, 4 not found, 5 unauthenticated or forbidden.`);
  for (const register of [registerPush, registerPull, registerPromote, registerRollback, registerModels, registerVersions, registerCompare, registerHistory, registerAudit, registerToken, registerAdmin]) {
    register(program);
  }
  return program;
}
