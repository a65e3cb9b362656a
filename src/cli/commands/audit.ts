import type { Command } from 'commander';
import type { AuditEventFieldsFragment } from '../../client/index.js';
import { action } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { pageSize } from './models.js';
import { exportAudit, verifyOfflineCommand } from './audit-offline.js';

const line = (e: AuditEventFieldsFragment) =>
  `${String(e.sequence).padStart(6)}  ${e.occurredAt}  ${e.action.padEnd(24)} ${e.actor}${e.modelName ? `  ${e.modelName}` : ''}${e.versionId ? ` ${e.versionId}` : ''}`;

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit log');
  audit
    .command('verify')
    .description('recompute the hash chain and check it against the signed checkpoints (admin); exit 1 if it is broken. '
      + 'With --export, --checkpoints and --public-key: offline, no server and no database')
    .option('--export <file>', 'the events as JSON lines (`audit export`, or GET /v1/audit/export)')
    .option('--checkpoints <path>', 'a folder of checkpoint objects (<16 digits>.json), a JSON-lines file (`audit export`), or s3://<bucket>/<S3_PREFIX> to read them from the bucket with your AWS credentials')
    .option('--s3-endpoint <url>', 'with s3://: an S3-compatible endpoint (MinIO), path-style')
    .option('--s3-region <region>', 'with s3://: the bucket\'s region (default us-east-1)')
    .option('--public-key <file>', 'the registry\'s audit public key (PEM, GET /v1/audit/public-key)')
    .action(action(async ({ client, out }, flags: { export?: string; checkpoints?: string; publicKey?: string; s3Endpoint?: string; s3Region?: string }) => {
      if (flags.export || flags.checkpoints || flags.publicKey) return verifyOfflineCommand(out, flags);
      const v = await client.verifyAuditLog();
      out.result(v, () => v.valid
        ? `audit log valid: ${v.eventsChecked} events, head ${v.headHash ?? '-'}`
        : `audit log INVALID at sequence ${v.firstInvalidSequence ?? '?'}: ${v.message ?? ''} (${v.eventsChecked} events checked)`);
      if (!v.valid) process.exitCode = EXIT.ERROR;
    }));
  audit
    .command('export <dir>')
    .description('save the signed checkpoints, the events up to the newest of them, and the public key into <dir> (unscoped admin), for `audit verify --export`')
    .action(action(async ({ client, out }, dir: string) => {
      const saved = await exportAudit(client, dir);
      out.result(saved, () => `saved ${saved.events} events (up to sequence ${saved.until}) and ${saved.checkpoints} checkpoints in ${dir}`);
    }));
  audit
    .command('tail')
    .description('the latest events, oldest first; --follow keeps printing new ones as they are committed (subscription)')
    .option('-n, --lines <n>', 'how many of the latest', '20')
    .option('--model <name>', 'only this model')
    .option('--action <name>', 'only this action (e.g. MODEL_PROMOTED)')
    .option('-f, --follow', 'keep printing new events until interrupted')
    .action(action(async ({ client, out, signal }, flags: { lines: string; model?: string; action?: string; follow?: boolean }) => {
      const page = await client.auditEvents({ first: pageSize(flags.lines), ...(flags.model ? { modelName: flags.model } : {}), ...(flags.action ? { action: flags.action } : {}) });
      const events = page.edges.map((e) => e.node).reverse();
      // --follow with --json prints one JSON object per line (NDJSON), since the output never ends.
      const print = (e: AuditEventFieldsFragment) => process.stdout.write(`${out.json ? JSON.stringify(e) : line(e)}\n`);
      if (!flags.follow) {
        out.result({ totalCount: page.totalCount, events }, () => events.map(line).join('\n'));
        return;
      }
      for (const e of events) print(e);
      // Resume right after the last event printed: no gap and no duplicate (all matching events when there was none).
      const after = events.at(-1)?.sequence ?? null;
      for await (const e of client.auditTail({ afterSequence: after, signal, ...(flags.model ? { modelName: flags.model } : {}), ...(flags.action ? { actions: [flags.action] } : {}) })) {
        print(e);
      }
    }));
}
