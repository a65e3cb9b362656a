import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256, storeEnv } from '../support/api-harness.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';

/**
 * A registry process killed with SIGKILL in the middle of registrations, uploads, completions and
 * promotions: the next process on the same data finds every invariant intact and carries on.
 */
describe('a server process killed under load', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'registry-kill-'));
  const token = randomBytes(32).toString('base64url');
  const storage = storeEnv();
  const env = { REGISTRY_DATA_DIR: dataDir, REGISTRY_ADMIN_TOKEN: token, ...storage.env };
  let server: ServerProcess | null = null;
  afterAll(async () => {
    await server?.stop();
    await storage.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const gql = async (query: string, variables?: unknown) => {
    const res = await fetch(`${server!.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
    return (await res.json()) as { data: any; errors?: { extensions: { code: string } }[] };
  };

  /** Every node of a connection, page by page (the load may leave more than one page). */
  async function all(query: string, field: (data: any) => any): Promise<any[]> {
    const nodes: any[] = [];
    let after: string | null = null;
    do {
      const page: any = field((await gql(query, { after })).data);
      nodes.push(...page.edges.map((e: { node: unknown }) => e.node));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after);
    return nodes;
  }

  async function work(worker: number, stop: () => boolean): Promise<void> {
    for (let i = 0; !stop(); i++) {
      try {
        const bytes = Buffer.from(`w${worker} i${i}`);
        const r = await gql(`mutation($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { version { id } uploads { upload { url } } } }`, {
          input: { modelName: 'crashy', modelType: 'rf', datasetVersion: 'd', metrics: [{ name: 'roc_auc', value: i / 1000 }], artifacts: [{ path: 'm.bin', sizeBytes: bytes.length, sha256: sha256(bytes) }] },
        });
        const v = r.data?.registerModelVersion;
        if (!v) continue;
        await fetch(v.uploads[0].upload.url, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body: bytes });
        await gql(`mutation($id: ID!) { completeModelVersionUpload(versionId: $id) { status } }`, { id: v.version.id });
        await gql(`mutation($id: ID!) { promoteModelVersion(input: { versionId: $id }) { id } }`, { id: v.version.id });
        if (i % 3 === 0) await gql(`mutation { rollbackModel(input: { modelName: "crashy" }) { id } }`);
      } catch {
        return; // the server is gone
      }
    }
  }

  it('keeps numbering, deployments and the audit chain whole across the kill', async () => {
    server = await startServerProcess(env);
    let stopped = false;
    const workers = Array.from({ length: 6 }, (_, w) => work(w, () => stopped));
    await new Promise((r) => setTimeout(r, 1500));
    server.child.kill('SIGKILL');
    stopped = true;
    await Promise.all(workers);
    await server.stop();

    server = await startServerProcess(env);
    const verify = await gql(`{ verifyAuditLog { valid eventsChecked message } registryStats { auditEvents versions deployments } }`);
    expect(verify.data.verifyAuditLog).toMatchObject({ valid: true });
    expect(verify.data.verifyAuditLog.eventsChecked).toBe(verify.data.registryStats.auditEvents);
    // The load did real work before the kill: this is not a test of an idle server.
    expect(verify.data.registryStats.versions).toBeGreaterThan(5);
    expect(verify.data.registryStats.deployments).toBeGreaterThan(2);
    console.log(`killed after ${verify.data.registryStats.versions} versions, ${verify.data.registryStats.deployments} deployments, ${verify.data.registryStats.auditEvents} audit events`);

    const versionCount = (await gql(`{ model(name: "crashy") { versionCount } }`)).data.model.versionCount as number;
    const versions = await all(`query($after: String) { modelVersions(modelName: "crashy", first: 100, after: $after) { pageInfo { hasNextPage endCursor } edges { node { number } } } }`, (d) => d.modelVersions);
    expect(versions.map((v) => v.number).reverse()).toEqual(Array.from({ length: versionCount }, (_, i) => i + 1));
    const registered = await gql(`{ auditEvents(modelName: "crashy", action: "MODEL_VERSION_REGISTERED", first: 1) { totalCount } }`);
    expect(registered.data.auditEvents.totalCount).toBe(versionCount);

    const history = await all(`query($after: String) { deploymentHistory(modelName: "crashy", first: 100, after: $after) { pageInfo { hasNextPage endCursor } edges { node { status active version { id } previousVersion { id } } } } }`, (d) => d.deploymentHistory);
    const succeeded = history.filter((d: any) => d.status === 'SUCCEEDED').reverse();
    succeeded.forEach((d: any, i: number) => expect(d.previousVersion?.id ?? null).toBe(i === 0 ? null : succeeded[i - 1].version.id));
    const production = await gql(`{ productionModel(modelName: "crashy") { id } }`);
    expect(production.data.productionModel?.id ?? null).toBe(succeeded.at(-1)?.version.id ?? null);
    const deploymentEvents = await gql(`{ a: auditEvents(modelName: "crashy", action: "MODEL_VERSION_PROMOTED") { totalCount } b: auditEvents(modelName: "crashy", action: "MODEL_VERSION_ROLLED_BACK") { totalCount } c: auditEvents(modelName: "crashy", action: "PROMOTION_REFUSED") { totalCount } }`);
    const d = deploymentEvents.data;
    expect(d.a.totalCount + d.b.totalCount + d.c.totalCount).toBe(history.length);

    // A version left PENDING_UPLOAD by the kill can still be completed or re-registered; the registry carries on.
    const after = await gql(`mutation { registerModelVersion(input: { modelName: "crashy", modelType: "rf", datasetVersion: "d", metrics: [], artifacts: [{ path: "m", sizeBytes: 1, sha256: "${sha256('x')}" }] }) { version { number } } }`);
    expect(after.data.registerModelVersion.version.number).toBe(versionCount + 1);
  }, 120_000);
});
