import { createHash } from 'node:crypto';

/**
 * Seeds a running registry through its public GraphQL API only (as any client would) with what
 * the console's screens show: models with versions (metrics, hyperparameters, artifacts uploaded
 * to their presigned URLs), a FAILED and an ARCHIVED version, deployments in two environments, a
 * refused promotion and an access-denied attempt. Used by the browser test, the screenshots and
 * the benchmark's console figure.
 */
export interface ConsoleSeed {
  adminToken: string;
  viewerToken: string;
  /** The fraud-detector versions by number. */
  versions: Map<number, { id: string; bytes: Buffer }>;
}

type Gql = (query: string, variables?: Record<string, unknown>, secret?: string) => Promise<any>;

export function apiClient(url: string, adminToken: string): Gql {
  return async (query, variables = {}, secret = adminToken) => {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: any; errors?: { message: string }[] };
    if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join('; '));
    return body.data;
  };
}

const REGISTER = `mutation($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { version { id } uploads { path upload { url method headers { name value } } } } }`;
const COMPLETE = `mutation($id: ID!) { completeModelVersionUpload(versionId: $id) { status } }`;
const PROMOTE = `mutation($input: PromoteInput!) { promoteModelVersion(input: $input) { id } }`;

async function publish(gql: Gql, modelName: string, n: number, metrics: Record<string, number>, opts: { corrupt?: boolean; tags?: string[] } = {}) {
  const bytes = Buffer.from(`${modelName} weights v${n} `.repeat(40 + n));
  const files = { 'model.bin': bytes, 'config.json': Buffer.from(JSON.stringify({ model: modelName, n })) };
  const data = await gql(REGISTER, {
    input: {
      modelName,
      modelType: n % 2 ? 'gradient_boosting' : 'random_forest',
      datasetVersion: `ds-2026-0${1 + (n % 3)}`,
      metrics: Object.entries(metrics).map(([name, value]) => ({ name, value })),
      hyperparameters: { learning_rate: 0.05 * n, max_depth: 4 + (n % 3), n_estimators: 100 * n },
      featureNames: ['amount', 'merchant', 'hour', ...(n > 2 ? ['country'] : [])],
      description: `${modelName} candidate ${n}`,
      tags: opts.tags ?? [],
      training: { trainingSamples: 10_000 * n, validationSamples: 2_000, durationSeconds: 60 * n },
      artifacts: Object.entries(files).map(([path, b]) => ({ path, sizeBytes: b.length, sha256: createHash('sha256').update(b).digest('hex') })),
    },
  });
  const { version, uploads } = data.registerModelVersion;
  for (const u of uploads as { path: keyof typeof files; upload: { url: string; method: string; headers: { name: string; value: string }[] } }[]) {
    const body = opts.corrupt && u.path === 'model.bin' ? Buffer.from('not the declared bytes') : files[u.path];
    const res = await fetch(u.upload.url, { method: u.upload.method, headers: Object.fromEntries(u.upload.headers.map((h) => [h.name, h.value])), body });
    if (!res.ok && !opts.corrupt) throw new Error(`upload failed: ${res.status}`);
  }
  await gql(COMPLETE, { id: version.id }).catch((err: Error) => {
    if (!opts.corrupt) throw err;
  });
  return { id: version.id as string, bytes };
}

export async function seedConsole(url: string, adminToken: string): Promise<ConsoleSeed> {
  const gql = apiClient(url, adminToken);
  const versions = new Map<number, { id: string; bytes: Buffer }>();
  const fraud: [number, Record<string, number>, { corrupt?: boolean; tags?: string[] }?][] = [
    [1, { roc_auc: 0.81, f1: 0.62, latency_ms: 14 }],
    [2, { roc_auc: 0.86, f1: 0.66, latency_ms: 15 }, { tags: ['baseline'] }],
    [3, { roc_auc: 0.84, f1: 0.7, latency_ms: 11 }, { corrupt: true }],
    [4, { roc_auc: 0.9, f1: 0.71, latency_ms: 18 }, { tags: ['candidate'] }],
    [5, { roc_auc: 0.88, f1: 0.73, latency_ms: 12 }],
  ];
  for (const [n, metrics, opts] of fraud) versions.set(n, await publish(gql, 'fraud-detector', n, metrics, opts));
  await gql(`mutation { updateModel(name: "fraud-detector", description: "Card fraud scoring") { name } }`);
  await gql(PROMOTE, { input: { versionId: versions.get(1)!.id, reason: 'first model' } });
  await gql(PROMOTE, { input: { versionId: versions.get(2)!.id, reason: 'better AUC' } });
  await gql(PROMOTE, { input: { versionId: versions.get(5)!.id, environment: 'staging', reason: 'shadow test' } });
  await gql(`mutation($id: ID!) { archiveModelVersion(versionId: $id, reason: "superseded") { id } }`, { id: versions.get(1)!.id });
  for (const [n, auc] of [[1, 0.71], [2, 0.74], [3, 0.73]] as const) {
    const v = await publish(gql, 'churn-predictor', n, { roc_auc: auc, precision: auc - 0.1 });
    if (n === 2) await gql(PROMOTE, { input: { versionId: v.id } });
  }
  await publish(gql, 'image-tagger', 1, { roc_auc: 0.93, top5_accuracy: 0.97 });
  const viewer = await gql(`mutation { createApiToken(name: "dashboard", role: VIEWER) { secret } }`);
  const viewerToken = viewer.createApiToken.secret as string;
  // A refusal and a denial, so that the timeline shows both kinds.
  await gql(PROMOTE, { input: { versionId: versions.get(5)!.id, requireImprovement: { metric: 'roc_auc', minRatio: 1.2 }, reason: 'needs +20%' } }).catch(() => {});
  await gql(PROMOTE, { input: { versionId: versions.get(4)!.id } }, viewerToken).catch(() => {});
  return { adminToken, viewerToken, versions };
}
