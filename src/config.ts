import { z } from 'zod';

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
});

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
  });
}
