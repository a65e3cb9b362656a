import { canonicalJson } from '../../audit/canonical-json.js';
import type { Actor, AuditEvent } from '../../domain/model.js';
import { InvalidArgumentError } from '../../domain/errors.js';
import type { AccessService } from '../access.service.js';
import type { ServiceDeps } from '../service-deps.js';

const BATCH = 500;
/** The largest page of the GraphQL export. */
export const PAGE_MAX = 1000;

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

  /**
   * Checks the caller and the range before anything is streamed: events after `after` (default 0)
   * up to `until` included (default: the end), so that an export can stop at the newest checkpoint
   * fetched just before it.
   */
  authorize(principal: Actor, after: string | null, until: string | null = null): { after: number; until: number | null } {
    this.access.check(principal, 'admin', 'export the audit log');
    this.access.requireUnscoped(principal, 'the whole audit log');
    const parse = (field: string, text: string | null): number | null => {
      if (text === null || text === '') return null;
      if (!/^(0|[1-9][0-9]{0,15})$/.test(text)) throw new InvalidArgumentError(field, 'must be a sequence number (0 or a positive integer)');
      return Number(text);
    };
    return { after: parse('after', after) ?? 0, until: parse('until', until) };
  }

  /** The GraphQL form (`auditExport`): at most `first` (1-1000) events after `after`, ascending and contiguous. */
  async page(principal: Actor, after: number, first: number): Promise<AuditEvent[]> {
    this.authorize(principal, null);
    if (!Number.isSafeInteger(after) || after < 0) throw new InvalidArgumentError('afterSequence', 'must be a sequence number (0 or a positive integer)');
    if (!Number.isInteger(first) || first < 1 || first > PAGE_MAX) throw new InvalidArgumentError('first', `must be 1 to ${PAGE_MAX}`);
    return this.deps.store.auditEventsAfter(after, first);
  }

  /** Every event in the range, ascending, one canonical JSON line each, read in batches. */
  async *eventLines(range: { after: number; until: number | null }): AsyncIterable<string> {
    for (let last = range.after; ;) {
      const batch: AuditEvent[] = await this.deps.store.auditEventsAfter(last, BATCH);
      for (const e of batch) {
        if (range.until !== null && e.sequence > range.until) return;
        yield canonicalJson(e);
      }
      if (batch.length === 0) return;
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
