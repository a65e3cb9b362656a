import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deployment, ModelVersion } from '../../src/domain/model.js';
import { LIVE_AT_SQL } from '../../src/stores/sqlite-governance.js';
import { SqliteRegistryStore } from '../../src/stores/sqlite-registry.store.js';
import { draft, newDeployment, newVersion } from '../support/fixtures.js';

const N = 100_000;
const BASE = Date.UTC(2026, 0, 1);
/** Deployment i happens at BASE + i seconds (a tie every 1000th: two at the same instant, told apart by revision). */
const instant = (i: number) => BASE + (i % 1000 === 999 ? i - 1 : i) * 1000;

/**
 * servingAt on a model with 100 000 deployments, seeded through the store API (SQLite, a real
 * file): the query plan is one search of the deployments_live_at index (no scan, no sort), and the
 * answers match a brute-force reading of the history at every boundary.
 */
describe('servingAt over 100 000 deployments (SQLite)', () => {
  let dir: string;
  let store: SqliteRegistryStore;
  const history: Deployment[] = [];
  beforeAll(async () => {
    // A RAM-backed directory where there is one: 100 000 committed transactions, each synced, would otherwise wait on the disk.
    dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'serving-at-'));
    store = new SqliteRegistryStore(join(dir, 'registry.db'));
    const versions: ModelVersion[] = [];
    for (let k = 0; k < 2; k++) {
      const v = await store.registerVersion(newVersion('big'), () => draft('MODEL_VERSION_REGISTERED'));
      const r = await store.transitionVersion(v.id, { from: ['PENDING_UPLOAD'], to: 'READY', failureReason: null, requireUndeployed: false }, draft('MODEL_VERSION_READY'));
      if (r.kind !== 'ok') throw new Error(r.kind);
      versions.push(r.version);
    }
    let previous: Deployment | null = null;
    for (let i = 0; i < N; i++) {
      const v = versions[i % 2]!;
      const d = newDeployment(v, 'production', previous && { versionId: previous.versionId, deploymentId: previous.id }, { deployedAt: new Date(instant(i)) });
      const r = await store.moveDeploymentPointer(d, previous?.revision ?? null, { ...draft('MODEL_VERSION_PROMOTED'), occurredAt: d.deployedAt });
      if (r.kind !== 'moved') throw new Error(r.kind);
      history.push(r.deployment);
      previous = r.deployment;
    }
  }, 300_000);
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The reference: the last deployment (in revision order) whose instant is not after `at`. */
  const reference = (at: number): string | null => {
    let lo = 0;
    let hi = history.length - 1;
    let found: Deployment | null = null;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (history[mid]!.deployedAt.getTime() <= at) {
        found = history[mid]!;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found?.id ?? null;
  };

  it('holds the whole history', async () => {
    expect(history).toHaveLength(N);
    expect((await store.listDeployments({ modelName: 'big', environment: 'production', versionId: null, status: null }, { first: 1, after: null })).totalCount).toBe(N);
  });

  it('is answered by one search of the deployments_live_at index: no scan, no temporary sort', () => {
    const db = new Database(join(dir, 'registry.db'), { readonly: true });
    try {
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${LIVE_AT_SQL}`).all('big', 'production', BASE) as { detail: string }[]).map((r) => r.detail);
      expect(plan).toHaveLength(1);
      expect(plan[0]).toMatch(/^SEARCH deployments USING INDEX deployments_live_at \(model_name=\? AND environment=\? AND deployed_at<\?\)$/);
      expect(plan.join(' ')).not.toMatch(/SCAN|TEMP B-TREE/);
    } finally {
      db.close();
    }
  });

  it('answers every boundary: before the first, exactly at an instant, just before the next, ties, after the last', async () => {
    const at = async (t: number) => (await store.deploymentLiveAt('big', 'production', new Date(t)))?.id ?? null;
    expect(await at(BASE - 1)).toBeNull();
    expect(await at(BASE)).toBe(history[0]!.id);
    for (const i of [1, 2, 500, 998, 999, 1000, 50_000, 77_777, N - 1]) {
      expect(await at(instant(i))).toBe(reference(instant(i)));
      expect(await at(instant(i) - 1)).toBe(reference(instant(i) - 1));
    }
    // A tie (998 and 999 share an instant): the higher revision, the later one, was live after it.
    expect(await at(instant(999))).toBe(history[999]!.id);
    expect(await at(instant(N - 1) + 3_600_000)).toBe(history[N - 1]!.id);
    expect(await store.deploymentLiveAt('big', 'staging', new Date(instant(N - 1)))).toBeNull();
  });

  it('matches the brute-force reading at 2000 random instants', async () => {
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let k = 0; k < 2000; k++) {
      const t = BASE - 5000 + Math.floor(random() * (N * 1000 + 10_000));
      expect((await store.deploymentLiveAt('big', 'production', new Date(t)))?.id ?? null).toBe(reference(t));
    }
  });
});
