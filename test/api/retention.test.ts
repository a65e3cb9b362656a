import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactStore } from '../../src/artifacts/artifact.store.js';
import { ENV_ADMIN_ACTOR, type Harness, publish, startRegistry } from '../support/api-harness.js';
import { artifactBackends } from '../support/artifact-backends.js';

/**
 * Issue 15 (retention and legal hold), over real HTTP on both artifact stores. `h` keeps the
 * default retention (seven years: nothing can be purged); `h0` runs with REGISTRY_RETENTION_DAYS=0
 * and wraps the real artifact store so that `discard` can be made to throw once (a crash between
 * the purge's store write and the deletion of the bytes).
 */
const HOLD = `mutation($id: ID!, $on: Boolean!, $reason: String!) { setLegalHold(versionId: $id, on: $on, reason: $reason) { id status legalHold { reason setBy setAt } } }`;
const PURGE = `mutation($id: ID!, $reason: String!) { purgeModelVersion(versionId: $id, reason: $reason) { id status purgedAt retainedUntil } }`;
const ARCHIVE = `mutation($id: ID!) { archiveModelVersion(versionId: $id, reason: "retired") { id status } }`;
const VERSION = `query($id: ID!) { modelVersion(id: $id) { id number status createdAt retainedUntil purgedAt legalHold { reason setBy }
  metrics { name value } artifacts { path sha256 sizeBytes downloadUrl { url } } } }`;
const EVENTS = `query($action: String!) { auditEvents(action: $action, first: 100) { edges { node { actor versionId details } } } }`;

