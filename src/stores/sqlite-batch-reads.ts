import type Database from 'better-sqlite3';
import type { Deployment, Page } from '../domain/model.js';
import { type VersionKey, versionPages } from './batched-pages.js';
import { type DeploymentRow, type VersionRow, rowToDeployment } from './sqlite-schema.js';

/**
 * Per-parent pages in one statement (window functions): each version's newest first+1 deployments
 * and its total, from the deployments_by_version index (version_id, seq).
 */
const VERSION_DEPLOYMENTS = `
  SELECT * FROM (
    SELECT d.*, ROW_NUMBER() OVER (PARTITION BY d.version_id ORDER BY d.seq DESC) AS rn,
           COUNT(*) OVER (PARTITION BY d.version_id) AS total
    FROM deployments d WHERE d.version_id IN (SELECT value FROM json_each(@ids))
  ) WHERE rn <= @limit`;

/** Each asked model's highest-numbered version, each found through versions (model_name, number). */
const LATEST_VERSIONS = `
  SELECT v.* FROM (SELECT DISTINCT value AS name FROM json_each(?)) asked
  JOIN versions v ON v.model_name = asked.name
   AND v.number = (SELECT MAX(number) FROM versions WHERE model_name = asked.name)`;

export function sqliteLatestVersions(sql: (text: string) => Database.Statement, modelNames: readonly string[]): VersionRow[] {
  if (modelNames.length === 0) return [];
  return sql(LATEST_VERSIONS).all(JSON.stringify(modelNames)) as VersionRow[];
}

export function sqliteVersionDeployments(sql: (text: string) => Database.Statement, keys: readonly VersionKey[], first: number): Map<string, Page<Deployment>> {
  if (keys.length === 0) return new Map();
  const ids = JSON.stringify([...new Set(keys.map((k) => k.versionId))]);
  const rows = sql(VERSION_DEPLOYMENTS).all({ ids, limit: first + 1 }) as (DeploymentRow & { rn: number; total: number })[];
  // The version id names its model: rows of a version asked under another model's name are not its deployments.
  const modelOf = new Map(keys.map((k) => [k.versionId, k.modelName]));
  const mine = rows.filter((r) => modelOf.get(r.version_id) === r.model_name);
  const totals = new Map(mine.map((r) => [r.version_id, r.total]));
  return versionPages(keys, first, mine.map((r) => ({ deployment: rowToDeployment(r), seq: r.seq })), totals);
}
