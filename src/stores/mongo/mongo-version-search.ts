import type { Labels } from '../../domain/lineage.js';
import type { AuditDraft, ModelVersion, Page, PageRequest } from '../../domain/model.js';
import type { VersionSearch } from '../../domain/version-search.js';
import { decodeSearchCursor, searchPage } from '../search-cursor.js';
import { COLLECTIONS, type MetricDoc, type PendingMarker, type VersionDoc, docToVersion, draftToDoc, labelPairsOf } from './mongo-documents.js';
import { searchMetricCountQuery, searchMetricQuery, searchMetricVersionsQuery, searchVersionsQuery } from './mongo-search-queries.js';
import type { MongoSteps } from './mongo-steps.js';
import { markedUpdate } from './mongo-updates.js';

/** Metric index entries read per round of an order by metric (the versions of a batch are then read by `_id`). */
const METRIC_BATCH = 200;

/** searchVersions and setVersionLabels of MongoRegistryStore (reads: mongo-search-queries.ts). */
export class MongoVersionSearch {
  constructor(private readonly steps: MongoSteps) {}

  async searchVersions(search: VersionSearch, page: PageRequest): Promise<Page<ModelVersion>> {
    const after = decodeSearchCursor(search.order, page.after);
    // Reads see every committed write of this model (statuses, tags, labels) finished.
    await this.steps.settle(COLLECTIONS.versions, { modelName: search.modelName });
    if (search.order.by !== 'METRIC') {
      const q = searchVersionsQuery(search, after, page.first + 1);
      const [rows, total] = await Promise.all([this.steps.find<VersionDoc>(q.page), this.steps.count(q.count)]);
      return searchPage(rows.map(docToVersion), page.first, total, search.order);
    }
    const [rows, total] = await Promise.all([
      this.metricOrdered(search, after?.by === 'METRIC' ? { value: after.value, number: after.number } : null, page.first + 1),
      this.steps.count(searchMetricCountQuery(search)),
    ]);
    return searchPage(rows, page.first, total, search.order);
  }

  /** Walks the metric index in batches from the position, keeping the versions that pass the filter, until `limit`. */
  private async metricOrdered(search: VersionSearch, from: { value: number; number: number } | null, limit: number): Promise<ModelVersion[]> {
    const out: ModelVersion[] = [];
    let position = from;
    while (out.length < limit) {
      const batch = await this.steps.find<MetricDoc>(searchMetricQuery(search, position, Math.max(limit, METRIC_BATCH)));
      if (batch.length === 0) break;
      const passing = await this.steps.find<VersionDoc>(searchMetricVersionsQuery(search, batch.map((m) => m.versionId)));
      const byId = new Map(passing.map((d) => [d._id, d]));
      for (const m of batch) {
        const doc = byId.get(m.versionId);
        if (doc) out.push(docToVersion(doc));
        if (out.length >= limit) break;
      }
      if (batch.length < Math.max(limit, METRIC_BATCH)) break;
      const last = batch[batch.length - 1]!;
      position = { value: last.value, number: last.number };
    }
    return out;
  }

  async setVersionLabels(id: string, labels: Labels, audit: AuditDraft): Promise<ModelVersion | null> {
    const marker: PendingMarker = { id: audit.id, op: 'update', phase: 'committed', audit: draftToDoc(audit) };
    const written = await this.steps.markedWrite<VersionDoc>(
      COLLECTIONS.versions,
      id,
      () => this.steps.findAndUpdate<VersionDoc>(markedUpdate(COLLECTIONS.versions, id, { labels, labelPairs: labelPairsOf(labels) }, marker)),
      `Version ${id}`,
    );
    return written ? docToVersion(written.doc) : null;
  }
}
