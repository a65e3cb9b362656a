import { canonicalJson } from '../../audit/canonical-json.js';
import { ConflictError } from '../../domain/errors.js';
import { TOKEN_CHANGE_ACTIONS } from '../../domain/audit-actions.js';
import type { AuditDraft, AuditEvent, Page, PageRequest } from '../../domain/model.js';
import { scopeRange } from '../../domain/token.js';
import { contiguousAfter, decodeCursor, toPage } from '../paging.js';
import type { AuditFilter } from '../registry.store.js';
import { type AuditDoc, docToAudit } from './mongo-documents.js';
import {
  type AuditCount, MAX_MERGED_MODEL_NAMES, auditAscendingQuery, auditHeadQuery, auditModelNames, auditScopeNamesQuery, listAuditQuery,
} from './mongo-queries.js';
import { eventsOfActionsQuery } from './mongo-anchors.js';
import type { MongoSteps } from './mongo-steps.js';

const TOKEN_EVENTS_BATCH = 200;

const AUDIT_BATCH = 1000;

/** The audit-log side of MongoRegistryStore: appends by hand, pages, the ascending stream, one event by sequence. */
export class MongoAuditLog {
  constructor(private readonly steps: MongoSteps) {}

  /** Idempotent for the same draft; a different event under an existing id is a conflict. */
  async appendAudit(draft: AuditDraft): Promise<AuditEvent> {
    const event = await this.steps.appendAudit(draft);
    const body = (e: AuditDraft) => canonicalJson({ ...e });
    const { sequence: _s, previousHash: _p, hash: _h, ...stored } = event;
    if (body(stored) !== body(draft)) throw new ConflictError(`Audit event ${draft.id} already exists with other contents`);
    return event;
  }

  async listAuditEvents(filter: AuditFilter, page: PageRequest): Promise<Page<AuditEvent>> {
    const after = decodeCursor(page.after, ['number'] as const);
    await this.steps.settleAll(undefined, 'old');
    const scope = filter.modelScope ?? null;
    const needNames = scope !== null && filter.modelName === null && scope.endsWith('*');
    const namesInScope = needNames ? await this.steps.distinct(auditScopeNamesQuery(scope)) : null;
    const names = auditModelNames(filter, namesInScope);
    // Too many names to merge by sequence: the scope's name range becomes a residual of the chain walk.
    const wide = scope !== null && names !== null && names.length > MAX_MERGED_MODEL_NAMES ? scopeRange(scope) : null;
    const q = wide && 'from' in wide
      ? listAuditQuery(filter, null, after?.[0] ?? null, page.first, wide)
      : listAuditQuery(filter, names, after?.[0] ?? null, page.first);
    const [rows, total] = await Promise.all([this.steps.find<AuditDoc>(q.page), this.auditTotal(q.count)]);
    return toPage(rows.map(docToAudit), page.first, total, (e) => [e.sequence]);
  }

  private async auditTotal(count: AuditCount): Promise<number> {
    if (!('fromHead' in count)) return this.steps.count(count);
    const [[head], hidden] = await Promise.all([this.steps.find<AuditDoc>(auditHeadQuery()), count.minus ? this.steps.count(count.minus) : 0]);
    return (head?.sequence ?? 0) - hidden;
  }

  /**
   * Forward from the `audit_sequence` index. Appenders insert head + 1 concurrently, so a later
   * sequence can be visible before an earlier one: only the contiguous run is returned.
   */
  async auditEventsAfter(afterSequence: number, limit: number): Promise<AuditEvent[]> {
    const rows = await this.steps.find<AuditDoc>(auditAscendingQuery(afterSequence, limit));
    return contiguousAfter(afterSequence, rows.map(docToAudit));
  }

  /**
   * Details are stored as JSON text, so the token id is read from each event: the token events
   * (few: one per creation or revocation) are walked newest first on `audit_action_sequence`.
   */
  async lastTokenChange(tokenId: string): Promise<AuditEvent | null> {
    let before: number | null = null;
    for (;;) {
      const docs: AuditDoc[] = await this.steps.find<AuditDoc>(eventsOfActionsQuery(TOKEN_CHANGE_ACTIONS, before, TOKEN_EVENTS_BATCH));
      const match = docs.find((d) => (JSON.parse(d.details) as { tokenId?: unknown }).tokenId === tokenId);
      if (match) return docToAudit(match);
      if (docs.length < TOKEN_EVENTS_BATCH) return null;
      before = docs[docs.length - 1]!.sequence;
    }
  }

  async *auditEventsAscending(): AsyncIterable<AuditEvent> {
    await this.steps.settleAll(undefined, 'old');
    let last = 0;
    for (;;) {
      const rows = await this.steps.find<AuditDoc>(auditAscendingQuery(last, AUDIT_BATCH));
      for (const r of rows) yield docToAudit(r);
      if (rows.length < AUDIT_BATCH) return;
      last = rows[rows.length - 1]!.sequence;
    }
  }
}