/** A destructive storage step that fails once when armed: wraps the registry's real artifact store. */
function discardFailsOnce() {
  const state = { armed: false, failures: 0 };
  const wrap = (inner: ArtifactStore): ArtifactStore =>
    new Proxy(inner, {
      get(target, prop, receiver) {
        if (prop === 'discard') {
          return async (...args: Parameters<ArtifactStore['discard']>) => {
            if (state.armed) {
              state.armed = false;
              state.failures++;
              throw new Error('storage went away (injected once)');
            }
            return target.discard(...args);
          };
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  return { state, wrap };
}

describe.each(artifactBackends('retention'))('retention and legal hold over HTTP, %s', (_name, backend) => {
  let h: Harness;
  let h0: Harness;
  let closeBackend: () => Promise<void>;
  const fault = discardFailsOnce();
  beforeAll(async () => {
    const b = await backend();
    closeBackend = b.close;
    h = await startRegistry(b.env);
    h0 = await startRegistry({ ...b.env, REGISTRY_RETENTION_DAYS: '0' }, { wrapArtifacts: fault.wrap });
  });
  afterAll(async () => {
    await h?.close();
    await h0?.close();
    await closeBackend?.();
  });

  const bytesAt = async (url: string) => {
    const res = await fetch(url);
    return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
  };
  const urlOf = async (r: Harness, id: string): Promise<string> => (await r.ok(VERSION, { id })).modelVersion.artifacts[0].downloadUrl.url;
  const download = (r: Harness, model: string, ref: string) => fetch(`${r.url}/v1/models/${model}/versions/${ref}/artifacts/model.pkl`, { headers: r.auth(), redirect: 'manual' });
  const manifest = (r: Harness, model: string, ref: string) => fetch(`${r.url}/v1/models/${model}/versions/${ref}/manifest`, { headers: r.auth() });
  const events = async (r: Harness, action: string, versionId: string) =>
    (await r.ok(EVENTS, { action })).auditEvents.edges.map((e: any) => e.node).filter((n: any) => n.versionId === versionId);

  it('a hold blocks archiving (FAILED_PRECONDITION naming the hold) and is audited; released, the version archives and keeps its bytes', async () => {
    const bytes = Buffer.from('held weights');
    const id = await publish(h, 'held', { files: { 'model.pkl': bytes } });
    const held = (await h.ok(HOLD, { id, on: true, reason: 'case 2026-17' })).setLegalHold;
    expect(held.legalHold).toMatchObject({ reason: 'case 2026-17', setBy: ENV_ADMIN_ACTOR });
    const refused = await h.gql(ARCHIVE, { id });
    expect(refused.errors?.[0]?.extensions.code).toBe('FAILED_PRECONDITION');
    expect(refused.errors?.[0]?.message).toBe(`Version ${id} is on legal hold ("case 2026-17"); it cannot be archived until the hold is released`);
    expect((await h.ok(VERSION, { id })).modelVersion.status).toBe('READY');
    // Holding again writes nothing more.
    await h.ok(HOLD, { id, on: true, reason: 'again' });
    expect(await events(h, 'LEGAL_HOLD_SET', id)).toEqual([{ actor: ENV_ADMIN_ACTOR, versionId: id, details: { reason: 'case 2026-17' } }]);
    const released = (await h.ok(HOLD, { id, on: false, reason: 'case closed' })).setLegalHold;
    expect(released.legalHold).toBeNull();
    expect((await events(h, 'LEGAL_HOLD_RELEASED', id))[0]).toMatchObject({ details: { reason: 'case closed', heldFor: 'case 2026-17' } });
    expect((await h.ok(ARCHIVE, { id })).archiveModelVersion.status).toBe('ARCHIVED');
    // Archiving never deletes bytes: the archived version still downloads, byte for byte.
    expect(await bytesAt(await urlOf(h, id))).toEqual({ status: 200, body: bytes });
    expect((await download(h, 'held', id)).status).toBe(302);
  });

  it('refuses to purge under retention (the default seven years), naming the date; READY versions are refused too; nothing is deleted', async () => {
    const bytes = Buffer.from('retained weights');
    const id = await publish(h, 'retained', { files: { 'model.pkl': bytes } });
    const notArchived = await h.gql(PURGE, { id, reason: 'cleanup' });
    expect(notArchived.errors?.[0]).toMatchObject({ message: `Version ${id} is READY; only ARCHIVED versions can be purged`, extensions: { code: 'FAILED_PRECONDITION' } });
    await h.ok(ARCHIVE, { id });
    const v = (await h.ok(VERSION, { id })).modelVersion;
    expect(new Date(v.retainedUntil).getTime()).toBe(new Date(v.createdAt).getTime() + 2557 * 86_400_000);
    const refused = await h.gql(PURGE, { id, reason: 'cleanup' });
    expect(refused.errors?.[0]).toMatchObject({
      message: `Version ${id} is under retention until ${new Date(v.retainedUntil).toISOString()}; it cannot be purged before then`,
      extensions: { code: 'FAILED_PRECONDITION' },
    });
    expect((await h.ok(VERSION, { id })).modelVersion.purgedAt).toBeNull();
    expect(await events(h, 'MODEL_VERSION_PURGED', id)).toEqual([]);
    expect(await bytesAt(await urlOf(h, id))).toEqual({ status: 200, body: bytes });
  });

  it('past retention: a hold blocks the purge; released, the purge deletes the bytes, keeps metadata and audit (410 on download and manifest), and purging again changes nothing', async () => {
    const bytes = Buffer.from('old weights');
    const id = await publish(h0, 'expired', { files: { 'model.pkl': bytes } });
    await h0.ok(ARCHIVE, { id });
    const before = (await h0.ok(VERSION, { id })).modelVersion;
    const oldUrl = before.artifacts[0].downloadUrl.url as string;
    expect(await bytesAt(oldUrl)).toEqual({ status: 200, body: bytes });

    await h0.ok(HOLD, { id, on: true, reason: 'litigation' });
    const held = await h0.gql(PURGE, { id, reason: 'retention over' });
    expect(held.errors?.[0]).toMatchObject({
      message: `Version ${id} is on legal hold ("litigation"); it cannot be purged until the hold is released`, extensions: { code: 'FAILED_PRECONDITION' },
    });
    expect(await bytesAt(oldUrl)).toEqual({ status: 200, body: bytes });
    await h0.ok(HOLD, { id, on: false, reason: 'released' });

    const purged = (await h0.ok(PURGE, { id, reason: 'retention over' })).purgeModelVersion;
    expect(purged).toMatchObject({ id, status: 'ARCHIVED' });
    expect(purged.purgedAt).not.toBeNull();
    expect((await bytesAt(oldUrl)).status).not.toBe(200); // the bytes are gone from storage
    const after = (await h0.ok(VERSION, { id })).modelVersion;
    expect(after).toMatchObject({ number: before.number, status: 'ARCHIVED', metrics: before.metrics, purgedAt: purged.purgedAt });
    expect(after.artifacts).toEqual([{ ...before.artifacts[0], downloadUrl: null }]);
    const dl = await download(h0, 'expired', id);
    expect(dl.status).toBe(410);
    expect(await dl.json()).toMatchObject({ error: expect.stringContaining(`Version ${id}'s artifacts were purged at ${purged.purgedAt}`) });
    expect((await download(h0, 'expired', '1')).status).toBe(410);
    expect((await manifest(h0, 'expired', id)).status).toBe(410);
    const [event, ...more] = await events(h0, 'MODEL_VERSION_PURGED', id);
    expect(more).toEqual([]);
    expect(event).toMatchObject({ actor: ENV_ADMIN_ACTOR, details: { reason: 'retention over', retentionDays: 0, artifacts: [{ path: 'model.pkl', sha256: before.artifacts[0].sha256 }] } });
    expect((await h0.ok(`{ verifyAuditLog { valid } }`)).verifyAuditLog.valid).toBe(true);

    // Idempotent: the same record, no second event.
    expect((await h0.ok(PURGE, { id, reason: 'again' })).purgeModelVersion.purgedAt).toBe(purged.purgedAt);
    expect(await events(h0, 'MODEL_VERSION_PURGED', id)).toHaveLength(1);
  });

  it('a purge cut off after its store write (discard fails once) is recorded, answers 410 at once, keeps what is left while held, and is finished by purging again', async () => {
    const bytes = Buffer.from('half purged weights');
    const id = await publish(h0, 'halfway', { files: { 'model.pkl': bytes } });
    await h0.ok(ARCHIVE, { id });
    const oldUrl = await urlOf(h0, id);
    fault.state.armed = true;
    const cut = await h0.gql(PURGE, { id, reason: 'retention over' });
    expect(fault.state.failures).toBe(1);
    expect(cut.errors?.[0]?.extensions.code).toBe('INTERNAL_SERVER_ERROR');
    // Recorded before any byte went: the record and its event stand, the bytes are still there.
    const recorded = (await h0.ok(VERSION, { id })).modelVersion;
    expect(recorded.purgedAt).not.toBeNull();
    expect(await events(h0, 'MODEL_VERSION_PURGED', id)).toHaveLength(1);
    expect(await bytesAt(oldUrl)).toEqual({ status: 200, body: bytes });
    expect((await download(h0, 'halfway', id)).status).toBe(410);
    // A hold can still be set on what is left: while it holds, purging again is refused and the bytes stay.
    await h0.ok(HOLD, { id, on: true, reason: 'late case' });
    const held = await h0.gql(PURGE, { id, reason: 'retry' });
    expect(held.errors?.[0]).toMatchObject({ message: `Version ${id} is on legal hold ("late case"); it cannot be purged until the hold is released`, extensions: { code: 'FAILED_PRECONDITION' } });
    expect(await bytesAt(oldUrl)).toEqual({ status: 200, body: bytes });
    await h0.ok(HOLD, { id, on: false, reason: 'case closed' });
    // Purging again finishes it: the bytes go; still one event, the same record.
    const done = (await h0.ok(PURGE, { id, reason: 'retry' })).purgeModelVersion;
    expect(done.purgedAt).toBe(recorded.purgedAt);
    expect((await bytesAt(oldUrl)).status).not.toBe(200);
    expect(await events(h0, 'MODEL_VERSION_PURGED', id)).toHaveLength(1);
    expect((await h0.ok(`{ verifyAuditLog { valid } }`)).verifyAuditLog.valid).toBe(true);
  });

  it('only unscoped admins may hold or purge (FORBIDDEN, nothing changed); bad input is BAD_USER_INPUT and writes nothing', async () => {
    const id = await publish(h0, 'guarded');
    await h0.ok(ARCHIVE, { id });
    const callers = [
      await h0.token('VIEWER'), await h0.token('PUBLISHER'), await h0.token('DEPLOYER'), await h0.token('ADMIN', { name: 'scoped-admin', modelScope: 'guarded' }),
    ];
    for (const c of callers) {
      expect(await h0.as(c.secret).code(HOLD, { id, on: true, reason: 'x' })).toBe('FORBIDDEN');
      expect(await h0.as(c.secret).code(PURGE, { id, reason: 'x' })).toBe('FORBIDDEN');
    }
    expect((await h0.ok(VERSION, { id })).modelVersion).toMatchObject({ legalHold: null, purgedAt: null });
    const count = async () => (await h0.ok('{ registryStats { auditEvents } }')).registryStats.auditEvents as number;
    const before = await count();
    for (const [query, vars] of [
      [HOLD, { id: 'not-a-version', on: true, reason: 'x' }],
      [HOLD, { id, on: true, reason: '' }],
      [HOLD, { id, on: true, reason: 'x'.repeat(1001) }],
      [PURGE, { id: '../../etc/passwd', reason: 'x' }],
      [PURGE, { id, reason: '' }],
      [PURGE, { id, reason: 'x'.repeat(1001) }],
    ] as const) {
      expect(await h0.code(query, vars), JSON.stringify(vars).slice(0, 80)).toBe('BAD_USER_INPUT');
    }
    expect(await h0.code(PURGE, { id: 'v20260101000000_deadbeef', reason: 'x' })).toBe('NOT_FOUND');
    expect(await count()).toBe(before);
    expect((await h0.ok(VERSION, { id })).modelVersion).toMatchObject({ legalHold: null, purgedAt: null });
  });
});
