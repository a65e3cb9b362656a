import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { mkdirSync } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Server } from 'node:http';
import { pino, type Logger } from 'pino';
import type { ArtifactStore } from './artifacts/artifact.store.js';
import { fsArtifactRoutes } from './artifacts/fs-artifact.http.js';
import { fsMultipartRoutes } from './artifacts/multipart/fs-multipart.http.js';
import { FsArtifactStore } from './artifacts/fs-artifact.store.js';
import { S3ArtifactStore } from './artifacts/s3/s3-artifact.store.js';
import { SigningSecretError, loadOrCreateSigningSecret } from './artifacts/signing-secret.js';
import { loadOrCreateEncryptionKey } from './artifacts/encryption/encryption-key.js';
import { WebhookDeliveryWorker } from './events/webhooks/delivery-worker.js';
import { SecretBox, WebhookKeyError, parseWebhookKey } from './events/webhooks/secret-box.js';
import type { Config } from './config.js';
import { createApollo } from './graphql/apollo.js';
import { queryLimitsRule } from './graphql/limits.js';
import { buildRegistrySchema } from './graphql/schema.js';
import { type RouteHandler, createHttpServer } from './http/server.js';
import { type AuditSigningKey, AuditSigningKeyError, loadOrCreateAuditSigningKey } from './services/checkpoints/audit-signing-key.js';
import { type Services, createServices } from './services/services.js';
import type { RegistryStore } from './stores/registry.store.js';
import { MongoRegistryStore } from './stores/mongo/mongo-registry.store.js';
import { SqliteRegistryStore } from './stores/sqlite-registry.store.js';
import { consoleRoute } from './http/console/console.route.js';

