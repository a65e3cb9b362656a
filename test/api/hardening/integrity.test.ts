import Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, promote, publish, startRegistry } from '../../support/api-harness.js';

/**
 * Issue 9.7: rows that grant access (API tokens) or route traffic (deployment pointers) are
 * anchored in the audit chain. Each case edits the SQLite file directly, as an attacker or a
 * careless operator with database access would, while the server runs; the registry must notice.
 */
const VERIFY = `{ verifyAuditLog { valid firstInvalidSequence message } }`;
const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

describe.skipIf(process.env.MONGODB_URI)('rows edited in the database are caught against the audit chain (SQLite file)', () => {
  let h: Harness;
  let db: Database.Database;
  let v1: string;
  let v2: string;
  beforeAll(async () => {
    h = await startRegistry();
    db = new Database(join(h.dataDir, 'registry.db'));
    db.pragma('busy_timeout = 5000');
    v1 = await publish(h, 'fraud');
    v2 = await publish(h, 'fraud');
  });
  afterAll(async () => {
    db?.close();
    await h?.close();
  });
  beforeEach(async () => {
    // Each case starts from a registry whose rows match the chain: v2 live in production.
    db.prepare("DELETE FROM api_tokens WHERE name LIKE 'forged%'").run();
    const ok = await h.ok(VERIFY);
    if (!ok.verifyAuditLog.valid) throw new Error(`not clean before the case: ${ok.verifyAuditLog.message}`);
  });

  const insertToken = (secret: string, extra: { id?: string; auditSequence?: number | null; auditHash?: string | null } = {}) =>
    db
      .prepare(`INSERT INTO api_tokens (id, name, role, model_scope, expires_at, created_at, created_by, last_used_at, revoked_at, secret_hash, audit_sequence, audit_hash)
                VALUES (?, 'forged-admin', 'admin', NULL, NULL, ?, 'nobody', NULL, NULL, ?, ?, ?)`)
      .run(extra.id ?? `forged-${randomBytes(4).toString('hex')}`, Date.now(), sha(secret), extra.auditSequence ?? null, extra.auditHash ?? null);

  it('refuses an admin token row inserted without an audit event, and verifyAuditLog names it', async () => {
    const secret = `mr_${randomBytes(32).toString('base64url')}`;
    insertToken(secret);
    const r = await h.as(secret).gql(`{ viewer { role } }`);
    expect(r.status).toBe(401);
    const v = (await h.ok(VERIFY)).verifyAuditLog;
    expect(v.valid).toBe(false);
    expect(v.message).toMatch(/API token forged-[0-9a-f]+ has no audit event/);
  });

  it('refuses an inserted row that borrows a genuine token event, and one whose role was raised', async () => {
    const real = await h.token('VIEWER', { name: 'dashboard' });
    const row = db.prepare('SELECT audit_sequence, audit_hash FROM api_tokens WHERE id = ?').get(real.id) as { audit_sequence: number; audit_hash: string };
    const secret = `mr_${randomBytes(32).toString('base64url')}`;
    insertToken(secret, { auditSequence: row.audit_sequence, auditHash: row.audit_hash });
    expect((await h.as(secret).gql(`{ viewer { role } }`)).status).toBe(401);
    db.prepare("DELETE FROM api_tokens WHERE name LIKE 'forged%'").run();

    expect((await h.as(real.secret).ok(`{ viewer { role } }`)).viewer.role).toBe('VIEWER');
    db.prepare("UPDATE api_tokens SET role = 'admin' WHERE id = ?").run(real.id);
    expect((await h.as(real.secret).gql(`{ apiTokens { id } }`)).status).toBe(401);
    expect((await h.ok(VERIFY)).verifyAuditLog.message).toMatch(new RegExp(`API token ${real.id}: role, scope or expiry differ`));
    db.prepare("UPDATE api_tokens SET role = 'viewer' WHERE id = ?").run(real.id);
    expect((await h.as(real.secret).ok(`{ viewer { role } }`)).viewer.role).toBe('VIEWER');
  });

  it('refuses a revoked token whose row was put back to its state before the revocation', async () => {
    const t = await h.token('DEPLOYER', { name: 'undone' });
    const before = db.prepare('SELECT audit_sequence, audit_hash FROM api_tokens WHERE id = ?').get(t.id) as { audit_sequence: number; audit_hash: string };
    await h.ok(`mutation($id: ID!) { revokeApiToken(id: $id) { id } }`, { id: t.id });
    db.prepare('UPDATE api_tokens SET revoked_at = NULL, audit_sequence = ?, audit_hash = ? WHERE id = ?').run(before.audit_sequence, before.audit_hash, t.id);
    expect((await h.as(t.secret).gql(`{ viewer { role } }`)).status).toBe(401);
    const v = (await h.ok(VERIFY)).verifyAuditLog;
    expect(v.valid).toBe(false);
    expect(v.message).toMatch(new RegExp(`API token ${t.id} names audit event ${before.audit_sequence}, but its last change is event \\d+`));
    db.prepare('DELETE FROM api_tokens WHERE id = ?').run(t.id);
  });

  it('finds a pointer moved to another version, moved back to an older genuine event, or deleted', async () => {
    expect((await promote(h, v1)).data.promoteModelVersion.status).toBe('SUCCEEDED');
    expect((await promote(h, v2)).data.promoteModelVersion.status).toBe('SUCCEEDED');
    const now = db.prepare("SELECT * FROM pointers WHERE model_name = 'fraud' AND environment = 'production'").get() as Record<string, unknown>;
    const earlier = db.prepare("SELECT sequence, hash, details FROM audit_events WHERE action = 'MODEL_VERSION_PROMOTED' AND version_id = ? ORDER BY sequence DESC LIMIT 1").get(v1) as
      { sequence: number; hash: string; details: string };
    const restore = () =>
      db.prepare("INSERT OR REPLACE INTO pointers (model_name, environment, version_id, deployment_id, revision, audit_sequence, audit_hash) VALUES (@model_name, @environment, @version_id, @deployment_id, @revision, @audit_sequence, @audit_hash)").run(now);

    db.prepare("UPDATE pointers SET version_id = ? WHERE model_name = 'fraud'").run(v1);
    let v = (await h.ok(VERIFY)).verifyAuditLog;
    expect(v).toMatchObject({ valid: false, firstInvalidSequence: now.audit_sequence });
    expect(v.message).toMatch(/pointer fraud\/production shows version/);
    restore();

    const deploymentId = (JSON.parse(earlier.details) as { deploymentId: string }).deploymentId;
    db.prepare("UPDATE pointers SET version_id = ?, deployment_id = ?, audit_sequence = ?, audit_hash = ? WHERE model_name = 'fraud'")
      .run(v1, deploymentId, earlier.sequence, earlier.hash);
    v = (await h.ok(VERIFY)).verifyAuditLog;
    expect(v.valid).toBe(false);
    expect(v.message).toMatch(new RegExp(`pointer fraud/production names audit event ${earlier.sequence}, but its last change is event ${now.audit_sequence}`));
    restore();

    db.prepare("DELETE FROM pointers WHERE model_name = 'fraud'").run();
    v = (await h.ok(VERIFY)).verifyAuditLog;
    expect(v.message).toMatch(/pointer fraud\/production was moved by audit event \d+ but is missing/);
    restore();
    expect((await h.ok(VERIFY)).verifyAuditLog.valid).toBe(true);
  });

  it('finds the newest events deleted when they moved a pointer', async () => {
    expect((await promote(h, v1)).data.promoteModelVersion.status).toBe('SUCCEEDED');
    const head = (db.prepare('SELECT MAX(sequence) AS s FROM audit_events').get() as { s: number }).s;
    const saved = db.prepare('SELECT * FROM audit_events WHERE sequence = ?').get(head) as Record<string, unknown>;
    db.exec('DROP TRIGGER audit_no_delete');
    db.prepare('DELETE FROM audit_events WHERE sequence = ?').run(head);
    const v = (await h.ok(VERIFY)).verifyAuditLog;
    expect(v.valid).toBe(false);
    expect(v.message).toMatch(new RegExp(`pointer fraud/production names audit event ${head}, but its last change is event \\d+`));
    db.prepare('INSERT INTO audit_events (sequence, id, occurred_at, actor, action, model_name, version_id, details, previous_hash, hash) VALUES (@sequence, @id, @occurred_at, @actor, @action, @model_name, @version_id, @details, @previous_hash, @hash)').run(saved);
    db.exec("CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;");
    expect((await h.ok(VERIFY)).verifyAuditLog.valid).toBe(true);
  });
});
