import Database from 'better-sqlite3';
import { createPublicKey, generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/audit/canonical-json.js';
import { checkpointName, signCheckpoint } from '../../src/audit/checkpoint.js';
import { sealEvent } from '../../src/audit/hash-chain.js';
import { verifyOffline } from '../../src/audit/offline-verify.js';
import type { AuditEvent } from '../../src/domain/model.js';
import { type Harness, publish, startRegistry } from '../support/api-harness.js';
import { startServerProcess } from '../support/server-process.js';
import { draft } from '../support/fixtures.js';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';

/**
 * Issue 15 (signed checkpoints): the audit chain's head is signed (Ed25519, a key outside the
 * database) into checkpoints kept in the artifact store, so that deleting the newest events or
 * rewriting the whole log is caught by verifyAuditLog and by the offline verifier, which name
 * the signed sequence. Each case edits the SQLite file as an attacker with database access would.
 */
const VERIFY = `{ verifyAuditLog { valid firstInvalidSequence message checkpointsChecked newestCheckpointSequence } }`;

describe.skipIf(process.env.MONGODB_URI)('signed audit checkpoints (SQLite file, artifact directory)', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  /** A registry with `events` audit events (a few real changes, the rest appended through the store), then a checkpoint. */
  async function checkpointed(events: number): Promise<{ h: Harness; db: Database.Database; signed: number }> {
    h = await startRegistry({ REGISTRY_AUDIT_CHECKPOINT_EVERY_SECONDS: '0', REGISTRY_AUDIT_CHECKPOINT_EVERY_EVENTS: '10000000' });
    await publish(h, 'ledger');
    while ((await h.app.store.stats()).auditEvents < events) await h.app.store.appendAudit(draft('MODEL_UPDATED', { modelName: 'ledger' }, { filler: true }));
    const cp = await h.app.services.checkpoints.writeIfDue(true);
    expect(cp).not.toBeNull();
    const db = new Database(join(h.dataDir, 'registry.db'));
    db.pragma('busy_timeout = 5000');
    db.exec('DROP TRIGGER IF EXISTS audit_no_delete; DROP TRIGGER IF EXISTS audit_no_update;');
    return { h, db, signed: cp!.checkpoint.sequence };
  }

  async function exportedLines(harness: Harness, path: string): Promise<string[]> {
    const res = await fetch(`${harness.url}${path}`, { headers: harness.auth() });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/ndjson/);
    return (await res.text()).split('\n').filter((l) => l !== '');
  }

  async function offline(harness: Harness) {
    const events = await exportedLines(harness, '/v1/audit/export');
    const checkpoints = (await exportedLines(harness, '/v1/audit/checkpoints')).map((body) => ({ name: null, body }));
    const pem = await (await fetch(`${harness.url}/v1/audit/public-key`)).text();
    return verifyOffline((async function* () { yield* events; })(), checkpoints, pem);
  }

  it('signs the head into a checkpoint outside the database; the public key verifies it; the log verifies online and offline', async () => {
    const { h, db, signed } = await checkpointed(20);
    db.close();
    const v = (await h.ok(VERIFY)).verifyAuditLog;
    expect(v).toMatchObject({ valid: true, checkpointsChecked: 1, newestCheckpointSequence: signed });
    // The checkpoint signs its own record, the last event of the log.
    const head = (await h.ok(`{ auditEvents(first: 1) { edges { node { sequence action } } } }`)).auditEvents.edges[0].node;
    expect(head).toEqual({ sequence: signed, action: 'AUDIT_CHECKPOINT_WRITTEN' });
    expect(readdirSync(join(h.dataDir, 'artifacts', 'audit-checkpoints')).filter((n) => !n.startsWith('.'))).toEqual([checkpointName(signed)]);
    const pem = await (await fetch(`${h.url}/v1/audit/public-key`)).text();
    const [line] = await exportedLines(h, '/v1/audit/checkpoints');
    const stored = JSON.parse(line!);
    expect(verify(null, Buffer.from(canonicalJson(stored.checkpoint)), createPublicKey(pem), Buffer.from(stored.signature, 'base64'))).toBe(true);
    const off = await offline(h);
    expect(off).toMatchObject({ valid: true, checkpointsChecked: 1, newestCheckpointSequence: signed, problems: [] });
    expect(off.chain.eventsChecked).toBe(signed);
    // No new event since: nothing to sign.
    expect(await h.app.services.checkpoints.writeIfDue(true)).toBeNull();
  });

  it.each([1, 10, 1000])('catches the deletion of the last %i event(s) and names the signed sequence', async (k) => {
    const { h, db, signed } = await checkpointed(k + 20);
    db.prepare('DELETE FROM audit_events WHERE sequence > ?').run(signed - k);
    db.close();
    const v = (await h.ok(VERIFY)).verifyAuditLog;
    expect(v.valid).toBe(false);
    expect(v.firstInvalidSequence).toBe(signed);
    expect(v.message).toContain(`TRUNCATED: the log ends at sequence ${signed - k}, before sequence ${signed}`);
    const off = await offline(h);
    expect(off.valid).toBe(false);
    expect(off.problems.map((p) => [p.kind, p.sequence])).toContainEqual(['TRUNCATED', signed]);
  });

  it('catches a log deleted and rebuilt into a new self-consistent chain', async () => {
    const { h, db, signed } = await checkpointed(30);
    const rows = db.prepare('SELECT * FROM audit_events ORDER BY sequence').all() as Record<string, any>[];
    db.prepare('DELETE FROM audit_events').run();
    const insert = db.prepare(`INSERT INTO audit_events (sequence, id, occurred_at, actor, action, model_name, version_id, details, previous_hash, hash)
                               VALUES (@sequence, @id, @occurredAt, @actor, @action, @modelName, @versionId, @details, @previousHash, @hash)`);
    let head: AuditEvent | null = null;
    for (const r of rows) {
      // The same events, one of them attributed to someone else, re-chained from the start.
      const e: AuditEvent = sealEvent({ id: r.id, occurredAt: new Date(r.occurred_at), actor: r.sequence === 5 ? 'mallory' : r.actor, action: r.action,
        modelName: r.model_name, versionId: r.version_id, details: JSON.parse(r.details) }, head);
      insert.run({ ...e, occurredAt: e.occurredAt.getTime(), details: JSON.stringify(e.details) });
      head = e;
    }
    db.close();
    const v = (await h.ok(VERIFY)).verifyAuditLog;
    expect(v.valid).toBe(false);
    expect(v.message).toContain(`REWRITTEN: event ${signed} no longer has the hash signed`);
    expect((await offline(h)).problems.map((p) => [p.kind, p.sequence])).toEqual([['REWRITTEN', signed]]);
  });

  it('catches one event altered with every later hash recomputed', async () => {
    const { h, db, signed } = await checkpointed(30);
    const rows = db.prepare('SELECT * FROM audit_events WHERE sequence >= 3 ORDER BY sequence').all() as Record<string, any>[];
    let previousHash = (db.prepare('SELECT hash FROM audit_events WHERE sequence = 2').get() as { hash: string }).hash;
    const update = db.prepare('UPDATE audit_events SET details = ?, previous_hash = ?, hash = ? WHERE sequence = ?');
    for (const r of rows) {
      const details = r.sequence === 3 ? { ...JSON.parse(r.details), note: 'rewritten' } : JSON.parse(r.details);
      const e = sealEvent({ id: r.id, occurredAt: new Date(r.occurred_at), actor: r.actor, action: r.action, modelName: r.model_name, versionId: r.version_id, details },
        { sequence: r.sequence - 1, hash: previousHash });
      update.run(JSON.stringify(details), e.previousHash, e.hash, r.sequence);
      previousHash = e.hash;
    }
    db.close();
    const v = (await h.ok(VERIFY)).verifyAuditLog;
    expect(v.valid).toBe(false);
    expect(v.firstInvalidSequence).toBe(signed);
    expect(v.message).toMatch(/REWRITTEN/);
  });

  it('catches a forged checkpoint and a missing one, and links each checkpoint to the one before', async () => {
    const { h, db, signed } = await checkpointed(10);
    db.close();
    await h.app.store.appendAudit(draft('MODEL_UPDATED', { modelName: 'ledger' }));
    const second = (await h.app.services.checkpoints.writeIfDue(true))!;
    await h.app.store.appendAudit(draft('MODEL_UPDATED', { modelName: 'ledger' }));
    const third = (await h.app.services.checkpoints.writeIfDue(true))!;
    expect((await h.ok(VERIFY)).verifyAuditLog).toMatchObject({ valid: true, checkpointsChecked: 3, newestCheckpointSequence: third.checkpoint.sequence });
    const dir = join(h.dataDir, 'artifacts', 'audit-checkpoints');
    rmSync(join(dir, checkpointName(second.checkpoint.sequence)));
    let v = (await h.ok(VERIFY)).verifyAuditLog;
    expect(v.valid).toBe(false);
    expect(v.message).toContain(`MISSING_CHECKPOINT: the checkpoint at sequence ${third.checkpoint.sequence} names a previous checkpoint that is missing`);
    expect(v.message).toContain(`the log records a checkpoint at sequence ${second.checkpoint.sequence}, but it is not in storage`);
    // Put back a checkpoint with the right contents, signed with another key: forged.
    const mallory = generateKeyPairSync('ed25519').privateKey;
    writeFileSync(join(dir, checkpointName(second.checkpoint.sequence)), JSON.stringify(signCheckpoint(second.checkpoint, mallory)));
    v = (await h.ok(VERIFY)).verifyAuditLog;
    expect(v.message).toContain(`FORGED_CHECKPOINT: the checkpoint "${checkpointName(second.checkpoint.sequence)}" is not signed`);
    expect((await offline(h)).problems.map((p) => p.kind)).toContain('FORGED_CHECKPOINT');
    expect(signed).toBeLessThan(second.checkpoint.sequence);
  });

  it('pages the same export through GraphQL (auditExport), which verifies offline like the route\'s', async () => {
    const { h, db, signed } = await checkpointed(25);
    db.close();
    const lines: string[] = [];
    for (let after = 0; ;) {
      const page = (await h.ok(`query($a: Float, $n: Int) { auditExport(afterSequence: $a, first: $n) { id sequence occurredAt actor action modelName versionId details previousHash hash } }`, { a: after, n: 7 })).auditExport;
      if (page.length === 0) break;
      expect(page.map((e: { sequence: number }) => e.sequence)).toEqual(page.map((_: unknown, i: number) => after + 1 + i)); // contiguous
      lines.push(...page.map((e: object) => JSON.stringify(e)));
      after = page.at(-1).sequence;
    }
    expect(lines).toHaveLength(signed);
    const checkpoints = (await exportedLines(h, '/v1/audit/checkpoints')).map((body) => ({ name: null, body }));
    const pem = await (await fetch(`${h.url}/v1/audit/public-key`)).text();
    expect(await verifyOffline((async function* () { yield* lines; })(), checkpoints, pem)).toMatchObject({ valid: true, checkpointsChecked: 1 });
    const viewer = await h.token('VIEWER');
    expect(await h.as(viewer.secret).code('{ auditExport { sequence } }')).toBe('FORBIDDEN');
    expect(await h.code('{ auditExport(first: 0) { sequence } }')).toBe('BAD_USER_INPUT');
    expect(await h.code('{ auditExport(afterSequence: -1) { sequence } }')).toBe('BAD_USER_INPUT');
  });

  it('serves the export to unscoped admins only, and refuses a bad cursor with 400', async () => {
    h = await startRegistry();
    await publish(h, 'ledger');
    const viewer = await h.token('VIEWER');
    const scoped = await h.token('ADMIN', { modelScope: 'ledger' });
    expect((await fetch(`${h.url}/v1/audit/export`)).status).toBe(401);
    expect((await fetch(`${h.url}/v1/audit/export`, { headers: h.auth(viewer.secret) })).status).toBe(403);
    expect((await fetch(`${h.url}/v1/audit/checkpoints`, { headers: h.auth(scoped.secret) })).status).toBe(403);
    const bad = await fetch(`${h.url}/v1/audit/export?after=-1`, { headers: h.auth() });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { code: string }).code).toBe('BAD_USER_INPUT');
    const after3 = await exportedLines(h, '/v1/audit/export?after=3');
    expect(JSON.parse(after3[0]!).sequence).toBe(4);
    expect((await fetch(`${h.url}/v1/audit/public-key`)).status).toBe(200); // public
  });
});

