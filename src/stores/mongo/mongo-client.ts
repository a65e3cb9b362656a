import { type MongoClientOptions, ReadPreference, type WriteConcernSettings } from 'mongodb';

/**
 * The bounds on every MongoDB wait, with what driver 7.9 honours (its `timeoutMS` is deprecated
 * and does nothing). Without them, a replica set that lost its majority leaves majority writes,
 * and so requests, waiting forever.
 *
 * - `maxTimeMS` (server side, on every command the store sends: MongoAccess) ends the operation;
 * - `wtimeout` in the write concern ends the wait for majority acknowledgement (a write that
 *   times out there may still have applied on the primary: the store treats it like any other
 *   error of that step, see docs/production-mongodb.md);
 * - `serverSelectionTimeoutMS` ends the wait for a primary, `waitQueueTimeoutMS` the wait for a
 *   pooled connection, `connectTimeoutMS` the TCP/TLS handshake;
 * - `socketTimeoutMS` is the client-side backstop for a server that stops answering altogether,
 *   set above `maxTimeMS` so that the server's own limit normally fires first.
 */
export interface MongoTimeouts {
  operationMs: number;
}

export const DEFAULT_OPERATION_TIMEOUT_MS = 10_000;

export function storeWriteConcern(t: MongoTimeouts): WriteConcernSettings {
  return { w: 'majority', journal: true, wtimeoutMS: t.operationMs };
}

/** The client settings of the store; `overrides` (connect's clientOptions) are merged over them. */
export function storeClientOptions(t: MongoTimeouts, overrides: MongoClientOptions = {}): MongoClientOptions {
  return {
    retryWrites: true,
    retryReads: true,
    writeConcern: storeWriteConcern(t),
    readPreference: ReadPreference.PRIMARY,
    serverSelectionTimeoutMS: t.operationMs,
    waitQueueTimeoutMS: t.operationMs,
    connectTimeoutMS: t.operationMs,
    socketTimeoutMS: 2 * t.operationMs + 5_000,
    ...overrides,
  };
}