export interface App {
  /** Base URL the server listens on (after listen). */
  readonly url: string;
  readonly services: Services;
  readonly store: RegistryStore;
  readonly artifacts: ArtifactStore;
  readonly server: Server;
  /** The admin secret created at first start (no REGISTRY_ADMIN_TOKEN, no admin token yet); null otherwise. */
  readonly bootstrapSecret: string | null;
  /** Where that secret was written (mode 0600, in the data directory); null when none was created. */
  readonly bootstrapSecretFile: string | null;
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
  // Before any store opens: a missing key stops the start at once. Beside the database, never in it.
  const auditKey = await loadAuditKey(config, dataDir);
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
    return await compose(config, overrides, logger, baseStore, auditKey, publicUrl, (url) => {
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
  auditKey: AuditSigningKey,
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
      timeouts: config.s3.timeouts,
      conditionalUploads: config.s3.conditionalUploads,
      trustStoreChecksums: config.s3.trustStoreChecksums,
      objectLock: config.s3.objectLock,
      multipartCopy: config.s3.multipartCopy,
    });
    const storageUrl = config.s3.publicEndpoint ?? config.s3.endpoint;
    const registryHost = config.publicUrl ? new URL(config.publicUrl).hostname : ['0.0.0.0', '::'].includes(config.host) ? 'localhost' : config.host;
    if (storageUrl && sharesHost(new URL(storageUrl).hostname, registryHost)) {
      // Go's HTTP client (and older curl) forward Authorization on a redirect to the same host name, whatever the port.
      logger.warn({ storageHost: new URL(storageUrl).hostname, registryHost }, 'S3 presigned URLs point at the registry host name (or a subdomain of it): clients may forward API tokens to storage when they follow the download redirect; serve storage from another host name');
    }
    if (config.s3.createBucket) await s3.ensureBucket();
    artifacts = s3;
    closeArtifacts = () => s3.close();
  } else {
    // Beside the database and the artifact folder, never in the database (docs/operations.md, "Encryption at rest").
    const encryptionKey = config.encryption.enabled
      ? await loadOrCreateEncryptionKey(config.encryption.keyFile ?? join(dataDir, 'artifact-encryption.key'), join(dataDir, 'artifacts'))
      : null;
    if (encryptionKey === null) logger.warn('REGISTRY_ENCRYPTION=off: artifacts are written unencrypted (a benchmark setting, not for production)');
    const fsArtifacts = await FsArtifactStore.open({ root: join(dataDir, 'artifacts'), publicUrl, secret: config.signingSecret, encryptionKey });
    artifacts = fsArtifacts;
    if (fsArtifacts.sealedFromBefore > 0) logger.info({ files: fsArtifacts.sealedFromBefore }, 'encryption at rest: artifact files written before it were encrypted in place');
    // A replayed upload URL is refused once its version is no longer waiting for files.
    const acceptsUpload = async (t: { modelName: string; versionId: string }) => {
      const version = await store.getVersion(t.versionId);
      return version !== null && version.modelName === t.modelName && version.status === 'PENDING_UPLOAD';
    };
    routes.push(fsMultipartRoutes(fsArtifacts, acceptsUpload), fsArtifactRoutes(fsArtifacts, acceptsUpload));
  }

  // The web console: static files on the public GraphQL API (ui/, built into dist/ui).
  routes.push(consoleRoute(config.consoleDir ?? undefined));

  if (overrides.wrapArtifacts) artifacts = overrides.wrapArtifacts(artifacts);
  const webhookKey = await loadWebhookKey(config, dataDir);
  const webhookBox = webhookKey ? new SecretBox(webhookKey) : null;
  if (!webhookBox) logger.info('webhooks are off: with MongoDB, set REGISTRY_WEBHOOK_KEY_FILE (the same key on every process) to use them');
  let worker: WebhookDeliveryWorker | null = null;
  const services = createServices({
    auditKey,
    store,
    artifacts,
    now: () => new Date(),
    settings: {
      uploadUrlTtlSeconds: config.uploadUrlTtlSeconds,
      downloadUrlTtlSeconds: config.downloadUrlTtlSeconds,
      adminToken: config.adminToken,
      accessDeniedAudit: config.accessDeniedAudit,
      promotionRequestTtlSeconds: config.promotionRequestTtlSeconds,
      asyncCompletionBytes: config.asyncCompletionBytes,
      multipart: config.multipart,
      cleanup: config.cleanup,
      checkpoints: { everyEvents: config.checkpoints.everyEvents, everyMs: config.checkpoints.everyMs },
      events: { pollMs: config.events.pollMs, recentEvents: config.events.recentEvents, maxLag: config.events.maxLag, gapRetryMs: config.events.pollMs },
      webhooks: { allowPrivate: config.webhooks.allowPrivate },
      retentionDays: config.retentionDays,
    },
    webhookBox,
    onIntegrityProblem: (message) => logger.error({ integrity: message }, 'a stored row does not match the audit log; refused'),
  }, {
    onCheckpointError: (err) => logger.error({ err }, 'writing a signed audit checkpoint failed; trying again at the next look'),
    onCleanupError: (err) => logger.error({ err }, 'the cleanup of abandoned uploads failed; trying again at the next interval'),
    onAppended: () => worker?.wake(),
    onEventsError: (err) => logger.error({ err }, 'registry events: reading the audit log forward failed; trying again at the next poll'),
    onBackgroundStop: (versionId, err, stoppedByShutdown) =>
      stoppedByShutdown
        ? logger.warn({ versionId }, 'background verification stopped by the shutdown; the version stays PENDING_UPLOAD until completed again')
        : logger.error({ err, versionId }, 'background verification stopped; the version stays PENDING_UPLOAD until completed again'),
  });
  if (webhookBox && config.webhooks.delivery) {
    // The store as given (not the waking proxy): the worker's own writes need not wake anyone.
    worker = new WebhookDeliveryWorker(store, webhookBox, {
      pollMs: config.webhooks.pollMs, leaseMs: config.webhooks.leaseMs, timeoutMs: config.webhooks.timeoutMs, retryMinMs: config.webhooks.retryMinMs,
      retryMaxMs: config.webhooks.retryMaxMs, giveUpAfterMs: config.webhooks.giveUpAfterMs, allowPrivate: config.webhooks.allowPrivate,
    }, logger);
  }
  const bootstrapToken = await services.tokens.bootstrap();
  const bootstrapSecretFile = bootstrapToken ? await writeSecretFile(join(dataDir, 'bootstrap-admin-token'), bootstrapToken.secret) : null;
  const schema = await buildRegistrySchema();
  const apollo = createApollo(schema, { development: config.development, logger, limits: config.queryLimits, responseLimits: config.responseLimits });
  await apollo.start();
  const http = createHttpServer({
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
    connections: config.connections,
    schema,
    subscriptions: {
      maxSubscriptionsPerConnection: config.events.maxSubscriptionsPerConnection,
      maxConnectionsPerToken: config.events.maxConnectionsPerToken,
      authRecheckMs: config.events.authRecheckMs,
      maxMessageBytes: config.bodyLimitBytes,
      maxQueryTokens: config.queryLimits.maxTokens,
      validationRules: [queryLimitsRule(config.queryLimits)],
      development: config.development,
    },
  });
  const server = http.server;

  let closing: Promise<void> | null = null;
  return {
    get url() {
      return publicUrl();
    },
    services,
    store,
    artifacts,
    server,
    bootstrapSecret: bootstrapToken?.secret ?? null,
    bootstrapSecretFile,
    listen: () =>
      new Promise((resolveListen, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          const { port } = server.address() as AddressInfo;
          const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host.includes(':') ? `[${config.host}]` : config.host;
          const url = `http://${host}:${port}`;
          setListeningUrl(url);
          services.cleanup.start();
          services.checkpoints.start();
          logger.info({ address: url, store: store.engine, artifacts: artifacts.engine }, 'model registry listening');
          worker?.start();
          resolveListen(url);
        });
      }),
    // A second call (SIGINT during a SIGTERM drain) waits for the same drain instead of returning at once.
    close: () =>
      (closing ??= (async () => {
        await http.drain(config.shutdownGraceSeconds * 1000);
        // Background checks stop where they are (their versions stay PENDING_UPLOAD) before the stores close.
        await services.completions.stop();
        await services.cleanup.stop();
        // The last checkpoint covers everything this process wrote (the stores are still open).
        await services.checkpoints.stop();
        await services.events.stop();
        // Requests in flight are cut (their events go out again later: at least once), leases released.
        await worker?.stop();
        await apollo.stop();
        await store.close();
        closeArtifacts();
      })()),
  };
}

