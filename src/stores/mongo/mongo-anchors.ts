import type { AuditRef, JsonObject } from '../../domain/model.js';
import { legacyTokenAnchorDraft, needsLegacyAnchor } from '../../audit/anchors.js';
import { POINTER_MOVE_ACTIONS, TOKEN_CHANGE_ACTIONS } from '../../domain/audit-actions.js';
import { type AuditDoc, COLLECTIONS, type CollectionName, type CounterDoc, type PointerDoc, type TokenDoc, docToAudit, docToToken, pointerKey } from './mongo-documents.js';
import { type FindSpec, auditBySequenceQuery, listTokensQuery, pointersOfModelQuery, pointersPageQuery } from './mongo-queries.js';
import type { UpdateSpec } from './mongo-updates.js';
import type { MongoSteps } from './mongo-steps.js';

/**
 * One-time backfill of the rows' audit anchors (pointers, tokens) on a database written before
 * anchors existed, like sqlite-migrations.ts for SQLite: each row lacking the `audit` field is
 * anchored to the last event of the chain that changed it (a pointer: the last promotion or
 * rollback of that model and environment; a token: its last creation or revocation event). The
 * `counters` document `schema` records that it ran, so later starts skip it at the cost of one
 * lookup by `_id`. Two processes starting at once may both run it: every write is conditional on
 * the field still being absent, so the result is the same.
 */
export const ANCHORS_SCHEMA_VERSION = 1;
const BATCH = 500;

export function schemaVersionQuery(): FindSpec {
  return { collection: COLLECTIONS.counters, filter: { _id: 'schema' }, limit: 1, index: '_id_' };
}

export function schemaVersionUpdate(version: number): UpdateSpec {
  return { collection: COLLECTIONS.counters, filter: { _id: 'schema' }, update: { $max: { value: version } }, upsert: true, index: '_id_' };
}

/**
 * The events of some actions, newest first, below `beforeSequence`: the `$in` ranges of
 * `audit_action_sequence`, merge-sorted by sequence. Details are JSON text, so the environment or
 * token id is read from each event, not filtered by the server; the walk stops once every row is anchored.
 */
export function eventsOfActionsQuery(actions: readonly string[], beforeSequence: number | null, batch: number): FindSpec {
  return {
    collection: COLLECTIONS.audit,
    filter: { action: { $in: [...actions] }, ...(beforeSequence !== null && { sequence: { $lt: beforeSequence } }) },
    sort: { sequence: -1 },
    limit: batch,
    index: 'audit_action_sequence',
  };
}

/** Anchors a row written before anchors existed; a row that has the field (even null) is left alone. */
export function backfillAnchorUpdate(collection: CollectionName, id: string, ref: AuditRef | null): UpdateSpec {
  return {
    collection,
    filter: { _id: id, audit: { $exists: false } },
    update: { $set: { audit: ref && { sequence: ref.sequence, hash: ref.hash } } },
    index: '_id_',
    residual: { audit: 'at most one document (the filter names its _id)' },
  };
}

/**
 * Every pointer document in (model, environment) order, in batches of `pointers_model_env`. A
 * model cut by a batch boundary is read whole on its own (one document per environment), and the
 * next batch starts after it.
 */
export async function* allPointerDocs(steps: MongoSteps, batch = BATCH): AsyncIterable<PointerDoc> {
  let afterModel: string | null = null;
  for (;;) {
    const rows: PointerDoc[] = await steps.find<PointerDoc>(pointersPageQuery(afterModel, batch));
    const cut = rows.length === batch ? rows[rows.length - 1]!.modelName : null;
    for (const p of rows) if (p.modelName !== cut) yield p;
    if (cut === null) return;
    yield* await steps.find<PointerDoc>(pointersOfModelQuery(cut));
    afterModel = cut;
  }
}

export async function backfillAnchors(steps: MongoSteps): Promise<void> {
  const [schema] = await steps.find<CounterDoc>(schemaVersionQuery());
  if ((schema?.value ?? 0) >= ANCHORS_SCHEMA_VERSION) return;
  const pointers = new Set<string>();
  for await (const p of allPointerDocs(steps)) if (p.audit === undefined) pointers.add(p._id);
  const tokens = new Set((await steps.find<TokenDoc>(listTokensQuery())).filter((t) => t.audit === undefined).map((t) => t._id));
  await anchorFromEvents(steps, COLLECTIONS.pointers, pointers, POINTER_MOVE_ACTIONS, (e, d) =>
    e.modelName !== null && typeof d.environment === 'string' ? pointerKey(e.modelName, d.environment) : null);
  await anchorFromEvents(steps, COLLECTIONS.tokens, new Set(tokens), TOKEN_CHANGE_ACTIONS, (_e, d) => (typeof d.tokenId === 'string' ? d.tokenId : null));
  await bindLegacySecrets(steps, tokens);
  await steps.update(schemaVersionUpdate(ANCHORS_SCHEMA_VERSION));
}

/**
 * Tokens created before fingerprints were recorded: one API_TOKEN_ANCHORED event each binds the
 * token to its secret. The event is deterministic (legacyTokenAnchorDraft), so two processes
 * upgrading at once append it once and anchor the row to the same event.
 */
async function bindLegacySecrets(steps: MongoSteps, ids: ReadonlySet<string>): Promise<void> {
  for (const doc of await steps.find<TokenDoc>(listTokensQuery())) {
    if (!ids.has(doc._id) || !doc.audit) continue;
    const [last] = await steps.find<AuditDoc>(auditBySequenceQuery(doc.audit.sequence));
    if (!needsLegacyAnchor(last ? docToAudit(last) : null, doc.revokedAt !== null)) continue;
    const event = await steps.appendAudit(legacyTokenAnchorDraft(docToToken(doc)));
    await steps.update(legacyAnchorUpdate(doc._id, doc.audit, { sequence: event.sequence, hash: event.hash }));
  }
}

/** Moves a token's anchor from its creation event to the event that bound its secret, if it still names the former. */
export function legacyAnchorUpdate(id: string, from: AuditRef, to: AuditRef): UpdateSpec {
  return {
    collection: COLLECTIONS.tokens,
    filter: { _id: id, 'audit.sequence': from.sequence },
    update: { $set: { audit: { sequence: to.sequence, hash: to.hash } } },
    index: '_id_',
    residual: { 'audit.sequence': 'at most one document (the filter names its _id)' },
  };
}

/** Walks the events of `actions` newest first; the first event naming a row is its last change. */
async function anchorFromEvents(
  steps: MongoSteps, collection: CollectionName, ids: Set<string>, actions: readonly string[], rowOf: (e: AuditDoc, details: JsonObject) => string | null,
): Promise<void> {
  let before: number | null = null;
  while (ids.size > 0) {
    const events: AuditDoc[] = await steps.find<AuditDoc>(eventsOfActionsQuery(actions, before, BATCH));
    for (const e of events) {
      const row = rowOf(e, JSON.parse(e.details) as JsonObject);
      if (row === null || !ids.delete(row)) continue;
      await steps.update(backfillAnchorUpdate(collection, row, { sequence: e.sequence, hash: e.hash }));
    }
    if (events.length < BATCH) break;
    before = events[events.length - 1]!.sequence;
  }
  // Rows that no event ever changed (made outside the registry): explicitly unanchored, as on SQLite.
  for (const id of ids) await steps.update(backfillAnchorUpdate(collection, id, null));
}
