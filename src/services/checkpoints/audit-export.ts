import { canonicalJson } from '../../audit/canonical-json.js';
import type { Actor, AuditEvent } from '../../domain/model.js';
import { InvalidArgumentError } from '../../domain/errors.js';
import type { AccessService } from '../access.service.js';
import type { ServiceDeps } from '../service-deps.js';

const BATCH = 500;

/**
 * The audit log and its signed checkpoints as an unscoped admin may take them away, for the
 * offline verifier (`model-registry audit verify --export … --checkpoints … --public-key …`),
 * which needs neither the server nor the database.
 */
export class AuditExportService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly access: AccessService,
  ) {}

  /** Checks the caller and the cursor before anything is streamed. */
  authorize(principal: Actor, after: string | null): number {
    this.access.check(principal, 'admin', 'export the audit log');
    this.access.requireUnscoped(principal, 'the whole audit log');
    if (after === null || after === '') return 0;
    if (!/^(0|[1-9][0-9]{0,15})$/.test(after)) throw new InvalidArgumentError('after', 'must be a sequence number (0 or a positive integer)');
    return Number(after);
  }

  /** Every event after `after`, ascending, one canonical JSON line each, read in batches. */
  async *eventLines(after: number): AsyncIterable<string> {
    for (let last = after; ;) {
      const batch: AuditEvent[] = await this.deps.store.auditEventsAfter(last, BATCH);
      if (batch.length === 0) return;
      for (const e of batch) yield canonicalJson(e);
      last = batch.at(-1)!.sequence;
    }
  }

  /** Every stored signed checkpoint, as stored (one JSON document each, on one line), in sequence order. */
  async *checkpointLines(): AsyncIterable<string> {
    for (const name of await this.deps.artifacts.auditCheckpointNames()) {
      const body = await this.deps.artifacts.readAuditCheckpoint(name);
      if (body === null) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        // Kept, not dropped: the verifier reports it as a forged checkpoint.
        parsed = { name, unparsable: body.toString('base64') };
      }
      yield JSON.stringify(parsed);
    }
  }
}
