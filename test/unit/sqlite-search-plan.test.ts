import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SearchPosition, VersionFilter, VersionOrder, VersionSearch } from '../../src/domain/version-search.js';
import { EMPTY_FILTER } from '../../src/domain/version-search.js';
import { searchDriver } from '../../src/stores/search-plan.js';
import { SqliteRegistryStore } from '../../src/stores/sqlite-registry.store.js';
import { searchStatements } from '../../src/stores/sqlite-version-search.js';
import { draft, newVersion } from '../support/fixtures.js';

/**
 * modelVersions(filter, orderBy) on SQLite, checked with the query planner on a registry of more
 * than a thousand versions: every statement (page and count, with and without a cursor, before and
 * after ANALYZE) walks the driver index of docs/queries.md bounded by the model, never scans a
 * table or a whole index, and never sorts (the index gives the order).
 */
const VERSIONS = 1200;
let dir: string;
let db: Database.Database;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'registry-plan-'));
  const store = new SqliteRegistryStore(join(dir, 'registry.db'));
  for (let i = 0; i < VERSIONS; i++) {
    await store.registerVersion(
      newVersion(i % 4 === 0 ? 'other' : 'plan', {
        tags: i % 3 === 0 ? ['gpu'] : ['cpu', 'nightly'],
        labels: { team: i % 2 === 0 ? 'ml' : 'data', shard: String(i % 10) },
        datasetVersion: `ds-${i % 5}`,
        createdBy: ['alice', 'bob'][i % 2]!,
        metrics: [{ name: 'roc_auc', value: (i % 100) / 100 }, { name: 'f1', value: (i % 7) / 7 }],
      }),
      () => draft('MODEL_VERSION_REGISTERED'),
    );
  }
  await store.close();
  db = new Database(join(dir, 'registry.db'), { readonly: true });
}, 120_000);

afterAll(() => {
  db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const filters: [string, Partial<VersionFilter>][] = [
  ['none', {}],
  ['one status', { statuses: ['READY'] }],
  ['statuses', { statuses: ['READY', 'PENDING_UPLOAD'] }],
  ['tags', { tags: ['gpu', 'nightly'] }],
  ['labels', { labels: { team: 'ml', shard: '3' } }],
  ['dataset', { datasetVersion: 'ds-2' }],
  ['creator', { createdBy: 'bob' }],
  ['time', { createdAfter: new Date(1), createdBefore: new Date(2 ** 42) }],
  ['metric', { metric: { name: 'roc_auc', gte: 0.2, lte: 0.8 } }],
  ['everything', {
    statuses: ['PENDING_UPLOAD', 'READY'], tags: ['gpu'], labels: { team: 'ml' }, datasetVersion: 'ds-1', createdBy: 'alice',
    createdAfter: new Date(1), createdBefore: new Date(2 ** 42), metric: { name: 'f1', gte: 0.1, lte: null },
  }],
];
const orders: VersionOrder[] = [
  { by: 'NUMBER', metric: null, direction: 'DESC' },
  { by: 'NUMBER', metric: null, direction: 'ASC' },
  { by: 'CREATED_AT', metric: null, direction: 'DESC' },
  { by: 'CREATED_AT', metric: null, direction: 'ASC' },
  { by: 'METRIC', metric: 'roc_auc', direction: 'DESC' },
  { by: 'METRIC', metric: 'f1', direction: 'ASC' },
];
const cursorFor = (o: VersionOrder): SearchPosition =>
  o.by === 'NUMBER' ? { by: 'NUMBER', number: 500 } : o.by === 'CREATED_AT' ? { by: 'CREATED_AT', createdAt: Date.now(), number: 500 } : { by: 'METRIC', value: 0.5, number: 500 };

/** The driver index each plan must walk. */
const DRIVER_INDEX: Record<string, string> = {
  metric: 'version_metrics_search', created: 'versions_by_model_created', label: 'version_labels_search', tag: 'version_tags_search',
  dataset: 'versions_by_model_dataset', creator: 'versions_by_model_creator', status: 'versions_by_model_status', number: 'sqlite_autoindex_versions_2',
};

function plan(sql: string, params: Record<string, unknown>): string[] {
  return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((r) => r.detail);
}

/** Why a plan is not an index walk bounded by the model; null if it is. */
function problem(lines: string[], driverIndex: string): string | null {
  // SCAN of a table (or a whole index) of ours: only json_each (the few bound statuses) may be scanned.
  const scans = lines.filter((l) => /^SCAN /.test(l) && !/json_each/.test(l));
  if (scans.length > 0) return `scans: ${scans.join(' | ')}`;
  if (lines.some((l) => /TEMP B-TREE/.test(l))) return `sorts: ${lines.join(' | ')}`;
  const first = lines.find((l) => /^SEARCH /.test(l)) ?? '';
  if (!first.includes(driverIndex) || !/model_name=\?/.test(first)) return `does not start with ${driverIndex} (model_name=?): ${lines.join(' | ')}`;
  return null;
}

describe('SQLite search plans (EXPLAIN QUERY PLAN) on more than a thousand versions', () => {
  it('has the data it claims', () => {
    expect((db.prepare('SELECT COUNT(*) AS n FROM versions').get() as { n: number }).n).toBe(VERSIONS);
    expect((db.prepare('SELECT COUNT(*) AS n FROM version_labels').get() as { n: number }).n).toBe(2 * VERSIONS);
  });

  for (const analyzed of [false, true]) {
    it(`walks the driver index of every filter, order and cursor, page and count, never a scan or a sort${analyzed ? ' (after ANALYZE)' : ''}`, () => {
      if (analyzed) {
        const w = new Database(join(dir, 'registry.db'));
        w.exec('ANALYZE');
        w.close();
      }
      const problems: string[] = [];
      let checked = 0;
      for (const [label, filter] of filters) {
        for (const order of orders) {
          const search: VersionSearch = { modelName: 'plan', filter: { ...EMPTY_FILTER, ...filter }, order };
          const index = DRIVER_INDEX[searchDriver(search).kind]!;
          for (const after of [null, cursorFor(order)]) {
            const q = searchStatements(search, after);
            for (const [what, sql] of [['page', q.page], ['count', q.count]] as const) {
              const lines = plan(sql, what === 'page' ? { ...q.params, limit: 21 } : q.params);
              const p = problem(lines, index);
              if (p) problems.push(`${label} / ${order.by} ${order.direction} / ${after ? 'after' : 'first'} / ${what}: ${p}`);
              checked++;
            }
          }
        }
      }
      expect(problems).toEqual([]);
      expect(checked).toBe(filters.length * orders.length * 4);
    });
  }

  it('the check is not vacuous: a plain filter on a column without an index is a scan', () => {
    expect(problem(plan("SELECT * FROM versions WHERE json_extract(doc, '$.modelType') = 'x'", {}), 'versions_by_model_created')).toMatch(/scans/);
    expect(problem(plan("SELECT * FROM versions WHERE model_name = @m ORDER BY json_extract(doc, '$.modelType')", { m: 'plan' }), 'sqlite_autoindex_versions_2')).toMatch(/sorts/);
    expect(problem(plan('SELECT * FROM versions WHERE model_name = @m ORDER BY number DESC', { m: 'plan' }), 'versions_by_model_created')).toMatch(/does not start/);
  });
});
