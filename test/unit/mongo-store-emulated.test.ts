import { describeRegistryStore } from '../contracts/registry-store.contract.js';
import { describeMongoCrashPoints } from '../support/mongo-crash-scenarios.js';
import { emulatedTarget } from '../support/mongo-target.js';

/**
 * MongoRegistryStore's own logic (step order, retries, recovery, crash points, interleavings) on
 * the IN-MEMORY MINGO EMULATION of test/support/mingo-db.ts. This is NOT a MongoDB test: it says
 * nothing about the server's behaviour, replication, or the driver's wire protocol. The same suites
 * run against a real server in test/contracts/mongo-*.test.ts when MONGODB_URI is set.
 */
describeRegistryStore('MongoRegistryStore on the mingo emulation (not MongoDB)', async () => {
  const target = await emulatedTarget();
  const store = await target.open();
  return { store, close: () => target.dispose() };
});

describeMongoCrashPoints('mingo emulation (not MongoDB)', emulatedTarget);
