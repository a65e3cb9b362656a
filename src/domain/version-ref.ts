import { InvalidArgumentError } from './errors.js';
import { ENVIRONMENT_PATTERN } from './limits.js';
import { VERSION_ID_PATTERN, isVersionId } from './version-id.js';

/** What a download or manifest `ref` names. */
export type VersionRef =
  | { kind: 'id'; id: string }
  | { kind: 'number'; number: number }
  | { kind: 'latest' }
  | { kind: 'environment'; environment: string };

/** A version number: 1, 2, 3 … (no leading zero, at most 10 digits). */
const VERSION_NUMBER = /^[1-9][0-9]{0,9}$/;

/** The rule a ref follows, as a client sees it in a 400. */
export const VERSION_REF_RULE =
  `a version id (${VERSION_ID_PATTERN.source}), a version number (1, 2, 3 …), "latest", or an environment name (${ENVIRONMENT_PATTERN.source})`;

/**
 * Reads a ref: a version id, a version number, `latest` or an environment name (they cannot be
 * confused: ids start with `v` and a digit, numbers are digits, environments start with a letter
 * and have no `_`). Anything else is malformed: InvalidArgumentError stating the rule.
 */
export function parseVersionRef(field: string, ref: string): VersionRef {
  if (isVersionId(ref)) return { kind: 'id', id: ref };
  if (VERSION_NUMBER.test(ref)) return { kind: 'number', number: Number(ref) };
  if (ref === 'latest') return { kind: 'latest' };
  if (ENVIRONMENT_PATTERN.test(ref)) return { kind: 'environment', environment: ref };
  const shown = ref.length > 40 ? `${ref.slice(0, 40)}…` : ref;
  throw new InvalidArgumentError(field, `"${shown}" is not a version ref: use ${VERSION_REF_RULE}`);
}
