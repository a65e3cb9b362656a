import { describe, expect, it } from 'vitest';
import { sha256 } from '../support/api-harness.js';
import { twoServerProcesses } from '../support/server-process.js';

/**
 * Two registry processes on one store (the SQLite file, or a MongoDB database when MONGODB_URI is
 * set): the store, not process memory, must keep version numbers gap-free, one active deployment
 * per environment, and the audit chain whole.
 */
describe(`two server processes on one ${process.env.MONGODB_URI ? 'MongoDB database' : 'SQLite file'}`, () => {
  const two = twoServerProcesses('two');
  const gql = (i: number, query: string, variables?: unknown) => two.gql(i, query, variables);

  it('keeps every invariant under concurrent registrations, promotions and rollbacks', async () => {
    const bytes = (i: number) => Buffer.from(`weights ${i}`);
    const registrations = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        gql(i, `mutation($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { version { id number } uploads { upload { url headers { name value } } } } }`, {
          input: { modelName: 'contended', modelType: 'rf', datasetVersion: 'd', metrics: [{ name: 'roc_auc', value: i / 100 }], artifacts: [{ path: 'm.bin', sizeBytes: bytes(i).length, sha256: sha256(bytes(i)) }] },
        }),
      ),
    );
    expect(registrations.filter((r) => r.errors)).toEqual([]);
    const numbers = registrations.map((r) => r.data.registerModelVersion.version.number as number).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));

    const readyIds: string[] = [];
    for (let i = 0; i < 10; i++) {
      const { version, uploads } = registrations[i]!.data.registerModelVersion;
      const put = await fetch(uploads[0].upload.url, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body: bytes(i) });
      expect(put.status).toBe(200);
      const done = await gql(i + 1, `mutation($id: ID!) { completeModelVersionUpload(versionId: $id) { status } }`, { id: version.id });
      expect(done.data.completeModelVersionUpload.status).toBe('READY');
      readyIds.push(version.id);
    }

    const ops = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        i % 3 === 2
          ? gql(i, `mutation { rollbackModel(input: { modelName: "contended" }) { id } }`)
          : gql(i, `mutation($id: ID!) { promoteModelVersion(input: { versionId: $id }) { id } }`, { id: readyIds[(i * 7) % 10] }),
      ),
    );
    const codes = ops.flatMap((r) => (r.errors ?? []).map((e) => e.extensions.code));
    expect(codes.filter((c) => !['CONFLICT', 'FAILED_PRECONDITION'].includes(c))).toEqual([]);
    expect(ops.filter((r) => !r.errors).length).toBeGreaterThan(0);

    const all: any[] = [];
    let after: string | null = null;
    do {
      const page: any = await gql(0, `query($after: String) { deploymentHistory(modelName: "contended", environment: "production", first: 100, after: $after) {
        pageInfo { hasNextPage endCursor } edges { node { status active version { id } previousVersion { id } } } } }`, { after });
      all.push(...page.data.deploymentHistory.edges.map((e: { node: unknown }) => e.node));
      after = page.data.deploymentHistory.pageInfo.hasNextPage ? page.data.deploymentHistory.pageInfo.endCursor : null;
    } while (after);
    const succeeded = all.filter((d) => d.status === 'SUCCEEDED').reverse();
    expect(all.filter((d) => d.active)).toHaveLength(1);
    expect(succeeded.at(-1).active).toBe(true);
    succeeded.forEach((d, i) => expect(d.previousVersion?.id ?? null).toBe(i === 0 ? null : succeeded[i - 1].version.id));
    const prod = await gql(1, `{ productionModel(modelName: "contended") { id } }`);
    expect(prod.data.productionModel.id).toBe(succeeded.at(-1).version.id);

    const verify = await gql(0, `{ verifyAuditLog { valid eventsChecked } registryStats { auditEvents deployments } }`);
    expect(verify.data.verifyAuditLog.valid).toBe(true);
    expect(verify.data.verifyAuditLog.eventsChecked).toBe(verify.data.registryStats.auditEvents);
    // 50 registrations + 10 completions + one event per deployment (succeeded or refused)
    expect(verify.data.registryStats.auditEvents).toBe(60 + verify.data.registryStats.deployments);
  }, 120_000);
});
