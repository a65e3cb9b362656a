import { type Db, MongoClient, MongoServerError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { MongoAccess, isDuplicateKey } from '../../src/stores/mongo/mongo-access.js';
import { duplicateKeyPattern } from '../../src/stores/mongo/mongo-steps.js';
import { storeClientOptions, storeWriteConcern } from '../../src/stores/mongo/mongo-client.js';
import { COLLECTIONS } from '../../src/stores/mongo/mongo-documents.js';
import { MONGO_INDEXES } from '../../src/stores/mongo/mongo-indexes.js';
import * as Q from '../../src/stores/mongo/mongo-queries.js';
import * as U from '../../src/stores/mongo/mongo-updates.js';

/**
 * Issue 9 item 17: with driver 7.9, `timeoutMS` does nothing, so every command must carry
 * `maxTimeMS` itself. MongoAccess is the only place that talks to collections (checked in
 * mongo-queries.test.ts); here a RECORDING stand-in for the collections notes the options each
 * method passes. It only records: it answers nothing a test relies on, and no behaviour of the
 * store is tested with it. That the driver turns the option into the command's `maxTimeMS` field
 * is checked against a real server by the monitoring case of the Mongo contract suite
 * (test/contracts/mongo-timeouts.test.ts, when MONGODB_URI is set).
 */
interface Call {
  collection: string;
  method: string;
  options: Record<string, unknown> | undefined;
}

function recordingDb(calls: Call[]): Db {
  const collection = (name: string) =>
    new Proxy({}, {
      get: (_t, method: string) => (...args: unknown[]) => {
        const options = [...args].reverse().find((a) => a !== null && typeof a === 'object' && !Array.isArray(a) && ('session' in a || 'maxTimeMS' in a)) as
          | Record<string, unknown>
          | undefined;
        calls.push({ collection: name, method, options });
        if (method === 'find') return { toArray: async () => [] };
        if (method === 'updateOne' || method === 'updateMany') return Promise.resolve({ matchedCount: 0, upsertedCount: 0 });
        if (method === 'deleteOne') return Promise.resolve({ deletedCount: 0 });
        if (method === 'countDocuments') return Promise.resolve(0);
        if (method === 'distinct') return Promise.resolve([]);
        return Promise.resolve(null);
      },
    });
  return { collection } as unknown as Db;
}

describe('mongo access: every command carries maxTimeMS', () => {
  it('passes maxTimeMS on every method, for every kind of spec the store builds', async () => {
    const calls: Call[] = [];
    const access = new MongoAccess(recordingDb(calls), 1234);
    await access.find(Q.maxNumberQuery('m'));
    await access.find({ ...Q.auditHeadQuery(), readConcern: 'local' });
    await access.find(Q.pendingQuery(COLLECTIONS.versions));
    await access.findById(COLLECTIONS.versions, 'v', undefined, { _id: 1 });
    await access.count(Q.statusCountQuery('READY'));
    await access.distinct(Q.auditScopeNamesQuery('m*'));
    await access.insert(COLLECTIONS.audit, { _id: 'e' });
    await access.update(U.touchTokenUpdate('t', new Date()));
    await access.update(U.syncMetricsUpdate('v', true, 1), undefined, true);
    await access.bulkUpsert(U.metricUpserts({ id: 'v', modelName: 'm', number: 1, metrics: [{ name: 'f', value: 1 }] }, true));
    await access.findAndUpdate(U.nextDeploymentSeq());
    await access.remove({ collection: COLLECTIONS.leases, filter: { _id: 'l', holder: 'h' }, index: '_id_' });
    for (const [c, indexes] of Object.entries(MONGO_INDEXES)) await access.createIndexes(c as never, indexes);
    const methods = new Set(calls.map((c) => c.method));
    expect(methods).toEqual(new Set([
      'find', 'findOne', 'countDocuments', 'distinct', 'insertOne', 'updateOne', 'updateMany', 'bulkWrite', 'findOneAndUpdate', 'deleteOne', 'createIndexes',
    ]));
    const without = calls.filter((c) => c.options?.maxTimeMS !== 1234);
    expect(without).toEqual([]);
  });

  it('passes the projection and the read concern a spec asks for, and hints non-partial indexes', async () => {
    const calls: Call[] = [];
    const access = new MongoAccess(recordingDb(calls), 50);
    await access.find(Q.maxNumberQuery('m'));
    await access.find({ ...Q.auditHeadQuery(), readConcern: 'local' });
    await access.find(Q.pendingQuery(COLLECTIONS.pointers));
    expect(calls.map((c) => c.options)).toMatchObject([
      { projection: { _id: 0, number: 1 }, hint: 'versions_model_number', limit: 1 },
      { readConcern: { level: 'local' }, hint: 'audit_sequence' },
      { maxTimeMS: 50 },
    ]);
    expect(calls[2]!.options).not.toHaveProperty('hint'); // partial indexes are left to the planner
  });
});

describe('mongo client settings: bounds the driver honours (no timeoutMS)', () => {
  it('bounds server selection, the connection wait queue, connecting, the socket and majority acknowledgement', () => {
    const options = storeClientOptions({ operationMs: 7000 });
    expect(options).toMatchObject({
      serverSelectionTimeoutMS: 7000, waitQueueTimeoutMS: 7000, connectTimeoutMS: 7000, retryWrites: true, retryReads: true,
      writeConcern: { w: 'majority', journal: true, wtimeoutMS: 7000 },
    });
    expect(options.socketTimeoutMS).toBeGreaterThan(7000); // the server's own maxTimeMS fires first
    expect(options).not.toHaveProperty('timeoutMS');
    expect(storeClientOptions({ operationMs: 7000 }, { maxPoolSize: 3 }).maxPoolSize).toBe(3);
  });

  it('the pinned driver accepts them as they are (a client built from them, never connected)', async () => {
    const client = new MongoClient('mongodb://127.0.0.1:9/registry', storeClientOptions({ operationMs: 7000 }));
    expect(client.options).toMatchObject({ serverSelectionTimeoutMS: 7000, waitQueueTimeoutMS: 7000, connectTimeoutMS: 7000, socketTimeoutMS: 19_000 });
    expect(client.db('x', { writeConcern: storeWriteConcern({ operationMs: 7000 }) }).writeConcern).toMatchObject({ w: 'majority', wtimeoutMS: 7000 });
    await client.close();
  });
});

describe('duplicate keys are told apart by the index the server names (issue 19 item 10)', () => {
  // The driver's own error class, built from a reply shaped as the server sends it for an insert (4.4+: keyPattern, keyValue).
  const e11000 = (keyPattern: Record<string, number>, keyValue: Record<string, unknown>) =>
    new MongoServerError({ index: 0, code: 11000, errmsg: `E11000 duplicate key error collection: db.deployments index: x dup key: ${JSON.stringify(keyValue)}`, keyPattern, keyValue });

  it('reads keyPattern from the error: `_id` (already stored) versus the revision guard (another deployment)', () => {
    const sameId = e11000({ _id: 1 }, { _id: 'd1' });
    const revision = e11000({ modelName: 1, environment: 1, revision: 1 }, { modelName: 'm', environment: 'production', revision: 3 });
    expect([isDuplicateKey(sameId), isDuplicateKey(revision)]).toEqual([true, true]);
    expect(duplicateKeyPattern(sameId)).toEqual({ _id: 1 });
    expect(Object.keys(duplicateKeyPattern(revision)!)).toEqual(['modelName', 'environment', 'revision']);
    expect(duplicateKeyPattern(new MongoServerError({ code: 11000, errmsg: 'E11000 (an older server)' }))).toBeNull();
  });
});