/**
 * The key that seals webhook secrets, from outside the database: REGISTRY_WEBHOOK_KEY, the file
 * in REGISTRY_WEBHOOK_KEY_FILE (which must exist), or, in the embedded mode (SQLite), a file
 * made at first start beside the data (mode 0600). Null with MongoDB and no key: replicas must
 * share one key, so none is made up.
 */
/**
 * The audit checkpoints' signing key. With MongoDB the replicas must share one key, kept outside
 * the database: REGISTRY_AUDIT_SIGNING_KEY_FILE is required (a key made per process would make each
 * replica's checkpoints look forged to the others). Embedded: `<data dir>/audit-signing-key.pem`,
 * created on the first start.
 */
async function loadAuditKey(config: Config, dataDir: string): Promise<AuditSigningKey> {
  if (config.checkpoints.keyFile) return loadOrCreateAuditSigningKey(config.checkpoints.keyFile, false);
  if (config.mongo) {
    throw new AuditSigningKeyError('with MongoDB, set REGISTRY_AUDIT_SIGNING_KEY_FILE to an Ed25519 private key shared by every replica and kept outside the database (create one with: openssl genpkey -algorithm ed25519 -out audit-signing-key.pem)');
  }
  return loadOrCreateAuditSigningKey(join(dataDir, 'audit-signing-key.pem'), true);
}

async function loadWebhookKey(config: Config, dataDir: string): Promise<Buffer | null> {
  if (config.webhooks.key) return parseWebhookKey(config.webhooks.key, 'REGISTRY_WEBHOOK_KEY');
  if (config.webhooks.keyFile) {
    let text: string;
    try {
      text = await readFile(config.webhooks.keyFile, 'utf8');
    } catch (err) {
      throw new WebhookKeyError(`REGISTRY_WEBHOOK_KEY_FILE ${config.webhooks.keyFile} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    return parseWebhookKey(text, `REGISTRY_WEBHOOK_KEY_FILE ${config.webhooks.keyFile}`);
  }
  if (config.mongo) return null;
  const file = join(dataDir, 'webhook-key');
  try {
    return await loadOrCreateSigningSecret(file);
  } catch (err) {
    if (err instanceof SigningSecretError) {
      throw new WebhookKeyError(`${file} is damaged: it must hold exactly 64 hex characters. Restore it from a backup; a new key cannot open the secrets of existing webhooks (rotate each one after replacing it).`);
    }
    throw err;
  }
}

/** Writes a secret readable by the owner only, synced before the path is told to anyone. */
async function writeSecretFile(file: string, secret: string): Promise<string> {
  // A fresh file ('wx' after removing any old one): never through a link someone left at that path.
  await rm(file, { force: true });
  const handle = await open(file, 'wx', 0o600);
  try {
    await handle.writeFile(`${secret}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return file;
}

/** Same host name, or `storage` a subdomain of `registry` (ports do not matter to the clients that forward tokens). */
function sharesHost(storage: string, registry: string): boolean {
  const a = storage.toLowerCase().replace(/^\[|\]$/g, '');
  const b = registry.toLowerCase().replace(/^\[|\]$/g, '');
  return a === b || a.endsWith(`.${b}`);
}
