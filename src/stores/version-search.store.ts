import type { Labels } from '../domain/lineage.js';
import type { AuditDraft, ModelVersion, Page, PageRequest } from '../domain/model.js';
import type { VersionSearch } from '../domain/version-search.js';

/**
 * The search and labels part of the metadata port (RegistryStore extends it). Both engines serve
 * every search from an index chosen by the plan in docs/queries.md: never a scan of the versions
 * collection, only a walk of one index range of the model, the other conditions checked on the way.
 */
export interface VersionSearchStore {
  /**
   * The model's versions that match `search.filter` (every condition given; docs/queries.md has the table), in
   * `search.order`; keyset pages (the cursor is the last version's position in that order; a
   * cursor of another order is refused with InvalidArgumentError('after')). totalCount: all matches.
   */
  searchVersions(search: VersionSearch, page: PageRequest): Promise<Page<ModelVersion>>;
  /** Replaces the version's labels and appends the audit event in one write. Null if the version does not exist. */
  setVersionLabels(id: string, labels: Labels, audit: AuditDraft): Promise<ModelVersion | null>;
}
