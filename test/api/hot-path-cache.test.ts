import { describe, expect, it } from 'vitest';
import { type Harness, publish } from '../support/api-harness.js';
import { twoServerProcesses } from '../support/server-process.js';

/**
 * The inference hot path's per-process cache (services/hot-path/deployed-cache.ts) never serves a
 * stale deployment: two registry processes on one store, every change made through B, and the
 * very next productionModel and download route through A answer with it.
 */
describe('deployed-version cache across processes', () => {
  const two = twoServerProcesses('hot-path');
  const B = 1;
  const A = 0;
  /** Enough of a Harness for publish(), talking to process B. */
  const viaB = {
    async ok(query: string, variables?: Record<string, unknown>) {
      const r = await two.gql(B, query, variables);
      if (r.errors) throw new Error(JSON.stringify(r.errors));
      return r.data;
    },
  } as unknown as Harness;

  async function productionModelOnA(): Promise<{ id: string; description: string | null } | null> {
    const r = await two.gql(A, '{ productionModel(modelName: "hot") { id description artifacts { path downloadUrl { url } } } }');
    expect(r.errors).toBeUndefined();
    return r.data.productionModel;
  }
  async function downloadOnA(): Promise<string | null> {
    const res = await fetch(`${two.server(A).url}/v1/models/hot/versions/production/artifacts/m.bin`, {
      headers: { authorization: `Bearer ${two.token}` }, redirect: 'manual',
    });
    await res.arrayBuffer();
    return res.status === 302 ? res.headers.get('x-model-version-id') : `status ${res.status}`;
  }
  async function onB(query: string, variables: Record<string, unknown>) {
    const r = await two.gql(B, query, variables);
    expect(r.errors).toBeUndefined();
    return r.data;
  }
  const promoteOnB = (versionId: string) => onB('mutation($v: ID!) { promoteModelVersion(input: { versionId: $v }) { id status } }', { v: versionId });

  it('sees a promotion, a rollback and a description change made by the other process on the very next read', async () => {
    const versions: string[] = [];
    for (let i = 0; i < 3; i++) versions.push(await publish(viaB, 'hot', { files: { 'm.bin': Buffer.from(`weights ${i}`) } }));
    expect(await productionModelOnA()).toBeNull();
    expect(await downloadOnA()).toBe('status 404');
    for (let round = 0; round < 6; round++) {
      const v = versions[round % 3]!;
      await promoteOnB(v);
      // The very next reads through A, then a few more (served from A's cache while nothing changes).
      for (let i = 0; i < 3; i++) {
        expect((await productionModelOnA())?.id).toBe(v);
        expect(await downloadOnA()).toBe(v);
      }
    }
    const before = (await productionModelOnA())!.id;
    await onB('mutation { rollbackModel(input: { modelName: "hot", environment: "production" }) { id } }', {});
    const after = (await productionModelOnA())!.id;
    expect(after).not.toBe(before);
    expect(await downloadOnA()).toBe(after);
    // A change to the deployed version itself (not its pointer) is seen as well.
    await onB('mutation($v: ID!) { updateModelVersion(versionId: $v, description: "retrained on May data") { id } }', { v: after });
    expect((await productionModelOnA())!.description).toBe('retrained on May data');
  });
});
