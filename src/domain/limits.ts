/** Every input limit in one place; the README's limits table is written from this file. */
export const LIMITS = {
  pageSize: 100,
  /** `first` when a client leaves it out (or sends null). */
  defaultPage: 20,
  defaultAuditPage: 50,
  metrics: 200,
  hyperparametersBytes: 64 * 1024,
  /** Nesting of objects and arrays in hyperparameters. */
  hyperparametersDepth: 32,
  artifactsMin: 1,
  artifactsMax: 100,
  artifactPathChars: 255,
  /** 5 TiB, the largest single S3 object. */
  artifactMaxBytes: 5 * 1024 ** 4,
  featureNames: 10_000,
  featureNameChars: 256,
  tags: 50,
  tagChars: 64,
  descriptionChars: 4_000,
  reasonChars: 1_000,
  modelTypeChars: 100,
  datasetVersionChars: 200,
  contentTypeChars: 255,
  compareVersionIds: 100,
  /** Presigned URL lifetimes (seconds): at least 1 s, at most 7 days. */
  urlTtlMin: 1,
  urlTtlMax: 7 * 24 * 3600,
} as const;

export const MODEL_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,99}$/;
export const ENVIRONMENT_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;
export const METRIC_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
export const SHA256_PATTERN = /^[0-9a-f]{64}$/;
/** type/subtype with optional parameters; no control characters. */
export const CONTENT_TYPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(\s*;\s*[A-Za-z0-9!#$&^_.+-]+=("[^"\p{Cc}]*"|[A-Za-z0-9!#$&^_.+-]+))*$/u;
/** One path segment: printable, no separators; `.` and `..` are refused separately. */
const SAFE_SEGMENT = /^[A-Za-z0-9._+=@,-][A-Za-z0-9 ._+=@,()\[\]-]*$/;

export const DEFAULT_ENVIRONMENT = 'production';
/** The metric compareVersions and improvement policies use for a model whose primaryMetric was never set. */
export const DEFAULT_PRIMARY_METRIC = 'roc_auc';

/**
 * A relative artifact path made of safe segments: no `..`, no leading `/`, no backslash,
 * no empty segment, no control characters, no percent-escapes. Returns the reason it is unsafe, or null.
 */
export function unsafePathReason(path: string): string | null {
  if (path.length === 0) return 'must not be empty';
  if (path.length > LIMITS.artifactPathChars) return `must be at most ${LIMITS.artifactPathChars} characters`;
  if (path.startsWith('/')) return 'must be relative (no leading "/")';
  if (path.includes('\\')) return 'must not contain a backslash';
  if (path.includes('%')) return 'must not contain "%"';
  for (const segment of path.split('/')) {
    if (segment === '') return 'must not contain an empty segment ("//" or a trailing "/")';
    if (segment === '.' || segment === '..') return 'must not contain "." or ".." segments';
    if (!SAFE_SEGMENT.test(segment) || segment.endsWith(' ')) {
      return `segment "${segment}" may contain only letters, digits, spaces and ._+=@,()[]- (no leading space or punctuation other than ._+=@,-)`;
    }
  }
  return null;
}
