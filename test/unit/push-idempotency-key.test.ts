import { describe, expect, it } from 'vitest';
import { pushIdempotencyKey } from '../../src/client/push.js';

/** The TypeScript client's push key: what a rerun after a crash finds its version by. */
describe('pushIdempotencyKey', () => {
  const input = {
    modelName: 'churn', modelType: 'xgboost', datasetVersion: 'd1', metrics: [{ name: 'auc', value: 0.9 }], hyperparameters: {}, featureNames: [], tags: [],
    artifacts: [{ path: 'w.bin', sizeBytes: 3 * 2 ** 20, sha256: 'a'.repeat(64), contentType: 'application/octet-stream' }],
  };

  it('is the same with and without part hashes (a push begun without them, by an older client or a registry without uploadPlan, resumes)', () => {
    const withHashes = { ...input, artifacts: [{ ...input.artifacts[0]!, partSha256: ['b'.repeat(64), 'c'.repeat(64)] }] };
    expect(pushIdempotencyKey(withHashes)).toBe(pushIdempotencyKey(input));
  });

  it('changes with the file contents and the metadata, and not with the order of object keys', () => {
    const key = pushIdempotencyKey(input);
    expect(pushIdempotencyKey({ ...input, artifacts: [{ ...input.artifacts[0]!, sha256: 'd'.repeat(64) }] })).not.toBe(key);
    expect(pushIdempotencyKey({ ...input, datasetVersion: 'd2' })).not.toBe(key);
    const { modelName, ...rest } = input;
    expect(pushIdempotencyKey({ ...rest, modelName })).toBe(key);
  });
});
