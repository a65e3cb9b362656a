import { InvalidArgumentError } from './errors.js';
import {
  CONTENT_TYPE_PATTERN,
  ENVIRONMENT_PATTERN,
  LIMITS,
  METRIC_NAME_PATTERN,
  MODEL_NAME_PATTERN,
  SHA256_PATTERN,
  unsafePathReason,
} from './limits.js';
import type { Artifact, JsonObject, Metric, TrainingInfo } from './model.js';
import { isVersionId } from './version-id.js';

/** Pure input checks. Each throws InvalidArgumentError naming the field; none touches storage. */

export function checkModelName(field: string, name: string): string {
  if (!MODEL_NAME_PATTERN.test(name)) {
    throw new InvalidArgumentError(field, `"${truncate(name)}" must match ${MODEL_NAME_PATTERN.source}`);
  }
  return name;
}

export function checkEnvironment(field: string, env: string): string {
  if (!ENVIRONMENT_PATTERN.test(env)) {
    throw new InvalidArgumentError(field, `"${truncate(env)}" must match ${ENVIRONMENT_PATTERN.source}`);
  }
  return env;
}

export function checkVersionIdFormat(field: string, id: string): string {
  if (!isVersionId(id)) {
    throw new InvalidArgumentError(field, `"${truncate(id)}" is not a version id (v{YYYYMMDDHHMMSS}_{8 hex})`);
  }
  return id;
}

export function checkMetricName(field: string, name: string): string {
  if (!METRIC_NAME_PATTERN.test(name)) {
    throw new InvalidArgumentError(field, `"${truncate(name)}" must match ${METRIC_NAME_PATTERN.source}`);
  }
  return name;
}

export function checkPageSize(field: string, first: number): number {
  if (!Number.isInteger(first) || first < 0 || first > LIMITS.pageSize) {
    throw new InvalidArgumentError(field, `must be an integer from 0 to ${LIMITS.pageSize}`);
  }
  return first;
}

export function checkFiniteNumber(field: string, value: number): number {
  if (!Number.isFinite(value)) throw new InvalidArgumentError(field, 'must be a finite number');
  return value;
}

/** C0/C1 controls, DEL. Multi-line text keeps tab, newline and carriage return. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;
// eslint-disable-next-line no-control-regex
const CONTROL_MULTILINE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
/** Unicode format characters (bidi overrides and isolates, zero-width characters, BOM...): they make one name look like another. */
const FORMAT = /\p{Cf}/u;
/** Bidi overrides and isolates: refused in multi-line text too, where other format characters (emoji joiners) are fine. */
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;

/** Why a text cannot be stored as given (an unpaired UTF-16 surrogate becomes U+FFFD in UTF-8 storage), or null. */
function textProblem(value: string, multiline: boolean): string | null {
  if (!value.isWellFormed()) return 'must be well-formed Unicode (no unpaired surrogate)';
  if ((multiline ? CONTROL_MULTILINE : CONTROL).test(value)) return 'must not contain control characters';
  if (multiline ? BIDI.test(value) : FORMAT.test(value)) return 'must not contain Unicode format characters such as bidirectional overrides';
  return null;
}

export function checkText(field: string, value: string, maxChars: number, opts: { allowEmpty?: boolean; multiline?: boolean } = {}): string {
  if (!opts.allowEmpty && value.trim().length === 0) throw new InvalidArgumentError(field, 'must not be empty');
  if (value.length > maxChars) throw new InvalidArgumentError(field, `must be at most ${maxChars} characters`);
  const problem = textProblem(value, opts.multiline ?? false);
  if (problem !== null) throw new InvalidArgumentError(field, problem);
  return value;
}

export function checkOptionalText(field: string, value: string | null | undefined, maxChars: number): string | null {
  if (value === null || value === undefined) return null;
  return checkText(field, value, maxChars, { allowEmpty: true, multiline: true });
}

export function checkMetrics(field: string, metrics: readonly Metric[]): Metric[] {
  if (metrics.length > LIMITS.metrics) throw new InvalidArgumentError(field, `at most ${LIMITS.metrics} metrics`);
  const seen = new Set<string>();
  return metrics.map((m, i) => {
    const name = checkMetricName(`${field}[${i}].name`, m.name);
    if (seen.has(name)) throw new InvalidArgumentError(`${field}[${i}].name`, `duplicate metric "${name}"`);
    seen.add(name);
    return { name, value: checkFiniteNumber(`${field}[${i}].value`, m.value) };
  });
}

export function checkHyperparameters(field: string, value: unknown): JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError(field, 'must be a JSON object');
  }
  // Depth and strings first, without recursion: a deeply nested value must not overflow the stack here or on any later read.
  const problem = jsonProblem(value);
  if (problem !== null) throw new InvalidArgumentError(field, problem);
  const text = JSON.stringify(value);
  if (Buffer.byteLength(text, 'utf8') > LIMITS.hyperparametersBytes) {
    throw new InvalidArgumentError(field, `must be at most ${LIMITS.hyperparametersBytes} bytes as JSON`);
  }
  return value as JsonObject;
}

