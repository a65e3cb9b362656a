import { describe } from 'vitest';
import { MONGODB_URI, announceSkip, realMongoTarget } from '../support/mongo-target.js';
import { describeRegistryStore } from './registry-store.contract.js';

/**
 * The shared RegistryStore contract on MongoRegistryStore, against the real server in MONGODB_URI:
 * every test gets a fresh database with a random name, dropped afterwards. Without MONGODB_URI the
 * whole contract is registered as skipped (never as passed) and one line says why.
 */
announceSkip('RegistryStore contract on MongoRegistryStore');

const suite = MONGODB_URI === null ? describe.skip : describe;
suite(`MongoDB server in MONGODB_URI${MONGODB_URI === null ? ' (not set: skipped)' : ''}`, () => {
  describeRegistryStore('MongoRegistryStore', async () => {
    const target = await realMongoTarget();
    const store = await target.open();
    return { store, close: () => target.dispose() };
  });
});
