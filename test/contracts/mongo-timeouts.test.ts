import { describe, expect, it } from 'vitest';
import { draft, newDeployment, newVersion } from '../support/fixtures.js';
import { MONGODB_URI, announceSkip, realMongoTarget } from '../support/mongo-target.js';

/**
 * Issue 9 item 17, against the server in MONGODB_URI: every data command the store sends carries
 * maxTimeMS (seen through the driver's command monitoring, not assumed from our options). The
 * same monitor watches every Mongo contract and crash-point test (dispose fails on a command
 * without it); this case runs one of each kind of operation and checks the monitor saw them.
 * Skipped without MONGODB_URI.
 */
announceSkip('MongoRegistryStore command timeouts');

const suite = MONGODB_URI === null ? describe.skip : describe;
suite(`MongoDB server in MONGODB_URI${MONGODB_URI === null ? ' (not set: skipped)' : ''}`, () => {
  it('sends maxTimeMS with every find, insert, update, findAndModify, count, distinct, delete and createIndexes', async () => {
    const target = await realMongoTarget();
    try {
      const store = await target.open();
      const v = await store.registerVersion(newVersion('timed', { metrics: [{ name: 'f1', value: 0.5 }] }), () => draft('MODEL_VERSION_REGISTERED'));
      const r = await store.transitionVersion(v.id, { from: ['PENDING_UPLOAD'], to: 'READY', failureReason: null, requireUndeployed: false }, draft('MODEL_VERSION_READY'));
      expect(r.kind).toBe('ok');
      expect(await store.moveDeploymentPointer(newDeployment(v, 'production', null), null, draft('MODEL_VERSION_PROMOTED'))).toMatchObject({ kind: 'moved' });
      await store.listDeployments({ modelName: 'timed', environment: null, versionId: v.id, status: null }, { first: 5, after: null });
      await store.listAuditEvents({ modelName: null, modelScope: 'ti*', actor: 'tester', action: null, since: null, until: null }, { first: 5, after: null });
      await store.rankVersions({ modelName: 'timed', metric: 'f1', direction: 'DESC', statuses: ['READY', 'ARCHIVED'], versionIds: null, limit: 3 });
      await store.listModels({ search: 'tim', scope: null }, { first: 5, after: null });
      expect(await store.acquireLease('job', 'me', 60_000)).toBe(true);
      await store.releaseLease('job', 'me');
      for await (const _ of store.allPointers());
      await store.stats();
      expect(target.monitor.unbounded).toEqual([]);
      expect([...new Set(target.monitor.seen)]).toEqual(expect.arrayContaining(['createIndexes', 'find', 'insert', 'update', 'findAndModify', 'aggregate', 'distinct', 'delete']));
    } finally {
      await target.dispose();
    }
  });

  it('with pointerReadConcern linearizable, pointer reads ask for it on a replica set (and still answer)', async () => {
    const target = await realMongoTarget();
    try {
      const writer = await target.open();
      const v = await writer.registerVersion(newVersion('lin'), () => draft('MODEL_VERSION_REGISTERED'));
      await writer.transitionVersion(v.id, { from: ['PENDING_UPLOAD'], to: 'READY', failureReason: null, requireUndeployed: false }, draft('MODEL_VERSION_READY'));
      await writer.moveDeploymentPointer(newDeployment(v, 'production', null), null, draft('MODEL_VERSION_PROMOTED'));
      const reader = await target.open({ pointerReadConcern: 'linearizable' });
      const hello = await target.db.admin().command({ hello: 1 });
      const replicated = typeof hello.setName === 'string';
      const before = target.monitor.finds.length;
      expect(await reader.getPointer('lin', 'production')).toMatchObject({ versionId: v.id, revision: 1 });
      const levels = target.monitor.finds.slice(before).filter((f) => f.collection === 'deployment_pointers').map((f) => f.readConcern);
      expect(levels).toEqual([replicated ? 'linearizable' : 'local']); // a standalone server has no stale primary: the setting is ignored
    } finally {
      await target.dispose();
    }
  });
});
