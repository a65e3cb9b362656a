import type { JsonObject, JsonValue } from '../../domain/model.js';

export type HyperparameterChangeKind = 'ADDED' | 'REMOVED' | 'CHANGED';

export interface HyperparameterChange {
  /** Dotted path of the value (nested objects are walked; arrays are compared whole). */
  path: string;
  kind: HyperparameterChangeKind;
  /** The compared version's value; null when REMOVED. */
  value: JsonValue | null;
  /** The baseline's value; null when ADDED. */
  baselineValue: JsonValue | null;
}

/** At most this many changes are listed per version (hyperparameters are at most 64 KiB each). */
export const MAX_HYPERPARAMETER_CHANGES = 200;

const isObject = (v: JsonValue | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What differs between two hyperparameter objects, by dotted path in key order; equal values are left out. */
export function diffHyperparameters(version: JsonObject, baseline: JsonObject): HyperparameterChange[] {
  const out: HyperparameterChange[] = [];
  const walk = (a: JsonObject, b: JsonObject, prefix: string): void => {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) {
      if (out.length >= MAX_HYPERPARAMETER_CHANGES) return;
      const path = prefix === '' ? k : `${prefix}.${k}`;
      const x = a[k];
      const y = b[k];
      if (isObject(x) && isObject(y)) walk(x, y, path);
      else if (y === undefined) out.push({ path, kind: 'ADDED', value: x ?? null, baselineValue: null });
      else if (x === undefined) out.push({ path, kind: 'REMOVED', value: null, baselineValue: y });
      else if (JSON.stringify(x) !== JSON.stringify(y)) out.push({ path, kind: 'CHANGED', value: x, baselineValue: y });
    }
  };
  walk(version, baseline, '');
  return out;
}
