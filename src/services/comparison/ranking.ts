import { InvalidArgumentError, NotFoundError } from '../../domain/errors.js';
import { DEFAULT_ENVIRONMENT, LIMITS } from '../../domain/limits.js';
import type { Model, ModelVersion, Page, SortDirection } from '../../domain/model.js';
import { VERIFIED_STATUSES } from '../../domain/model.js';
import { metricValue } from '../../domain/policy.js';
import { checkMetricName, checkPageSize, checkStringList, checkVersionIdFormat } from '../../domain/validation.js';
import type { RegistryStore } from '../../stores/registry.store.js';
import { decodeListCursor, pageOf } from '../paging/list-cursors.js';

export interface VersionComparison {
  rank: number;
  version: ModelVersion;
  value: number | null;
  deltaVsProduction: number | null;
}

export interface CompareArgs {
  /** Null or absent: the model's primaryMetric. */
  metric?: string | null;
  direction: SortDirection;
  versionIds: string[] | null;
  first: number;
  after?: string | null;
  /** Count the whole ranking for totalCount (a count over the model's versions); the plain list skips it. */
  withTotal?: boolean;
}

const LIST = 'compareVersions';

/**
 * compareVersions: the model's verified (READY and ARCHIVED) versions ranked by a metric, a page
 * at a time. The cursor is the last version's position (its value and number: a keyset, so a
 * version verified between pages is neither repeated nor skipped) with its rank, the metric and
 * the direction (a cursor is not reused for another ranking); the store ranks from an index, so a
 * page costs O(first). When the best version compared lacks the metric, none has it: that is said
 * (NOT_FOUND naming the metrics they do have), not answered with a column of nulls.
 */
export async function rankPage(store: RegistryStore, model: Model, args: CompareArgs): Promise<Page<VersionComparison>> {
  const metric = checkMetricName('metric', args.metric ?? model.primaryMetric);
  const first = checkPageSize('first', args.first);
  if (args.versionIds) {
    checkStringList('versionIds', args.versionIds, LIMITS.compareVersionIds, 64);
    args.versionIds.forEach((id, i) => checkVersionIdFormat(`versionIds[${i}]`, id));
  }
  const cursor = decodeListCursor(LIST, args.after, ['string', 'string', 'number', 'value', 'number']);
  if (cursor && (cursor[0] !== metric || cursor[1] !== args.direction)) throw new InvalidArgumentError('after', 'is a cursor of a ranking by another metric or direction');
  const [rankBefore, after] = cursor ? [cursor[2] as number, { value: cursor[3] as number | null, number: cursor[4] as number }] : [0, null];
  const query = { modelName: model.name, metric, direction: args.direction, statuses: VERIFIED_STATUSES, versionIds: args.versionIds };
  const [ranked, best, pointer, total] = await Promise.all([
    // With versionIds (a few), all of them after the cursor: their count tells the total.
    store.rankVersions({ ...query, after, limit: Math.max(first + 1, args.versionIds?.length ?? 0) }),
    after ? store.rankVersions({ ...query, limit: 1 }) : null,
    store.getPointer(model.name, DEFAULT_ENVIRONMENT),
    !args.withTotal ? null
      : args.versionIds ? store.rankVersions({ ...query, limit: args.versionIds.length }).then((all) => all.length) : verifiedCount(store, model.name),
  ]);
  // Versions having the metric rank first: if the best has none, none of them has it.
  const top = (best ?? ranked)[0];
  if (top && metricValue(top.metrics, metric) === null) {
    const known = [...new Set(ranked.concat(best ?? []).flatMap((v) => v.metrics.map((m) => m.name)))].slice(0, 20);
    throw new NotFoundError(`No version compared has the metric "${metric}"${known.length ? `; they have: ${known.join(', ')}` : ''}`);
  }
  const live = pointer?.versionId ?? null;
  const production = live ? (ranked.find((v) => v.id === live) ?? (await store.getVersion(live))) : null;
  const base = production ? metricValue(production.metrics, metric) : null;
  const rows = ranked.map((version, i) => {
    const value = metricValue(version.metrics, metric);
    return { rank: rankBefore + i + 1, version, value, deltaVsProduction: value !== null && base !== null ? value - base : null };
  });
  return pageOf(LIST, rows, first, total ?? rankBefore + rows.length, (r) => [metric, args.direction, r.rank, r.value, r.version.number]);
}

async function verifiedCount(store: RegistryStore, modelName: string): Promise<number> {
  const counts = await Promise.all(VERIFIED_STATUSES.map((status) => store.listVersions({ modelName, status }, { first: 0, after: null })));
  return counts.reduce((n, page) => n + page.totalCount, 0);
}
