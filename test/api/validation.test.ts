import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, REGISTER, promote, publish, sha256, startRegistry, stats } from '../support/api-harness.js';

const artifact = { path: 'model.pkl', sizeBytes: 3, sha256: sha256('abc') };
const valid = { modelName: 'valid', modelType: 'rf', datasetVersion: 'd1', metrics: [{ name: 'roc_auc', value: 0.5 }], artifacts: [artifact] };

/** Every input rule: BAD_USER_INPUT naming the field, and nothing written. */
describe('bad input is refused with BAD_USER_INPUT and writes nothing', () => {
  let h: Harness;
  let ready: string;
  beforeAll(async () => {
    h = await startRegistry();
    ready = await publish(h, 'existing');
  });
  afterAll(async () => {
    await h.close();
  });

  const many = (n: number, f: (i: number) => unknown) => Array.from({ length: n }, (_, i) => f(i));
  const cases: [string, Record<string, unknown>, string][] = [
    ['model name with capitals', { modelName: 'Iris' }, 'input.modelName'],
    ['model name with a slash', { modelName: 'a/b' }, 'input.modelName'],
    ['model name too long', { modelName: 'a'.repeat(101) }, 'input.modelName'],
    ['model name starting with _', { modelName: '_x' }, 'input.modelName'],
    ['model name with a Unicode look-alike', { modelName: 'irіs' }, 'input.modelName'],
    ['empty model type', { modelType: ' ' }, 'input.modelType'],
    ['metric name with a space', { metrics: [{ name: 'roc auc', value: 1 }] }, 'input.metrics[0].name'],
    ['metric name starting with a digit', { metrics: [{ name: '1x', value: 1 }] }, 'input.metrics[0].name'],
    ['duplicate metric', { metrics: [{ name: 'f1', value: 1 }, { name: 'f1', value: 2 }] }, 'input.metrics[1].name'],
    ['201 metrics', { metrics: many(201, (i) => ({ name: `m${i}`, value: i })) }, 'input.metrics'],
    ['hyperparameters not an object', { hyperparameters: [1, 2] }, 'input.hyperparameters'],
    ['hyperparameters a string', { hyperparameters: 'x' }, 'input.hyperparameters'],
    ['hyperparameters over 64 KiB', { hyperparameters: { blob: 'x'.repeat(65 * 1024) } }, 'input.hyperparameters'],
    ['no artifacts', { artifacts: [] }, 'input.artifacts'],
    ['101 artifacts', { artifacts: many(101, (i) => ({ ...artifact, path: `f${i}` })) }, 'input.artifacts'],
    ['path with ..', { artifacts: [{ ...artifact, path: '../etc/passwd' }] }, 'input.artifacts[0].path'],
    ['path with inner ..', { artifacts: [{ ...artifact, path: 'a/../../b' }] }, 'input.artifacts[0].path'],
    ['absolute path', { artifacts: [{ ...artifact, path: '/etc/passwd' }] }, 'input.artifacts[0].path'],
    ['backslash path', { artifacts: [{ ...artifact, path: 'a\\b' }] }, 'input.artifacts[0].path'],
    ['percent-encoded traversal', { artifacts: [{ ...artifact, path: '%2e%2e/x' }] }, 'input.artifacts[0].path'],
    ['NUL in path', { artifacts: [{ ...artifact, path: 'a\u0000b' }] }, 'input.artifacts[0].path'],
    ['empty segment', { artifacts: [{ ...artifact, path: 'a//b' }] }, 'input.artifacts[0].path'],
    ['path over 255 characters', { artifacts: [{ ...artifact, path: 'a'.repeat(256) }] }, 'input.artifacts[0].path'],
    ['duplicate path', { artifacts: [artifact, artifact] }, 'input.artifacts[1].path'],
    ['zero size', { artifacts: [{ ...artifact, sizeBytes: 0 }] }, 'input.artifacts[0].sizeBytes'],
    ['fractional size', { artifacts: [{ ...artifact, sizeBytes: 1.5 }] }, 'input.artifacts[0].sizeBytes'],
    ['negative size', { artifacts: [{ ...artifact, sizeBytes: -3 }] }, 'input.artifacts[0].sizeBytes'],
    ['uppercase sha256', { artifacts: [{ ...artifact, sha256: sha256('abc').toUpperCase() }] }, 'input.artifacts[0].sha256'],
    ['short sha256', { artifacts: [{ ...artifact, sha256: 'abc' }] }, 'input.artifacts[0].sha256'],
    ['bad content type', { artifacts: [{ ...artifact, contentType: 'not a type\r\nX-Evil: 1' }] }, 'input.artifacts[0].contentType'],
    ['negative training samples', { training: { trainingSamples: -1 } }, 'input.training.trainingSamples'],
    ['control characters in a tag', { tags: ['a\nb'] }, 'input.tags[0]'],
  ];

  it.each(cases)('%s', async (_name, patch, field) => {
    const before = await stats(h);
    const r = await h.gql(REGISTER, { input: { ...valid, ...patch } });
    expect(r.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field });
    expect(r.errors?.[0]?.message).toContain(field);
    expect(await stats(h)).toEqual(before);
  });

  it('refuses non-finite numbers before they reach a resolver', async () => {
    const before = await stats(h);
    // Infinity and NaN are not Float literals: the document is invalid. 1e999 is one, and overflows: a bad value.
    for (const [value, code] of [['Infinity', 'GRAPHQL_VALIDATION_FAILED'], ['NaN', 'GRAPHQL_VALIDATION_FAILED'], ['1e999', 'BAD_USER_INPUT']]) {
      const r = await h.gql(`mutation { registerModelVersion(input: { modelName: "x", modelType: "rf", datasetVersion: "d", metrics: [{ name: "a", value: ${value} }], artifacts: [{ path: "m", sizeBytes: 3, sha256: "${sha256('abc')}" }] }) { version { id } } }`);
      expect(r.errors?.[0]?.extensions.code, value).toBe(code);
    }
    const viaVariable = await h.gql(REGISTER, { input: { ...valid, metrics: [{ name: 'a', value: '1e999' }] } });
    expect(viaVariable.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
    expect(await stats(h)).toEqual(before);
  });

  it.each([
    ['environment with capitals', { environment: 'Prod' }],
    ['environment too long', { environment: 'e'.repeat(33) }],
    ['malformed version id', { versionId: 'v1' }],
    ['malformed expected version', { expectedCurrentVersionId: 'latest' }],
    ['non-finite policy ratio', { requireImprovement: { metric: 'roc_auc', minRatio: -1 } }],
    ['bad policy metric', { requireImprovement: { metric: '$where' } }],
  ])('promotion with %s', async (_name, patch) => {
    const before = await stats(h);
    const r = await promote(h, ready, patch);
    expect(r.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
    expect(await stats(h)).toEqual(before);
  });

  it.each([
    ['first above 100', `{ modelVersions(modelName: "existing", first: 101) { totalCount } }`],
    ['negative first', `{ deploymentHistory(modelName: "existing", first: -1) { totalCount } }`],
    ['forged cursor', `{ auditEvents(after: "bm90IGEgY3Vyc29y") { totalCount } }`],
    ['bad model name in a query', `{ model(name: "../x") { name } }`],
    ['bad environment in a query', `{ productionModel(modelName: "existing", environment: "PROD") { id } }`],
    ['download URL lifetime above 7 days', `{ compareVersions(modelName: "existing") { version { artifacts { downloadUrl(expiresInSeconds: 604801) { url } } } } }`],
  ])('query with %s', async (_name, query) => {
    const r = await h.gql(query);
    expect(r.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
  });

  it.each([
    ['bad DateTime literal', `{ auditEvents(since: "yesterday") { totalCount } }`, 'GRAPHQL_VALIDATION_FAILED'],
    ['unknown field', `{ nope }`, 'GRAPHQL_VALIDATION_FAILED'],
    ['syntax error', `{ models { `, 'GRAPHQL_PARSE_FAILED'],
  ])('a document with %s fails with %s (a bug in the query, not a bad value)', async (_name, query, code) => {
    const r = await h.gql(query);
    expect(r.errors?.[0]?.extensions.code).toBe(code);
  });

  it('a bad DateTime sent as a variable is a bad value: BAD_USER_INPUT', async () => {
    const r = await h.gql(`query($since: DateTime) { auditEvents(since: $since) { totalCount } }`, { since: 'yesterday' });
    expect(r.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
  });
});

describe('NOT_FOUND, CONFLICT and FAILED_PRECONDITION', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startRegistry();
  });
  afterAll(async () => {
    await h.close();
  });
  const missing = 'v20990101000000_00000000';

  it('names what does not exist, and writes nothing', async () => {
    const before = await stats(h);
    const queries = [
      [`mutation { completeModelVersionUpload(versionId: "${missing}") { id } }`],
      [`mutation { promoteModelVersion(input: { versionId: "${missing}" }) { id } }`],
      [`mutation { rollbackModel(input: { modelName: "ghost" }) { id } }`],
      [`mutation { archiveModelVersion(versionId: "${missing}") { id } }`],
      [`mutation { updateModelVersion(versionId: "${missing}", description: "x") { id } }`],
      [`mutation { updateModel(name: "ghost", description: "x") { name } }`],
      [`{ compareVersions(modelName: "ghost") { rank } }`],
      [`{ deploymentHistory(modelName: "ghost") { totalCount } }`],
      [`{ modelVersions(modelName: "ghost") { totalCount } }`],
      [`{ productionModel(modelName: "ghost") { id } }`],
    ];
    for (const [q] of queries) expect(await h.code(q!), q).toBe('NOT_FOUND');
    expect((await h.ok(`{ modelVersion(id: "${missing}") { id } }`)).modelVersion).toBeNull();
    expect(await stats(h)).toEqual(before);
  });

  it('refuses to deploy a version that is not READY, recording the refusal', async () => {
    const pending = await publish(h, 'pending', { complete: false });
    const before = await stats(h);
    const r = await promote(h, pending);
    expect(r.errors?.[0]).toMatchObject({ extensions: { code: 'FAILED_PRECONDITION' } });
    expect(r.errors?.[0]?.message).toContain('PENDING_UPLOAD');
    const after = await stats(h);
    expect([after.deployments, after.auditEvents]).toEqual([before.deployments + 1, before.auditEvents + 1]);
    expect((await h.ok(`{ productionModel(modelName: "pending") { id } }`)).productionModel).toBeNull();
  });

  it('says CONFLICT when the expected current version is not deployed', async () => {
    const a = await publish(h, 'conflict');
    const b = await publish(h, 'conflict');
    await promote(h, a);
    const r = await promote(h, b, { expectedCurrentVersionId: b });
    expect(r.errors?.[0]?.extensions.code).toBe('CONFLICT');
    expect((await h.ok(`{ productionModel(modelName: "conflict") { id } }`)).productionModel.id).toBe(a);
  });
});
