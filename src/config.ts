import { z } from 'zod';

const bool = z.enum(['true', 'false'], { message: 'must be true or false' }).transform((v) => v === 'true');
const httpUrl = z.url({ protocol: /^https?$/ });

/** The only reader of process.env: parsed and validated once, returned frozen. */
const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().min(1).default('127.0.0.1'),
  REGISTRY_DATA_DIR: z.string().min(1).default('./data'),
  REGISTRY_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
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
  S3_PUBLIC_ENDPOINT: httpUrl.optional(),
  S3_REGION: z.string().regex(/^[a-z0-9-]{1,64}$/, 'must be a region name such as us-east-1').default('us-east-1'),
  S3_PREFIX: z
    .string()
    .regex(/^\/*[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*\/*$/, 'must be "/"-separated segments of letters, digits and ._-')
    .refine((p) => !p.split('/').some((s) => s === '.' || s === '..'), 'must not contain "." or ".." segments')
    .optional(),
  S3_FORCE_PATH_STYLE: bool.default(false),
  S3_SSE: z.enum(['none', 'AES256', 'aws:kms']).default('none'),
  S3_SSE_KMS_KEY_ID: z.string().min(1).optional(),
  S3_CREATE_BUCKET: bool.default(false),
}).superRefine((c, ctx) => {
  if (c.S3_SSE === 'aws:kms' && !c.S3_SSE_KMS_KEY_ID) {
    ctx.addIssue({ code: 'custom', path: ['S3_SSE_KMS_KEY_ID'], message: 'is required when S3_SSE is aws:kms' });
  }
  if (c.S3_SSE_KMS_KEY_ID && c.S3_SSE !== 'aws:kms') {
    ctx.addIssue({ code: 'custom', path: ['S3_SSE_KMS_KEY_ID'], message: 'is only used with S3_SSE=aws:kms' });
  }
  if (!c.S3_BUCKET) {
    // Any other S3 setting without a bucket would silently fall back to the local directory.
    for (const name of ['S3_ENDPOINT', 'S3_PUBLIC_ENDPOINT', 'S3_PREFIX', 'S3_SSE_KMS_KEY_ID'] as const) {
      if (c[name] !== undefined) ctx.addIssue({ code: 'custom', path: [name], message: 'is set but S3_BUCKET is not (S3_BUCKET selects S3 storage)' });
    }
    if (c.S3_SSE !== 'none') ctx.addIssue({ code: 'custom', path: ['S3_SSE'], message: 'is set but S3_BUCKET is not (S3_BUCKET selects S3 storage)' });
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
}

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
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
  readonly queryLimits: { readonly maxDepth: number; readonly maxAliases: number; readonly maxDirectives: number; readonly maxCost: number; readonly maxTokens: number };
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
    publicUrl: c.REGISTRY_PUBLIC_URL ? c.REGISTRY_PUBLIC_URL.replace(/\/+$/, '') : null,
    signingSecret: c.REGISTRY_SIGNING_SECRET ?? null,
    uploadUrlTtlSeconds: c.REGISTRY_UPLOAD_URL_TTL_SECONDS,
    downloadUrlTtlSeconds: c.REGISTRY_DOWNLOAD_URL_TTL_SECONDS,
    bodyLimitBytes: c.REGISTRY_BODY_LIMIT_BYTES,
    logLevel: c.LOG_LEVEL,
    development: c.NODE_ENV === 'development',
    adminToken: c.REGISTRY_ADMIN_TOKEN ?? null,
    mongo: c.MONGODB_URI ? Object.freeze({ uri: c.MONGODB_URI, dbName: c.MONGODB_DB, pointerReadConcern: c.MONGODB_POINTER_READ_CONCERN }) : null,
    queryLimits: Object.freeze({
      maxDepth: c.REGISTRY_MAX_QUERY_DEPTH,
      maxAliases: c.REGISTRY_MAX_ALIASES,
      maxDirectives: c.REGISTRY_MAX_DIRECTIVES,
      maxCost: c.REGISTRY_MAX_QUERY_COST,
      maxTokens: c.REGISTRY_MAX_QUERY_TOKENS,
    }),
    s3: c.S3_BUCKET
      ? Object.freeze({
          bucket: c.S3_BUCKET,
          region: c.S3_REGION,
          endpoint: c.S3_ENDPOINT ?? null,
          publicEndpoint: c.S3_PUBLIC_ENDPOINT ?? null,
          prefix: (c.S3_PREFIX ?? '').replace(/^\/+|\/+$/g, ''),
          forcePathStyle: c.S3_FORCE_PATH_STYLE,
          sse: c.S3_SSE,
          kmsKeyId: c.S3_SSE_KMS_KEY_ID ?? null,
          createBucket: c.S3_CREATE_BUCKET,
        })
      : null,
  });
}
