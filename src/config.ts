import { z } from 'zod';

const bool = z.enum(['true', 'false'], { message: 'must be true or false' }).transform((v) => v === 'true');
const httpUrl = z.url({ protocol: /^https?$/ });

/** The only reader of process.env: parsed and validated once, returned frozen. */
const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().min(1).default('127.0.0.1'),
  REGISTRY_DATA_DIR: z.string().min(1).default('./data'),
  REGISTRY_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  REGISTRY_CONSOLE_DIR: z.string().min(1).optional(),
  REGISTRY_SIGNING_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  REGISTRY_UPLOAD_URL_TTL_SECONDS: z.coerce.number().int().min(1).max(604800).default(900),
  REGISTRY_DOWNLOAD_URL_TTL_SECONDS: z.coerce.number().int().min(1).max(604800).default(900),
  REGISTRY_BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  NODE_ENV: z.string().default('production'),
  // Access control and the GraphQL edge.
  REGISTRY_ADMIN_TOKEN: z.string().min(32, 'must be at least 32 characters').max(512).regex(/^\S+$/, 'must not contain spaces').optional(),
  REGISTRY_MAX_QUERY_DEPTH: z.coerce.number().int().min(2).max(100).default(15),
  REGISTRY_MAX_ALIASES: z.coerce.number().int().min(0).max(1000).default(30),
  REGISTRY_MAX_DIRECTIVES: z.coerce.number().int().min(0).max(1000).default(20),
  REGISTRY_MAX_QUERY_COST: z.coerce.number().int().min(100).max(10_000_000).default(50_000),
  REGISTRY_MAX_QUERY_TOKENS: z.coerce.number().int().min(100).max(1_000_000).default(5_000),
  // The cleanup of abandoned uploads (0: no background runs; runCleanup still works).
  REGISTRY_CLEANUP_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(7 * 86_400).default(600),
  REGISTRY_UPLOAD_GRACE_SECONDS: z.coerce.number().int().min(0).max(30 * 86_400).default(3600),
  // Signed audit checkpoints (docs/operations.md).
  REGISTRY_AUDIT_SIGNING_KEY_FILE: z.string().min(1).optional(),
  REGISTRY_AUDIT_CHECKPOINT_EVERY_EVENTS: z.coerce.number().int().min(1).max(10_000_000).default(1000),
  REGISTRY_AUDIT_CHECKPOINT_EVERY_SECONDS: z.coerce.number().int().min(0).max(7 * 86_400).default(300),
  // Retention (docs/operations.md, "Retention and legal hold"): seven years by default.
  REGISTRY_RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(2557),
  // Encryption at rest of the embedded (filesystem) artifact store; off is a benchmark ceiling only.
  REGISTRY_ENCRYPTION: z.enum(['on', 'off'], { message: 'must be on or off' }).default('on'),
  REGISTRY_ENCRYPTION_KEY_FILE: z.string().min(1).optional(),
  // Multipart uploads of large artifacts (issue 16): the threshold (capped at 5 GiB) and the smallest part.
  REGISTRY_MULTIPART_THRESHOLD_BYTES: z.coerce.number().int().min(1).max(5 * 1024 ** 3).default(64 * 1024 ** 2),
  REGISTRY_MULTIPART_PART_BYTES: z.coerce.number().int().min(1).max(5 * 1024 ** 3).default(8 * 1024 ** 2),
  REGISTRY_ASYNC_COMPLETION_BYTES: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(1024 ** 3),
  /** How long a promotion request waits for its approvals before it expires (default 7 days). */
  REGISTRY_PROMOTION_REQUEST_TTL_SECONDS: z.coerce.number().int().min(1).max(365 * 86_400).default(7 * 86_400),
  REGISTRY_ACCESS_DENIED_AUDIT_LIMIT: z.coerce.number().int().min(1).max(10_000).default(10),
  REGISTRY_ACCESS_DENIED_AUDIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  REGISTRY_MAX_RESPONSE_NODES: z.coerce.number().int().min(1000).max(100_000_000).default(2_000_000),
  REGISTRY_MAX_RESPONSE_BYTES: z.coerce.number().int().min(64 * 1024).max(1024 * 1024 * 1024).default(32 * 1024 * 1024),
  // Connections and shutdown (0 turns a limit off).
  REGISTRY_MAX_CONNECTIONS: z.coerce.number().int().min(0).max(1_000_000).default(4096),
  REGISTRY_MAX_CONNECTIONS_PER_ADDRESS: z.coerce.number().int().min(0).max(1_000_000).default(256),
  REGISTRY_HEADERS_TIMEOUT_SECONDS: z.coerce.number().min(1).max(600).default(15),
  REGISTRY_REQUEST_TIMEOUT_SECONDS: z.coerce.number().min(0).max(3600).default(30),
  REGISTRY_UPLOAD_IDLE_TIMEOUT_SECONDS: z.coerce.number().min(0).max(3600).default(60),
  REGISTRY_KEEP_ALIVE_TIMEOUT_SECONDS: z.coerce.number().min(0).max(3600).default(65),
  REGISTRY_SHUTDOWN_GRACE_SECONDS: z.coerce.number().min(0).max(3600).default(25),
  // Registry events over WebSocket (graphql-ws on /graphql).
  REGISTRY_EVENTS_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(250),
  REGISTRY_EVENTS_RECENT: z.coerce.number().int().min(0).max(1_000_000).default(2_000),
  REGISTRY_SUBSCRIPTION_MAX_LAG: z.coerce.number().int().min(1).max(100_000_000).default(10_000),
  REGISTRY_MAX_SUBSCRIPTIONS_PER_CONNECTION: z.coerce.number().int().min(0).max(10_000).default(20),
  REGISTRY_MAX_WS_CONNECTIONS_PER_TOKEN: z.coerce.number().int().min(0).max(100_000).default(20),
  REGISTRY_WS_AUTH_RECHECK_SECONDS: z.coerce.number().min(0.1).max(3600).default(5),
  // Webhooks: the server key that seals their secrets, the SSRF guard, and the delivery worker.
  REGISTRY_WEBHOOK_KEY_FILE: z.string().min(1).optional(),
  REGISTRY_WEBHOOK_KEY: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex characters (openssl rand -hex 32)').optional(),
  REGISTRY_WEBHOOK_ALLOW_PRIVATE: bool.default(false),
  REGISTRY_WEBHOOK_DELIVERY: bool.default(true),
  REGISTRY_WEBHOOK_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(1_000),
  REGISTRY_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  REGISTRY_WEBHOOK_LEASE_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
  REGISTRY_WEBHOOK_RETRY_MIN_MS: z.coerce.number().int().min(10).max(3_600_000).default(1_000),
  REGISTRY_WEBHOOK_RETRY_MAX_MS: z.coerce.number().int().min(10).max(86_400_000).default(3_600_000),
  REGISTRY_WEBHOOK_GIVE_UP_SECONDS: z.coerce.number().min(0).max(30 * 86_400).default(86_400),
  // MongoDB metadata store; MONGODB_URI selects it.
  MONGODB_URI: z.string().regex(/^mongodb(\+srv)?:\/\/\S+$/, 'must be a mongodb:// or mongodb+srv:// connection string').optional(),
  MONGODB_DB: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, 'must be a database name (letters, digits, _ and -)').default('model_registry'),
  MONGODB_POINTER_READ_CONCERN: z.enum(['majority', 'linearizable']).default('majority'),
  // S3 / MinIO artifact storage; S3_BUCKET selects it. Credentials come from the AWS default chain.
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a bucket name: 3-63 lowercase letters, digits, "." and "-"')
    .optional(),
  S3_ENDPOINT: httpUrl.optional(),
  S3_PUBLIC_ENDPOINT: httpUrl
    .refine((u) => { const url = new URL(u); return url.pathname === '/' && !url.search && !url.hash; }, 'must be scheme, host and port only, without a path (the bucket and key are added to it)')
    .optional(),
  S3_REGION: z.string().regex(/^[a-z0-9-]{1,64}$/, 'must be a region name such as us-east-1').default('us-east-1'),
  S3_PREFIX: z
    .string()
    .regex(/^\/*[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*\/*$/, 'must be "/"-separated segments of letters, digits and ._-')
    .refine((p) => !p.split('/').some((s) => s === '.' || s === '..'), 'must not contain "." or ".." segments')
    .optional(),
  S3_FORCE_PATH_STYLE: bool.default(false),
  // Server-side encryption: AES256 unless set; none only with the acknowledgement (docs/operations.md).
  S3_SSE: z.enum(['none', 'AES256', 'aws:kms']).optional(),
  S3_SSE_NONE_ACKNOWLEDGED: bool.optional(),
  S3_SSE_KMS_KEY_ID: z.string().min(1).optional(),
  S3_CREATE_BUCKET: bool.default(false),
  S3_OBJECT_LOCK_MODE: z.enum(['off', 'GOVERNANCE', 'COMPLIANCE']).default('off'),
  S3_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).optional(),
  S3_SOCKET_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).optional(),
  S3_PING_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).optional(),
  S3_CONDITIONAL_UPLOADS: bool.optional(),
  S3_TRUST_STORE_CHECKSUMS: bool.optional(),
  // Objects past this size are copied part by part (UploadPartCopy) in finalize: 5 GiB, lower only in tests.
  S3_MULTIPART_COPY_ABOVE_BYTES: z.coerce.number().int().min(1).max(5 * 1024 ** 3).optional(),
  S3_MULTIPART_COPY_PART_BYTES: z.coerce.number().int().min(1).max(5 * 1024 ** 3).optional(),
}).superRefine((c, ctx) => {
  if (c.REGISTRY_WEBHOOK_KEY && c.REGISTRY_WEBHOOK_KEY_FILE) {
    ctx.addIssue({ code: 'custom', path: ['REGISTRY_WEBHOOK_KEY'], message: 'set either REGISTRY_WEBHOOK_KEY or REGISTRY_WEBHOOK_KEY_FILE, not both' });
  }
  if (c.REGISTRY_WEBHOOK_RETRY_MIN_MS > c.REGISTRY_WEBHOOK_RETRY_MAX_MS) {
    ctx.addIssue({ code: 'custom', path: ['REGISTRY_WEBHOOK_RETRY_MIN_MS'], message: 'must not exceed REGISTRY_WEBHOOK_RETRY_MAX_MS' });
  }
  if (c.REGISTRY_WEBHOOK_LEASE_MS <= c.REGISTRY_WEBHOOK_TIMEOUT_MS) {
    ctx.addIssue({ code: 'custom', path: ['REGISTRY_WEBHOOK_LEASE_MS'], message: 'must exceed REGISTRY_WEBHOOK_TIMEOUT_MS (every attempt must end inside the lease)' });
  }
  if (c.S3_SSE === 'aws:kms' && !c.S3_SSE_KMS_KEY_ID) {
    ctx.addIssue({ code: 'custom', path: ['S3_SSE_KMS_KEY_ID'], message: 'is required when S3_SSE is aws:kms' });
  }
  if (c.S3_BUCKET && c.S3_SSE === 'none' && c.S3_SSE_NONE_ACKNOWLEDGED !== true) {
    ctx.addIssue({
      code: 'custom', path: ['S3_SSE'],
      message: 'none stores artifacts without server-side encryption; leave S3_SSE unset (AES256) or use aws:kms, or, if the bucket encrypts on its own (default bucket encryption, R2, GCS), also set S3_SSE_NONE_ACKNOWLEDGED=true',
    });
  }
  if (c.S3_SSE_NONE_ACKNOWLEDGED !== undefined && c.S3_SSE !== 'none') {
    ctx.addIssue({ code: 'custom', path: ['S3_SSE_NONE_ACKNOWLEDGED'], message: 'is only used with S3_SSE=none' });
  }
  if (c.S3_BUCKET && c.REGISTRY_ENCRYPTION_KEY_FILE !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['REGISTRY_ENCRYPTION_KEY_FILE'], message: 'is for the embedded artifact store; with S3_BUCKET, S3_SSE encrypts at rest' });
  }
  if (c.S3_BUCKET && c.REGISTRY_ENCRYPTION === 'off') {
    ctx.addIssue({ code: 'custom', path: ['REGISTRY_ENCRYPTION'], message: 'is for the embedded artifact store; with S3_BUCKET, S3_SSE encrypts at rest' });
  }
  if (c.REGISTRY_ENCRYPTION === 'off' && c.REGISTRY_ENCRYPTION_KEY_FILE !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['REGISTRY_ENCRYPTION_KEY_FILE'], message: 'is set but REGISTRY_ENCRYPTION is off' });
  }
  if (c.S3_SSE_KMS_KEY_ID && c.S3_SSE !== 'aws:kms') {
    ctx.addIssue({ code: 'custom', path: ['S3_SSE_KMS_KEY_ID'], message: 'is only used with S3_SSE=aws:kms' });
  }
  if (c.S3_OBJECT_LOCK_MODE !== 'off' && c.REGISTRY_RETENTION_DAYS < 1) {
    ctx.addIssue({ code: 'custom', path: ['S3_OBJECT_LOCK_MODE'], message: 'needs REGISTRY_RETENTION_DAYS of at least 1 (an Object Lock retention date must lie in the future)' });
  }
  if (!c.S3_BUCKET) {
    // Any other S3 setting without a bucket would silently fall back to the local directory.
    for (const name of ['S3_ENDPOINT', 'S3_PUBLIC_ENDPOINT', 'S3_PREFIX', 'S3_SSE_KMS_KEY_ID', 'S3_CONNECT_TIMEOUT_MS', 'S3_SOCKET_TIMEOUT_MS', 'S3_PING_TIMEOUT_MS', 'S3_CONDITIONAL_UPLOADS', 'S3_TRUST_STORE_CHECKSUMS', 'S3_MULTIPART_COPY_ABOVE_BYTES', 'S3_MULTIPART_COPY_PART_BYTES'] as const) {
      if (c[name] !== undefined) ctx.addIssue({ code: 'custom', path: [name], message: 'is set but S3_BUCKET is not (S3_BUCKET selects S3 storage)' });
    }
    if (c.S3_SSE !== undefined) ctx.addIssue({ code: 'custom', path: ['S3_SSE'], message: 'is set but S3_BUCKET is not (S3_BUCKET selects S3 storage)' });
    if (c.S3_SSE_NONE_ACKNOWLEDGED !== undefined) ctx.addIssue({ code: 'custom', path: ['S3_SSE_NONE_ACKNOWLEDGED'], message: 'is set but S3_BUCKET is not (S3_BUCKET selects S3 storage)' });
    if (c.S3_OBJECT_LOCK_MODE !== 'off') ctx.addIssue({ code: 'custom', path: ['S3_OBJECT_LOCK_MODE'], message: 'is set but S3_BUCKET is not (S3_BUCKET selects S3 storage)' });
    if (c.S3_CREATE_BUCKET) ctx.addIssue({ code: 'custom', path: ['S3_CREATE_BUCKET'], message: 'is set but S3_BUCKET is not (S3_BUCKET selects S3 storage)' });
  }
});

export interface S3Config {
  readonly bucket: string;
  readonly region: string;
  /** S3-compatible endpoint (MinIO); null: AWS S3. */
  readonly endpoint: string | null;
  /** Host put into presigned URLs when clients reach storage through another address. */
  readonly publicEndpoint: string | null;
  readonly prefix: string;
  readonly forcePathStyle: boolean;
  readonly sse: 'none' | 'AES256' | 'aws:kms';
  readonly kmsKeyId: string | null;
  /** Create the bucket at start when missing (MinIO in docker compose). */
  readonly createBucket: boolean;
  /** Connect, idle-socket and readiness-check timeouts. */
  readonly timeouts: { readonly connectMs: number; readonly idleMs: number; readonly pingMs: number };
  /** Sign `If-None-Match: *` into upload URLs (a URL cannot overwrite a staged upload). */
  readonly conditionalUploads: boolean;
  /** Skip the read-back when the store reports a full-object SHA-256 equal to the declared one. */
  readonly trustStoreChecksums: boolean;
  /** S3 Object Lock on final objects (retained for the retention days from finalize); null: none. */
  readonly objectLock: { readonly mode: 'GOVERNANCE' | 'COMPLIANCE'; readonly retainDays: number } | null;
  /** Objects past `singleMaxBytes` are copied in parts of `partBytes` (5 GiB and 512 MiB; lower only in tests). */
  readonly multipartCopy: { readonly singleMaxBytes: number; readonly partBytes: number };
}

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /** The web console's built files (served at /ui); null: dist/ui of this package. */
  readonly consoleDir: string | null;
  /** Base of every URL handed out; null: derived from the address the server listens on. */
  readonly publicUrl: string | null;
  readonly signingSecret: string | null;
  readonly uploadUrlTtlSeconds: number;
  readonly downloadUrlTtlSeconds: number;
  readonly bodyLimitBytes: number;
  readonly logLevel: string;
  readonly development: boolean;
  /** REGISTRY_ADMIN_TOKEN: a bearer secret with the admin role, kept only in configuration. */
  readonly adminToken: string | null;
  /** REGISTRY_RETENTION_DAYS: artifacts of verified versions cannot be deleted by any API for this long after registration. */
  readonly retentionDays: number;
  /**
   * Encryption at rest of the embedded artifact store: the master key's file (null: the default,
   * `<data dir>/artifact-encryption.key`, created on first start); `enabled` false only for the
   * benchmark's ceiling (REGISTRY_ENCRYPTION=off). Not used with S3 (S3_SSE there).
   */
  readonly encryption: { readonly enabled: boolean; readonly keyFile: string | null };
  /** Versions whose artifacts total more bytes are verified in the background (completion answers at once). */
  readonly asyncCompletionBytes: number;
  /** Artifacts past `thresholdBytes` (and always past 5 GiB) are offered in parts of at least `minPartBytes`. */
  readonly multipart: { readonly thresholdBytes: number; readonly minPartBytes: number };
  /** The cleanup of abandoned uploads: how often it runs in the background, and the grace after the upload URLs' expiry. */
  readonly cleanup: { intervalMs: number; graceSeconds: number };
  /** Signed audit checkpoints: the key file (null: `<data dir>/audit-signing-key.pem`, created when absent) and how often. */
  readonly checkpoints: { keyFile: string | null; everyEvents: number; everyMs: number };
  /** Per token and window: ACCESS_DENIED events recorded one by one; the rest go into one summary event. */
  readonly accessDeniedAudit: { readonly limit: number; readonly windowSeconds: number };
  /** REGISTRY_PROMOTION_REQUEST_TTL_SECONDS: a promotion request not approved by then is EXPIRED. */
  readonly promotionRequestTtlSeconds: number;
  readonly queryLimits: { readonly maxDepth: number; readonly maxAliases: number; readonly maxDirectives: number; readonly maxCost: number; readonly maxTokens: number };
  /** Per response, counted as resolvers return: list items and leaf values, and estimated JSON bytes. */
  readonly responseLimits: { readonly maxNodes: number; readonly maxBytes: number };
  /** Connection caps and timeouts of the HTTP server (milliseconds; 0: off). */
  readonly connections: {
    readonly maxConnections: number;
    readonly maxConnectionsPerAddress: number;
    readonly headersTimeoutMs: number;
    readonly requestTimeoutMs: number;
    readonly uploadIdleTimeoutMs: number;
    readonly keepAliveTimeoutMs: number;
  };
  /** Registry events: the feed (poll interval, shared window, lag limit) and the WebSocket limits (0: no limit). */
  readonly events: {
    readonly pollMs: number;
    readonly recentEvents: number;
    readonly maxLag: number;
    readonly maxSubscriptionsPerConnection: number;
    readonly maxConnectionsPerToken: number;
    readonly authRecheckMs: number;
  };
  /**
   * Webhooks. The secret key seals signing secrets at rest (never stored in the database): `key`
   * (hex, from REGISTRY_WEBHOOK_KEY) or `keyFile`; neither: a file beside the SQLite data, made
   * at first start (embedded mode only; with MongoDB webhooks then stay off).
   */
  readonly webhooks: {
    readonly key: string | null;
    readonly keyFile: string | null;
    readonly allowPrivate: boolean;
    /** Whether this process runs the delivery worker. */
    readonly delivery: boolean;
    readonly pollMs: number;
    readonly timeoutMs: number;
    readonly leaseMs: number;
    readonly retryMinMs: number;
    readonly retryMaxMs: number;
    readonly giveUpAfterMs: number;
  };
  /** SIGTERM: how long requests in progress may take to finish before their connections are closed. */
  readonly shutdownGraceSeconds: number;
  /** MongoDB metadata store; null: the SQLite file under dataDir. The URI may hold credentials: never log it. */
  readonly mongo: { readonly uri: string; readonly dbName: string; readonly pointerReadConcern: 'majority' | 'linearizable' } | null;
  /** S3 artifact storage; null: the local artifact directory under dataDir. */
  readonly s3: S3Config | null;
}

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  return Object.freeze({
    port: c.PORT,
    host: c.HOST,
    dataDir: c.REGISTRY_DATA_DIR,
    consoleDir: c.REGISTRY_CONSOLE_DIR ?? null,
    publicUrl: c.REGISTRY_PUBLIC_URL ? c.REGISTRY_PUBLIC_URL.replace(/\/+$/, '') : null,
    signingSecret: c.REGISTRY_SIGNING_SECRET ?? null,
    uploadUrlTtlSeconds: c.REGISTRY_UPLOAD_URL_TTL_SECONDS,
    downloadUrlTtlSeconds: c.REGISTRY_DOWNLOAD_URL_TTL_SECONDS,
    bodyLimitBytes: c.REGISTRY_BODY_LIMIT_BYTES,
    logLevel: c.LOG_LEVEL,
    development: c.NODE_ENV === 'development',
    adminToken: c.REGISTRY_ADMIN_TOKEN ?? null,
    asyncCompletionBytes: c.REGISTRY_ASYNC_COMPLETION_BYTES,
    multipart: Object.freeze({ thresholdBytes: c.REGISTRY_MULTIPART_THRESHOLD_BYTES, minPartBytes: c.REGISTRY_MULTIPART_PART_BYTES }),
    retentionDays: c.REGISTRY_RETENTION_DAYS,
    encryption: Object.freeze({ enabled: c.REGISTRY_ENCRYPTION === 'on', keyFile: c.REGISTRY_ENCRYPTION_KEY_FILE ?? null }),
    checkpoints: {
      keyFile: c.REGISTRY_AUDIT_SIGNING_KEY_FILE ?? null, everyEvents: c.REGISTRY_AUDIT_CHECKPOINT_EVERY_EVENTS, everyMs: c.REGISTRY_AUDIT_CHECKPOINT_EVERY_SECONDS * 1000,
    },
    cleanup: { intervalMs: c.REGISTRY_CLEANUP_INTERVAL_SECONDS * 1000, graceSeconds: c.REGISTRY_UPLOAD_GRACE_SECONDS },
    accessDeniedAudit: Object.freeze({ limit: c.REGISTRY_ACCESS_DENIED_AUDIT_LIMIT, windowSeconds: c.REGISTRY_ACCESS_DENIED_AUDIT_WINDOW_SECONDS }),
    promotionRequestTtlSeconds: c.REGISTRY_PROMOTION_REQUEST_TTL_SECONDS,
    mongo: c.MONGODB_URI ? Object.freeze({ uri: c.MONGODB_URI, dbName: c.MONGODB_DB, pointerReadConcern: c.MONGODB_POINTER_READ_CONCERN }) : null,
    queryLimits: Object.freeze({
      maxDepth: c.REGISTRY_MAX_QUERY_DEPTH,
      maxAliases: c.REGISTRY_MAX_ALIASES,
      maxDirectives: c.REGISTRY_MAX_DIRECTIVES,
      maxCost: c.REGISTRY_MAX_QUERY_COST,
      maxTokens: c.REGISTRY_MAX_QUERY_TOKENS,
    }),
    responseLimits: Object.freeze({ maxNodes: c.REGISTRY_MAX_RESPONSE_NODES, maxBytes: c.REGISTRY_MAX_RESPONSE_BYTES }),
    connections: Object.freeze({
      maxConnections: c.REGISTRY_MAX_CONNECTIONS,
      maxConnectionsPerAddress: c.REGISTRY_MAX_CONNECTIONS_PER_ADDRESS,
      headersTimeoutMs: Math.round(c.REGISTRY_HEADERS_TIMEOUT_SECONDS * 1000),
      requestTimeoutMs: Math.round(c.REGISTRY_REQUEST_TIMEOUT_SECONDS * 1000),
      uploadIdleTimeoutMs: Math.round(c.REGISTRY_UPLOAD_IDLE_TIMEOUT_SECONDS * 1000),
      keepAliveTimeoutMs: Math.round(c.REGISTRY_KEEP_ALIVE_TIMEOUT_SECONDS * 1000),
    }),
    events: Object.freeze({
      pollMs: c.REGISTRY_EVENTS_POLL_MS,
      recentEvents: c.REGISTRY_EVENTS_RECENT,
      maxLag: c.REGISTRY_SUBSCRIPTION_MAX_LAG,
      maxSubscriptionsPerConnection: c.REGISTRY_MAX_SUBSCRIPTIONS_PER_CONNECTION,
      maxConnectionsPerToken: c.REGISTRY_MAX_WS_CONNECTIONS_PER_TOKEN,
      authRecheckMs: Math.round(c.REGISTRY_WS_AUTH_RECHECK_SECONDS * 1000),
    }),
    webhooks: Object.freeze({
      key: c.REGISTRY_WEBHOOK_KEY ?? null,
      keyFile: c.REGISTRY_WEBHOOK_KEY_FILE ?? null,
      allowPrivate: c.REGISTRY_WEBHOOK_ALLOW_PRIVATE,
      delivery: c.REGISTRY_WEBHOOK_DELIVERY,
      pollMs: c.REGISTRY_WEBHOOK_POLL_MS,
      timeoutMs: c.REGISTRY_WEBHOOK_TIMEOUT_MS,
      leaseMs: c.REGISTRY_WEBHOOK_LEASE_MS,
      retryMinMs: c.REGISTRY_WEBHOOK_RETRY_MIN_MS,
      retryMaxMs: c.REGISTRY_WEBHOOK_RETRY_MAX_MS,
      giveUpAfterMs: Math.round(c.REGISTRY_WEBHOOK_GIVE_UP_SECONDS * 1000),
    }),
    shutdownGraceSeconds: c.REGISTRY_SHUTDOWN_GRACE_SECONDS,
    s3: c.S3_BUCKET
      ? Object.freeze({
          bucket: c.S3_BUCKET,
          region: c.S3_REGION,
          endpoint: c.S3_ENDPOINT ?? null,
          publicEndpoint: c.S3_PUBLIC_ENDPOINT ?? null,
          prefix: (c.S3_PREFIX ?? '').replace(/^\/+|\/+$/g, ''),
          forcePathStyle: c.S3_FORCE_PATH_STYLE,
          sse: c.S3_SSE ?? 'AES256',
          kmsKeyId: c.S3_SSE_KMS_KEY_ID ?? null,
          createBucket: c.S3_CREATE_BUCKET,
          timeouts: Object.freeze({ connectMs: c.S3_CONNECT_TIMEOUT_MS ?? 5_000, idleMs: c.S3_SOCKET_TIMEOUT_MS ?? 60_000, pingMs: c.S3_PING_TIMEOUT_MS ?? 5_000 }),
          conditionalUploads: c.S3_CONDITIONAL_UPLOADS ?? true,
          trustStoreChecksums: c.S3_TRUST_STORE_CHECKSUMS ?? false,
          objectLock: c.S3_OBJECT_LOCK_MODE === 'off' ? null : Object.freeze({ mode: c.S3_OBJECT_LOCK_MODE, retainDays: c.REGISTRY_RETENTION_DAYS }),
          multipartCopy: Object.freeze({ singleMaxBytes: c.S3_MULTIPART_COPY_ABOVE_BYTES ?? 5 * 1024 ** 3, partBytes: c.S3_MULTIPART_COPY_PART_BYTES ?? 512 * 1024 ** 2 }),
        })
      : null,
  });
}
