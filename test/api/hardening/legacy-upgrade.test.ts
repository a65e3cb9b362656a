import Database from 'better-sqlite3';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../../src/app.js';
import { loadConfig } from '../../../src/config.js';
import { SqliteRegistryStore } from '../../../src/stores/sqlite-registry.store.js';
import { draft } from '../../support/fixtures.js';

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/**
 * A registry file from before rows were anchored in the chain (no audit columns, token events
 * without a secret fingerprint) is upgraded at open: rows anchored to their last events, and each
 * older token bound to its secret by one API_TOKEN_ANCHORED event, so that its secret can no
 * longer be swapped in the database unnoticed.
 */
describe.skipIf(process.env.MONGODB_URI)('upgrading a registry file made before anchors (SQLite)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'registry-legacy-'));
  let app: App | undefined;
  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps older tokens working, anchored, and refuses one whose secret was swapped afterwards', async () => {
    const file = join(dir, 'registry.db');
    const secret = `mr_${randomBytes(32).toString('base64url')}`;
    const id = randomUUID();
    // The old layout: today's store appends the creation event as an old registry wrote it (no
    // fingerprint); then the anchor columns are dropped and the token row written as it was.
    const store = new SqliteRegistryStore(file);
    await store.appendAudit({ ...draft('API_TOKEN_CREATED', {}, { tokenId: id, name: 'old-admin', role: 'admin', modelScope: null, expiresAt: null }), actor: 'registry' });
    await store.close();
    const db = new Database(file);
    for (const table of ['pointers', 'api_tokens']) db.exec(`ALTER TABLE ${table} DROP COLUMN audit_sequence; ALTER TABLE ${table} DROP COLUMN audit_hash;`);
    db.prepare(`INSERT INTO api_tokens (id, name, role, model_scope, expires_at, created_at, created_by, last_used_at, revoked_at, secret_hash)
                VALUES (?, 'old-admin', 'admin', NULL, NULL, ?, 'registry', NULL, NULL, ?)`).run(id, Date.now(), sha(secret));
    db.close();

    app = await createApp(loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', REGISTRY_DATA_DIR: dir }));
    const url = await app.listen();
    const gql = async (query: string, token = secret) =>
      (await (await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query }) })).json()) as { data?: any; errors?: unknown[] };
    expect((await gql('{ viewer { role } }')).data.viewer.role).toBe('ADMIN');
    const anchored = await gql('{ auditEvents(action: "API_TOKEN_ANCHORED") { edges { node { details } } } }');
    expect(anchored.data.auditEvents.edges).toHaveLength(1);
    expect(anchored.data.auditEvents.edges[0].node.details).toMatchObject({ tokenId: id, secretFingerprint: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect((await gql('{ verifyAuditLog { valid message } }')).data.verifyAuditLog).toMatchObject({ valid: true });

    const swapped = `mr_${randomBytes(32).toString('base64url')}`;
    const edit = new Database(file);
    edit.prepare('UPDATE api_tokens SET secret_hash = ? WHERE id = ?').run(sha(swapped), id);
    edit.close();
    const refused = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${swapped}` }, body: JSON.stringify({ query: '{ viewer { role } }' }) });
    expect(refused.status).toBe(401);
  });

  it('adds the primary metric column to a file made before it: existing models rank by roc_auc, as they did', async () => {
    const file = join(dir, 'before-primary.db');
    const store = new SqliteRegistryStore(file);
    await store.registerVersion(
      {
        id: 'v20260101000000_00000001', modelName: 'older', modelType: 'rf', status: 'PENDING_UPLOAD', failureReason: null, description: null, datasetVersion: 'd',
        metrics: [], hyperparameters: {}, featureNames: [], training: { trainedAt: null, durationSeconds: null, trainingSamples: null, validationSamples: null },
        tags: [], artifacts: [], createdAt: new Date(), createdBy: 'test',
      },
      (v) => draft('MODEL_VERSION_REGISTERED', { modelName: v.modelName, versionId: v.id }),
    );
    await store.close();
    const db = new Database(file);
    db.exec('ALTER TABLE models DROP COLUMN primary_metric');
    db.close();

    const upgraded = new SqliteRegistryStore(file);
    try {
      expect((await upgraded.getModel('older'))?.primaryMetric).toBe('roc_auc');
      expect(await upgraded.updateModel('older', { primaryMetric: 'f1' }, draft('MODEL_UPDATED', { modelName: 'older' }))).toMatchObject({ primaryMetric: 'f1' });
    } finally {
      await upgraded.close();
    }
    const check = new Database(file, { readonly: true });
    expect(check.prepare("SELECT primary_metric FROM models WHERE name = 'older'").get()).toEqual({ primary_metric: 'f1' });
    check.close();
  });

  it('adds the legal hold and purge columns to a file made before them: existing versions read as not held, not purged, and can be held', async () => {
    const file = join(dir, 'before-retention.db');
    const store = new SqliteRegistryStore(file);
    const id = 'v20260101000000_00000002';
    await store.registerVersion(
      {
        id, modelName: 'kept', modelType: 'rf', status: 'PENDING_UPLOAD', failureReason: null, description: null, datasetVersion: 'd',
        metrics: [], hyperparameters: {}, featureNames: [], training: { trainedAt: null, durationSeconds: null, trainingSamples: null, validationSamples: null },
        tags: [], artifacts: [], createdAt: new Date(), createdBy: 'test',
      },
      (v) => draft('MODEL_VERSION_REGISTERED', { modelName: v.modelName, versionId: v.id }),
    );
    await store.close();
    const db = new Database(file);
    db.exec('ALTER TABLE versions DROP COLUMN legal_hold; ALTER TABLE versions DROP COLUMN purged_at;');
    db.close();

    const upgraded = new SqliteRegistryStore(file);
    try {
      expect(await upgraded.getVersion(id)).toMatchObject({ id, legalHold: null, purgedAt: null });
      const hold = { reason: 'case', setBy: 'admin', setAt: new Date() };
      expect((await upgraded.setLegalHold(id, hold, draft('LEGAL_HOLD_SET', { versionId: id })))?.legalHold).toEqual(hold);
    } finally {
      await upgraded.close();
    }
    const check = new Database(file, { readonly: true });
    expect(check.prepare('SELECT purged_at, json_extract(legal_hold, \'$.reason\') AS reason FROM versions WHERE id = ?').get(id)).toEqual({ purged_at: null, reason: 'case' });
    check.close();
  });
});
