import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegistryStore } from '../../src/stores/registry.store.js';
import { type Harness, REGISTER, promote, publish, sha256, startRegistry } from '../support/api-harness.js';

/** Calls the registry's background services make on their own (they may land while a request is counted). */
const BACKGROUND = new Set(['listWebhooks', 'webhookRedeliveries', 'advanceWebhookCursor', 'acquireLease', 'releaseLease', 'getLease', 'listAuditEvents', 'auditEventsAfter']);

const ROW = `id number status environments
  deployments(first: 3) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id environment action status active deployedBy version { id number } previousVersion { id number } } }
  }`;

/**
 * The dashboard page (versions with their environments and their own deployments page) is batched
 * at every level: the same store calls for 5 rows as for 50, and the same answers as one version
 * at a time and as the store's own per-version listing.
 */
describe('dashboard: ModelVersion.deployments batched per request', () => {
  let h: Harness;
  let store: RegistryStore | null = null;
  const calls: string[] = [];
  beforeAll(async () => {
    const wrapStore = (s: RegistryStore): RegistryStore => {
      store = s;
      return new Proxy(s, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver);
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            calls.push(String(prop));
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
    };
    h = await startRegistry({}, { wrapStore });
    // Seeded pseudo-random history: 46 versions left pending, then 14 READY ones promoted at random to 3 environments.
    let seed = 20261203;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 46; i++) {
      const bytes = Buffer.from(`pending ${i}`);
      await h.ok(REGISTER, {
        input: { modelName: 'dash', modelType: 't', datasetVersion: 'd', metrics: [{ name: 'roc_auc', value: 0.5 }], artifacts: [{ path: 'm.bin', sizeBytes: bytes.length, sha256: sha256(bytes) }] },
      });
    }
    const ready: string[] = [];
    for (let i = 0; i < 14; i++) ready.push(await publish(h, 'dash', { files: { 'm.bin': Buffer.from(`v${i}`) } }));
    const envs = ['production', 'staging', 'canary'];
    for (let i = 0; i < 60; i++) {
      const r = await promote(h, ready[rand(ready.length)]!, { environment: envs[rand(envs.length)] });
      expect(r.errors).toBeUndefined();
    }
    // Newest first: the READY versions (with deployments) lead the page, so 5 rows hold nested deployments and versions too.
  }, 120_000);
  afterAll(async () => {
    await h.close();
  });

  const page = (first: number) => `{ modelVersions(modelName: "dash", first: ${first}) { totalCount edges { node { ${ROW} } } } }`;

  async function readsFor(first: number): Promise<{ data: any; reads: Record<string, number> }> {
    calls.length = 0;
    const data = await h.ok(page(first));
    const reads = calls.filter((c) => !BACKGROUND.has(c)).reduce<Record<string, number>>((acc, c) => ({ ...acc, [c]: (acc[c] ?? 0) + 1 }), {});
    return { data, reads };
  }

  it('makes the same store calls for 5 rows as for 60, with one call for all the deployments pages', async () => {
    const sixty = await readsFor(60);
    const five = await readsFor(5);
    expect(sixty.data.modelVersions.edges).toHaveLength(60);
    expect(five.data.modelVersions.edges).toHaveLength(5);
    expect(sixty.reads).toEqual(five.reads);
    expect(sixty.reads.listVersionDeployments).toBe(1);
    expect(sixty.reads.listDeployments ?? 0).toBe(0);
    // The 60 rows hold deployments, so the nested versions were loaded too, still a fixed number of calls.
    const deployments = sixty.data.modelVersions.edges.reduce((n: number, e: any) => n + e.node.deployments.edges.length, 0);
    expect(deployments).toBeGreaterThan(20);
  });

  it('answers each row as asking for that version alone does, and each deployments page as the store lists it', async () => {
    const { data } = await readsFor(60);
    for (const { node } of data.modelVersions.edges) {
      const alone = await h.ok(`query($id: ID!) { modelVersion(id: $id) { ${ROW} } }`, { id: node.id });
      expect(alone.modelVersion).toEqual(node);
      const listed = await store!.listDeployments({ modelName: 'dash', environment: null, versionId: node.id, status: null }, { first: 3, after: null });
      expect(node.deployments.totalCount).toBe(listed.totalCount);
      expect(node.deployments.pageInfo.hasNextPage).toBe(listed.hasNextPage);
      expect(node.deployments.edges.map((e: any) => [e.cursor, e.node.id])).toEqual(listed.items.map((i) => [i.cursor, i.node.id]));
    }
  });

  it('pages on after a cursor one version at a time, continuing where the batched first page stopped', async () => {
    const { data } = await readsFor(60);
    const busy = data.modelVersions.edges.map((e: any) => e.node).find((n: any) => n.deployments.pageInfo.hasNextPage);
    expect(busy).toBeDefined();
    const next = await h.ok(`query($id: ID!, $after: String) { modelVersion(id: $id) { deployments(first: 100, after: $after) { totalCount edges { node { id } } } } }`, {
      id: busy.id, after: busy.deployments.pageInfo.endCursor,
    });
    const all = await store!.listDeployments({ modelName: 'dash', environment: null, versionId: busy.id, status: null }, { first: 100, after: null });
    expect([...busy.deployments.edges, ...next.modelVersion.deployments.edges].map((e: any) => e.node.id)).toEqual(all.items.map((i) => i.node.id));
    expect(next.modelVersion.deployments.totalCount).toBe(all.totalCount);
  });

  it('refuses a bad page size on the nested field with BAD_USER_INPUT', async () => {
    expect(await h.code('{ modelVersions(modelName: "dash", first: 2) { edges { node { deployments(first: 101) { totalCount } } } } }')).toBe('BAD_USER_INPUT');
  });
});

