import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type App, type AppOverrides, createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';

export interface GqlResult<T = Record<string, unknown>> {
  status: number;
  data: T | null;
  errors?: { message: string; path?: string[]; extensions: { code: string; field?: string } }[];
}

/** The actor name of REGISTRY_ADMIN_TOKEN in audit events. */
export const ENV_ADMIN_ACTOR = 'env-admin (REGISTRY_ADMIN_TOKEN)';

export interface Harness {
  app: App;
  url: string;
  dataDir: string;
  /** The admin secret (REGISTRY_ADMIN_TOKEN) the harness sends unless told otherwise. */
  adminToken: string;
  /** Sends with the admin token; pass `authorization: ''` (or another value) in headers to change that. */
  gql<T = any>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GqlResult<T>>;
  /** The same, as the holder of `secret`. */
  as(secret: string | null): Pick<Harness, 'gql' | 'ok' | 'code'>;
  /** Creates a token through the API (as admin) and returns its secret and id. */
  token(role: 'VIEWER' | 'PUBLISHER' | 'DEPLOYER' | 'ADMIN', opts?: { name?: string; modelScope?: string; expiresAt?: string }): Promise<{ secret: string; id: string }>;
  /** Headers carrying the admin token, for plain fetch calls. */
  auth(secret?: string): Record<string, string>;
  /** Asserts no errors and returns data. */
  ok<T = any>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** Expects exactly one error and returns its code. */
  code(query: string, variables?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

/**
 * The metadata store the API tests run on: SQLite in the data directory, or, when MONGODB_URI is
 * set, a fresh database on that MongoDB server (dropped afterwards).
 */
export function storeEnv(): { env: Record<string, string>; dispose: () => Promise<void> } {
  const uri = process.env.MONGODB_URI;
  if (!uri) return { env: {}, dispose: async () => {} };
  const dbName = `registry_api_${randomBytes(6).toString('hex')}`;
  // Replicas on MongoDB share one audit signing key, which must be named.
  const keyFile = join(mkdtempSync(join(tmpdir(), 'registry-audit-key-')), 'audit-signing-key.pem');
  writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return {
    env: { MONGODB_URI: uri, MONGODB_DB: dbName, REGISTRY_AUDIT_SIGNING_KEY_FILE: keyFile },
    dispose: async () => {
      const client = await new MongoClient(uri).connect();
      await client.db(dbName).dropDatabase();
      await client.close();
    },
  };
}

/** Starts the whole registry on 127.0.0.1, port 0, in a fresh data directory (and database). */
export async function startRegistry(env: Record<string, string> = {}, overrides: AppOverrides = {}): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'registry-api-'));
  const adminToken = randomBytes(32).toString('base64url');
  const storage = storeEnv();
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', REGISTRY_DATA_DIR: dataDir, LOG_LEVEL: 'silent', REGISTRY_ADMIN_TOKEN: adminToken, ...storage.env, ...env });
  const app = await createApp(config, overrides);
  const url = await app.listen();
  const auth = (secret: string | null = adminToken): Record<string, string> => (secret ? { authorization: `Bearer ${secret}` } : {});
  const client = (secret: string | null) => {
    const gql = async (query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}) => {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth(secret), ...headers },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as Omit<GqlResult, 'status'>;
      return { status: res.status, data: body.data ?? null, errors: body.errors } as GqlResult<any>;
    };
    return {
      gql,
      async ok(query: string, variables?: Record<string, unknown>) {
        const r = await gql(query, variables);
        if (r.errors) throw new Error(`GraphQL errors: ${JSON.stringify(r.errors)}`);
        return r.data;
      },
      async code(query: string, variables?: Record<string, unknown>) {
        const r = await gql(query, variables);
        if (!r.errors || r.errors.length !== 1) throw new Error(`expected one error, got ${JSON.stringify(r)}`);
        return r.errors[0]!.extensions.code;
      },
    };
  };
  const admin = client(adminToken);
  return {
    app,
    url,
    dataDir,
    adminToken,
    ...admin,
    as: client,
    auth,
    async token(role, opts = {}) {
      const data = await admin.ok(
        `mutation($name: String!, $role: Role!, $scope: String, $exp: DateTime) { createApiToken(name: $name, role: $role, modelScope: $scope, expiresAt: $exp) { secret token { id } } }`,
        { name: opts.name ?? `${role.toLowerCase()}-token`, role, scope: opts.modelScope ?? null, exp: opts.expiresAt ?? null },
      );
      return { secret: data.createApiToken.secret, id: data.createApiToken.token.id };
    },
    async close() {
      await app.close();
      await storage.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

export const REGISTER = `mutation Register($input: RegisterModelVersionInput!) {
  registerModelVersion(input: $input) {
    version { id number status modelName }
    uploads { path upload { url method headers { name value } expiresAt } }
  }
}`;

export interface Upload {
  path: string;
  upload: { url: string; method: string; headers: { name: string; value: string }[]; expiresAt: string };
}

/** PUTs bytes to a presigned upload exactly as a client would. */
export async function put(upload: Upload['upload'], body: Buffer): Promise<Response> {
  const headers = Object.fromEntries(upload.headers.map((h) => [h.name, h.value]));
  return fetch(upload.url, { method: upload.method, headers, body });
}

/** Registers a version with the given files, uploads them and completes it. Returns the version id. */
export async function publish(
  h: Harness,
  modelName: string,
  opts: { metrics?: { name: string; value: number }[]; files?: Record<string, Buffer>; complete?: boolean; extra?: Record<string, unknown> } = {},
): Promise<string> {
  const files = opts.files ?? { 'model.pkl': Buffer.from(`weights of ${modelName} ${Math.random()}`) };
  const data = await h.ok(REGISTER, {
    input: {
      modelName,
      modelType: 'random_forest',
      datasetVersion: 'ds-2026-01',
      metrics: opts.metrics ?? [{ name: 'roc_auc', value: 0.9 }],
      artifacts: Object.entries(files).map(([path, bytes]) => ({ path, sizeBytes: bytes.length, sha256: sha256(bytes) })),
      ...opts.extra,
    },
  });
  const { version, uploads } = data.registerModelVersion as { version: { id: string }; uploads: Upload[] };
  for (const u of uploads) {
    const res = await put(u.upload, files[u.path]!);
    if (!res.ok) throw new Error(`upload of ${u.path} failed: ${res.status} ${await res.text()}`);
  }
  if (opts.complete !== false) {
    const done = await h.ok(`mutation($id: ID!) { completeModelVersionUpload(versionId: $id) { status failureReason } }`, { id: version.id });
    if (done.completeModelVersionUpload.status !== 'READY') throw new Error(`not READY: ${JSON.stringify(done)}`);
  }
  return version.id;
}

export async function promote(h: Harness, versionId: string, extra: Record<string, unknown> = {}) {
  return h.gql(`mutation($input: PromoteInput!) { promoteModelVersion(input: $input) { id action status environment version { id } previousVersion { id } active failureReason } }`, {
    input: { versionId, ...extra },
  });
}

export async function stats(h: Harness) {
  return (await h.ok('{ registryStats { models versions deployments auditEvents versionsByStatus { status count } } }')).registryStats;
}