/** Walks a JSON value breadth-first: nesting, finite numbers, well-formed strings and keys. */
function jsonProblem(root: object): string | null {
  let level: unknown[] = [root];
  for (let depth = 1; level.length > 0; depth++) {
    if (depth > LIMITS.hyperparametersDepth) return `must be nested at most ${LIMITS.hyperparametersDepth} levels deep`;
    const next: unknown[] = [];
    for (const v of level) {
      for (const [key, child] of Object.entries(v as object)) {
        if (!key.isWellFormed()) return 'keys must be well-formed Unicode (no unpaired surrogate)';
        if (typeof child === 'number' && !Number.isFinite(child)) return 'must be JSON with finite numbers only';
        if (typeof child === 'string' && !child.isWellFormed()) return 'strings must be well-formed Unicode (no unpaired surrogate)';
        if (child !== null && typeof child === 'object') next.push(child);
      }
    }
    level = next;
  }
  return null;
}

export function checkStringList(field: string, values: readonly string[], maxItems: number, maxChars: number): string[] {
  if (values.length > maxItems) throw new InvalidArgumentError(field, `at most ${maxItems} items`);
  return values.map((v, i) => checkText(`${field}[${i}]`, v, maxChars));
}

export function checkTags(field: string, tags: readonly string[]): string[] {
  const checked = checkStringList(field, tags, LIMITS.tags, LIMITS.tagChars);
  return [...new Set(checked)];
}

export function checkTraining(field: string, t: Partial<TrainingInfo> | null | undefined): TrainingInfo {
  const nonNegative = (name: string, v: number | null | undefined): number | null => {
    if (v === null || v === undefined) return null;
    checkFiniteNumber(`${field}.${name}`, v);
    if (v < 0) throw new InvalidArgumentError(`${field}.${name}`, 'must not be negative');
    return v;
  };
  return {
    trainedAt: t?.trainedAt ?? null,
    durationSeconds: nonNegative('durationSeconds', t?.durationSeconds),
    trainingSamples: nonNegative('trainingSamples', t?.trainingSamples),
    validationSamples: nonNegative('validationSamples', t?.validationSamples),
  };
}

export function checkArtifacts(field: string, artifacts: readonly Artifact[]): Artifact[] {
  if (artifacts.length < LIMITS.artifactsMin || artifacts.length > LIMITS.artifactsMax) {
    throw new InvalidArgumentError(field, `must list ${LIMITS.artifactsMin} to ${LIMITS.artifactsMax} artifacts`);
  }
  const seen = new Set<string>();
  return artifacts.map((a, i) => {
    const f = `${field}[${i}]`;
    const reason = unsafePathReason(a.path);
    if (reason) throw new InvalidArgumentError(`${f}.path`, reason);
    if (seen.has(a.path)) throw new InvalidArgumentError(`${f}.path`, `duplicate path "${a.path}"`);
    seen.add(a.path);
    const folder = folderClash(a.path, seen);
    if (folder !== null) throw new InvalidArgumentError(`${f}.path`, `"${a.path}" and "${folder}" cannot both exist: one would be a folder of the other`);
    if (!Number.isSafeInteger(a.sizeBytes) || a.sizeBytes <= 0 || a.sizeBytes > LIMITS.artifactMaxBytes) {
      throw new InvalidArgumentError(`${f}.sizeBytes`, `must be a positive integer of at most ${LIMITS.artifactMaxBytes}`);
    }
    if (!SHA256_PATTERN.test(a.sha256)) throw new InvalidArgumentError(`${f}.sha256`, 'must be 64 lowercase hex characters');
    if (a.contentType.length > LIMITS.contentTypeChars || !CONTENT_TYPE_PATTERN.test(a.contentType)) {
      throw new InvalidArgumentError(`${f}.contentType`, 'must be a media type such as application/octet-stream');
    }
    return { path: a.path, sizeBytes: a.sizeBytes, sha256: a.sha256, contentType: a.contentType };
  });
}

/** Another path of the same version that is a folder of `path`, or has `path` as its folder; null if none. */
function folderClash(path: string, paths: ReadonlySet<string>): string | null {
  const segments = path.split('/');
  for (let i = 1; i < segments.length; i++) {
    const folder = segments.slice(0, i).join('/');
    if (paths.has(folder)) return folder;
  }
  for (const other of paths) if (other.startsWith(`${path}/`)) return other;
  return null;
}

export function checkUrlTtl(field: string, seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < LIMITS.urlTtlMin || seconds > LIMITS.urlTtlMax) {
    throw new InvalidArgumentError(field, `must be an integer from ${LIMITS.urlTtlMin} to ${LIMITS.urlTtlMax} seconds`);
  }
  return seconds;
}

function truncate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