/** The models list: each model's latestVersion comes from one batched store call, whatever the page size. */
describe('models list: Model.latestVersion batched per request', () => {
  let h: Harness;
  let store: RegistryStore | null = null;
  const calls: string[] = [];
  beforeAll(async () => {
    h = await startRegistry({}, {
      wrapStore: (s: RegistryStore): RegistryStore => {
        store = s;
        return new Proxy(s, {
          get(target, prop, receiver) {
            const value = Reflect.get(target, prop, receiver);
            if (typeof value !== 'function') return value;
            return (...args: unknown[]) => {
              calls.push(String(prop));
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
          },
        });
      },
    });
    for (let i = 0; i < 24; i++) {
      const bytes = Buffer.from(`lv ${i}`);
      await h.ok(REGISTER, {
        input: { modelName: `lv-${i % 8}`, modelType: 't', datasetVersion: 'd', metrics: [{ name: 'roc_auc', value: 0.5 }], artifacts: [{ path: 'm.bin', sizeBytes: bytes.length, sha256: sha256(bytes) }] },
      });
    }
  }, 60_000);
  afterAll(async () => {
    await h.close();
  });

  const list = (first: number) => `{ models(search: "lv-", first: ${first}) { edges { node { name latestVersion { id number status } } } } }`;
  async function readsFor(first: number) {
    calls.length = 0;
    const data = await h.ok(list(first));
    const reads = calls.filter((c) => !BACKGROUND.has(c)).reduce<Record<string, number>>((acc, c) => ({ ...acc, [c]: (acc[c] ?? 0) + 1 }), {});
    return { data, reads };
  }

  it('makes the same store calls for 2 models as for 8, and answers as latestVersion does for each', async () => {
    const eight = await readsFor(8);
    const two = await readsFor(2);
    expect(eight.data.models.edges).toHaveLength(8);
    expect(eight.reads).toEqual(two.reads);
    expect(eight.reads.latestVersions).toBe(1);
    expect(eight.reads.latestVersion ?? 0).toBe(0);
    for (const { node } of eight.data.models.edges) {
      const v = await store!.latestVersion(node.name, null);
      expect(node.latestVersion).toEqual({ id: v!.id, number: v!.number, status: v!.status });
      expect(node.latestVersion.number).toBe(3);
    }
  });
});
