import { InvalidArgumentError } from './errors.js';

/**
 * Lineage of a version (where it came from) and its labels: plain types and pure checks. The
 * registry only records these; it never fetches a repository, run or dataset URL (they are shown
 * to people and searched, nothing more), so the checks are about shape and secrets, not reachability.
 */

export interface VersionSource {
  /** A git commit id: 40 (SHA-1) or 64 (SHA-256) lowercase hex. */
  gitCommit: string | null;
  /** The repository URL (https, http, ssh or git scheme; no password; no user for http(s)). */
  repository: string | null;
  /** The CI / pipeline run's page (http or https; no credentials). */
  pipelineRunUrl: string | null;
  /** The run's id in its tracker, free text. */
  runId: string | null;
}

export interface DatasetRef {
  /** Where the training data lives (any scheme://, e.g. s3://bucket/key, https://…; no credentials). */
  uri: string;
  /** Its digest: 40 or 64 lowercase hex; null if unknown. */
  digest: string | null;
}

/** string → string. */
export type Labels = Record<string, string>;

export const LINEAGE_LIMITS = {
  urlChars: 2048,
  runIdChars: 200,
  labels: 32,
  labelValueChars: 256,
} as const;

/** A label key: starts with a letter or digit; letters, digits and _ . / -; at most 63 characters (never "="). */
export const LABEL_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_./-]{0,62}$/;
export const HEX_DIGEST_PATTERN = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const URI_SCHEME = /^[a-z][a-z0-9+.-]{0,31}:\/\//;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;

function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

function checkHex(field: string, value: unknown, what: string): string {
  if (typeof value !== 'string' || !HEX_DIGEST_PATTERN.test(value)) {
    throw new InvalidArgumentError(field, `must be a ${what}: 40 or 64 lowercase hex characters`);
  }
  return value;
}

/**
 * A URL of one of `schemes` (null: any `scheme://`), with a host, no whitespace or controls, no
 * password (and no user name unless `allowUser`): credentials must never be stored in metadata.
 */
export function checkUrl(field: string, value: unknown, schemes: readonly string[] | null, allowUser = false): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > LINEAGE_LIMITS.urlChars) {
    throw new InvalidArgumentError(field, `must be a URL of 1-${LINEAGE_LIMITS.urlChars} characters`);
  }
  if (CONTROL.test(value) || /\s/.test(value) || !URI_SCHEME.test(value)) {
    throw new InvalidArgumentError(field, `"${clip(value)}" is not a URL (scheme://host/…, no spaces)`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(field, `"${clip(value)}" is not a URL`);
  }
  const scheme = url.protocol.slice(0, -1);
  if (schemes !== null && !schemes.includes(scheme)) throw new InvalidArgumentError(field, `must use ${schemes.join(', ')} (got ${scheme})`);
  if (url.host === '') throw new InvalidArgumentError(field, 'must name a host');
  if (url.password !== '' || (!allowUser && url.username !== '')) throw new InvalidArgumentError(field, 'must not carry credentials');
  return value;
}

function optionalString(field: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new InvalidArgumentError(field, 'must be a string');
  return value;
}

export function checkSource(field: string, input: Partial<Record<keyof VersionSource, unknown>> | null | undefined): VersionSource | null {
  if (input === null || input === undefined) return null;
  const gitCommit = optionalString(`${field}.gitCommit`, input.gitCommit);
  const repository = optionalString(`${field}.repository`, input.repository);
  const pipelineRunUrl = optionalString(`${field}.pipelineRunUrl`, input.pipelineRunUrl);
  const runId = optionalString(`${field}.runId`, input.runId);
  if (gitCommit !== null) checkHex(`${field}.gitCommit`, gitCommit, 'git commit id');
  if (repository !== null) checkUrl(`${field}.repository`, repository, ['https', 'http', 'ssh', 'git'], true);
  if (repository !== null && /^https?:/.test(repository) && new URL(repository).username !== '') {
    throw new InvalidArgumentError(`${field}.repository`, 'must not carry credentials');
  }
  if (pipelineRunUrl !== null) checkUrl(`${field}.pipelineRunUrl`, pipelineRunUrl, ['https', 'http']);
  if (runId !== null && (runId.length === 0 || runId.length > LINEAGE_LIMITS.runIdChars || CONTROL.test(runId))) {
    throw new InvalidArgumentError(`${field}.runId`, `must be 1-${LINEAGE_LIMITS.runIdChars} characters without control characters`);
  }
  if (gitCommit === null && repository === null && pipelineRunUrl === null && runId === null) {
    throw new InvalidArgumentError(field, 'must give at least one of gitCommit, repository, pipelineRunUrl, runId (or be left out)');
  }
  return { gitCommit, repository, pipelineRunUrl, runId };
}

export function checkDataset(field: string, input: { uri?: unknown; digest?: unknown } | null | undefined): DatasetRef | null {
  if (input === null || input === undefined) return null;
  const uri = checkUrl(`${field}.uri`, input.uri, null);
  const digest = input.digest === undefined || input.digest === null ? null : checkHex(`${field}.digest`, input.digest, 'digest');
  return { uri, digest };
}

export function checkLabelKey(field: string, key: string): string {
  if (!LABEL_KEY_PATTERN.test(key)) throw new InvalidArgumentError(field, `label key "${clip(key)}" must match ${LABEL_KEY_PATTERN.source}`);
  return key;
}

/** A JSON object of at most LINEAGE_LIMITS.labels string values under keys of LABEL_KEY_PATTERN; null or absent: {}. Keys sorted. */
export function checkLabels(field: string, input: unknown): Labels {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) throw new InvalidArgumentError(field, 'must be a JSON object of string values');
  const entries = Object.entries(input as Record<string, unknown>);
  if (entries.length > LINEAGE_LIMITS.labels) throw new InvalidArgumentError(field, `must have at most ${LINEAGE_LIMITS.labels} labels`);
  const out: Labels = {};
  for (const [key, value] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    checkLabelKey(field, key);
    if (typeof value !== 'string') throw new InvalidArgumentError(`${field}.${key}`, 'must be a string');
    if (value.length > LINEAGE_LIMITS.labelValueChars || CONTROL.test(value)) {
      throw new InvalidArgumentError(`${field}.${key}`, `must be at most ${LINEAGE_LIMITS.labelValueChars} characters without control characters`);
    }
    out[key] = value;
  }
  return out;
}

/** "key=value": one label as one indexable string (keys never contain "="). */
export function labelPair(key: string, value: string): string {
  return `${key}=${value}`;
}

/** The lineage fields of a version as registered, with their defaults (null, null, {}). */
export function lineageOf(v: { source?: VersionSource | null; dataset?: DatasetRef | null; labels?: Labels }): { source: VersionSource | null; dataset: DatasetRef | null; labels: Labels } {
  return { source: v.source ?? null, dataset: v.dataset ?? null, labels: v.labels ?? {} };
}
