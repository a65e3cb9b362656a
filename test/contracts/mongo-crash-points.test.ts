import { describe } from 'vitest';
import { describeMongoCrashPoints } from '../support/mongo-crash-scenarios.js';
import { MONGODB_URI, announceSkip, realMongoTarget } from '../support/mongo-target.js';

/**
 * Crash points, live-operation protection, interleavings and several processes, against the real
 * server in MONGODB_URI (fresh random database per test, dropped after). Skipped without it.
 */
announceSkip('MongoRegistryStore crash-point suite');

describeMongoCrashPoints(
  `MongoDB server in MONGODB_URI${MONGODB_URI === null ? ' (not set: skipped)' : ''}`,
  realMongoTarget,
  MONGODB_URI === null ? describe.skip : describe,
);