describe.skipIf(process.env.MONGODB_URI)('checkpoints written by a server process on its own', () => {
  it('writes one after every N events, and a last one at SIGTERM that covers every event; the key file is 0600 beside the database', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'registry-checkpoints-'));
    const token = randomBytes(32).toString('base64url');
    const server = await startServerProcess({ REGISTRY_DATA_DIR: dataDir, REGISTRY_ADMIN_TOKEN: token, REGISTRY_AUDIT_CHECKPOINT_EVERY_EVENTS: '5' });
    try {
      const gql = (query: string) => fetch(`${server.url}/graphql`, {
        method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query }),
      }).then((r) => r.json() as Promise<any>);
      for (let i = 0; i < 6; i++) await gql(`mutation { createApiToken(name: "t${i}", role: VIEWER) { token { id } } }`);
      const names = () => readdirSync(join(dataDir, 'artifacts', 'audit-checkpoints')).filter((n) => !n.startsWith('.'));
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && (await gql('{ verifyAuditLog { checkpointsChecked } }')).data.verifyAuditLog.checkpointsChecked === 0) await sleep(250);
      expect(names()).toHaveLength(1);
      await gql(`mutation { createApiToken(name: "late", role: VIEWER) { token { id } } }`);
      await server.stop();
      const db = new Database(join(dataDir, 'registry.db'), { readonly: true });
      const head = db.prepare('SELECT sequence, action FROM audit_events ORDER BY sequence DESC LIMIT 1').get() as { sequence: number; action: string };
      db.close();
      expect(head.action).toBe('AUDIT_CHECKPOINT_WRITTEN');
      expect(names().at(-1)).toBe(checkpointName(head.sequence));
      expect(names()).toHaveLength(2);
      const { statSync } = await import('node:fs');
      expect(statSync(join(dataDir, 'audit-signing-key.pem')).mode & 0o777).toBe(0o600);
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe.skipIf(process.env.MONGODB_URI)('checkpoints written by two processes taking turns', () => {
  it('links each checkpoint to the one of the record before it in the log, even when a writer stalls past its lease', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'registry-cp-turns-'));
    const env = { PORT: '0', HOST: '127.0.0.1', REGISTRY_DATA_DIR: dataDir, LOG_LEVEL: 'silent', REGISTRY_ADMIN_TOKEN: randomBytes(32).toString('base64url'),
      REGISTRY_AUDIT_CHECKPOINT_EVERY_SECONDS: '0', REGISTRY_CLEANUP_INTERVAL_SECONDS: '0' };
    // A's storage write of its checkpoint waits until released: A has appended its record and stalls there.
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const a = await createApp(loadConfig(env), {
      wrapArtifacts: (real) => Object.assign(Object.create(real) as typeof real, {
        writeAuditCheckpoint: async (name: string, body: Buffer) => { await gate; return real.writeAuditCheckpoint(name, body); },
      }),
    });
    const b = await createApp(loadConfig(env));
    const db = new Database(join(dataDir, 'registry.db'));
    try {
      await a.store.appendAudit(draft('MODEL_UPDATED', { modelName: 'turns' }));
      const stalled = a.services.checkpoints.writeIfDue(true);
      const deadline = Date.now() + 10_000;
      while (!(db.prepare("SELECT 1 FROM audit_events WHERE action = 'AUDIT_CHECKPOINT_WRITTEN'").get()) && Date.now() < deadline) await sleep(20);
      // A's lease runs out while it stalls; B takes over, signs A's record (storage lacks it) and then its own.
      db.prepare("UPDATE leases SET expires_at = 0 WHERE name = 'audit:checkpoints'").run();
      await b.store.appendAudit(draft('MODEL_UPDATED', { modelName: 'turns' }));
      const second = (await b.services.checkpoints.writeIfDue(true))!;
      release();
      const first = (await stalled)!;
      expect(first.checkpoint.sequence).toBeLessThan(second.checkpoint.sequence); // A ends with the checkpoint B stored for its record
      const v = await b.services.checkpoints.verifyAuditLog({ name: 'test', tokenId: 't', role: 'admin', modelScope: null });
      expect(v).toMatchObject({ valid: true, checkpointsChecked: 2, newestCheckpointSequence: second.checkpoint.sequence });
    } finally {
      release();
      db.close();
      await a.close();
      await b.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('the audit signing key with MongoDB', () => {
  it('refuses to start on MongoDB without REGISTRY_AUDIT_SIGNING_KEY_FILE (each replica would sign with a key of its own), before connecting', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'registry-cp-mongo-'));
    try {
      // Nothing listens on port 9: the refusal must come before any connection attempt.
      const config = loadConfig({ PORT: '0', REGISTRY_DATA_DIR: dataDir, LOG_LEVEL: 'silent', MONGODB_URI: 'mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=200' });
      await expect(createApp(config)).rejects.toThrow(/with MongoDB, set REGISTRY_AUDIT_SIGNING_KEY_FILE/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
