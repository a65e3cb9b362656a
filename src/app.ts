import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Server } from 'node:http';
import { pino, type Logger } from 'pino';
import type { ArtifactStore } from './artifacts/artifact.store.js';
import { fsArtifactRoutes } from './artifacts/fs-artifact.http.js';
import { FsArtifactStore } from './artifacts/fs-artifact.store.js';
import { S3ArtifactStore } from './artifacts/s3-artifact.store.js';
import type { Config } from './config.js';
import { createApollo } from './graphql/apollo.js';
import { buildRegistrySchema } from './graphql/schema.js';
import { type RouteHandler, createHttpServer } from './http/server.js';
import { type Services, createServices } from './services/services.js';
import type { RegistryStore } from './stores/registry.store.js';
import { MongoRegistryStore } from './stores/mongo/mongo-registry.store.js';
import { SqliteRegistryStore } from './stores/sqlite-registry.store.js';

export interface App {
  /** Base URL the server listens on (after listen). */
  readonly url: string;
  readonly services: Services;
  readonly store: RegistryStore;
  readonly artifacts: ArtifactStore;
  readonly server: Server;
  /** The admin secret created at first start (no REGISTRY_ADMIN_TOKEN, no admin token yet); null otherwise. Print it once. */
  readonly bootstrapSecret: string | null;
  listen(): Promise<string>;
  close(): Promise<void>;
}

export interface AppOverrides {
  /** Wraps the store the config selects (tests count calls, or inject faults, through it). */
  wrapStore?: (store: RegistryStore) => RegistryStore;
  /** Wraps the artifact store the config selects (tests inject storage faults through it). */
  wrapArtifacts?: (artifacts: ArtifactStore) => ArtifactStore;
  logger?: Logger;
}

/** The composition root: the only place that picks and constructs stores and services. */
export async function createApp(config: Config, overrides: AppOverrides = {}): Promise<App> {
  const logger =
    overrides.logger ??
    pino({
      level: config.logLevel,
      redact: { paths: ['req.headers.authorization', '*.authorization', '*.url', 'url'], censor: '[redacted]' },
    });
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true });
  let listeningUrl: string | null = null;
  const publicUrl = (): string => {
    const base = config.publicUrl ?? listeningUrl;
    if (!base) throw new Error('the public URL is known only once the server listens');
    return base;
  };

  const baseStore: RegistryStore = config.mongo
    ? await MongoRegistryStore.connect({
      uri: config.mongo.uri, dbName: config.mongo.dbName, pointerReadConcern: config.mongo.pointerReadConcern,
      onProblem: (p) => logger.warn({ err: p.error, collection: p.collection, id: p.id, marker: p.markerId, op: p.op }, `store: ${p.kind} write left for recovery`),
    })
    : new SqliteRegistryStore(join(dataDir, 'registry.db'));
  try {
    return await compose(config, overrides, logger, baseStore, publicUrl, (url) => {
      listeningUrl = url;
    });
  } catch (err) {
    await baseStore.close();
    throw err;
  }
}

/** Everything above the metadata store; split out so a failure here closes the store it was given. */
async function compose(
  config: Config,
  overrides: AppOverrides,
  logger: Logger,
  baseStore: RegistryStore,
  publicUrl: () => string,
  setListeningUrl: (url: string) => void,
): Promise<App> {
  const dataDir = resolve(config.dataDir);
  const store = overrides.wrapStore ? overrides.wrapStore(baseStore) : baseStore;
  let artifacts: ArtifactStore;
  let closeArtifacts = (): void => {};
  const routes: RouteHandler[] = [];
  if (config.s3) {
    // S3 / MinIO: clients talk to storage through presigned URLs; the registry serves no bytes.
    const s3 = await S3ArtifactStore.open({
      bucket: config.s3.bucket,
      region: config.s3.region,
      endpoint: config.s3.endpoint,
      publicEndpoint: config.s3.publicEndpoint,
      prefix: config.s3.prefix,
      forcePathStyle: config.s3.forcePathStyle,
      sse: config.s3.sse,
      kmsKeyId: config.s3.kmsKeyId,
    });
    if (config.s3.createBucket) await s3.ensureBucket();
    artifacts = s3;
    closeArtifacts = () => s3.close();
  } else {
    const fsArtifacts = await FsArtifactStore.open({ root: join(dataDir, 'artifacts'), publicUrl, secret: config.signingSecret });
    artifacts = fsArtifacts;
    routes.push(fsArtifactRoutes(fsArtifacts));
  }

  if (overrides.wrapArtifacts) artifacts = overrides.wrapArtifacts(artifacts);
  const services = createServices({
    store,
    artifacts,
    now: () => new Date(),
    settings: { uploadUrlTtlSeconds: config.uploadUrlTtlSeconds, downloadUrlTtlSeconds: config.downloadUrlTtlSeconds, adminToken: config.adminToken },
  });
  const bootstrapToken = await services.tokens.bootstrap();
  const apollo = createApollo(await buildRegistrySchema(), { development: config.development, logger, limits: config.queryLimits });
  await apollo.start();
  const server = createHttpServer({
    apollo,
    services,
    logger,
    bodyLimitBytes: config.bodyLimitBytes,
    ready: async () => {
      await store.ping();
      await artifacts.ping();
      const unfinishedWrites = await store.unfinishedWrites();
      return unfinishedWrites > 0 ? { unfinishedWrites } : undefined;
    },
    routes,
  });
  server.keepAliveTimeout = 65_000;

  let closed = false;
  return {
    get url() {
      return publicUrl();
    },
    services,
    store,
    artifacts,
    server,
    bootstrapSecret: bootstrapToken?.secret ?? null,
    listen: () =>
      new Promise((resolveListen, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          const { port } = server.address() as AddressInfo;
          const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host.includes(':') ? `[${config.host}]` : config.host;
          const url = `http://${host}:${port}`;
          setListeningUrl(url);
          logger.info({ address: url, store: store.engine, artifacts: artifacts.engine }, 'model registry listening');
          resolveListen(url);
        });
      }),
    close: async () => {
      if (closed) return;
      closed = true;
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeIdleConnections();
      });
      await apollo.stop();
      await store.close();
      closeArtifacts();
    },
  };
}
