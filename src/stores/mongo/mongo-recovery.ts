import { COLLECTIONS, type CollectionName, type PendingMarker } from './mongo-documents.js';

/** One idempotent step that finishes (or, for an undecided intent, aborts) a pending operation. */
export type RecoveryStep =
  /** An undecided reservation: removed only if older than the lease, and only if still undecided. */
  | 'abort-stale-intent'
  /** Registration: the model document exists and counts the version ($min/$max upsert). */
  | 'upsert-model'
  /** Registration: the ranking documents exist ($setOnInsert upserts by id). */
  | 'insert-metrics'
  /** Status change: `version_metrics.verified` follows the status (guarded by statusRev). */
  | 'sync-metrics'
  /** Pointer move: the SUCCEEDED deployment exists (insert by id; a duplicate id means done). */
  | 'insert-deployment'
  /** The marker's audit event is in the chain (append by event id; a duplicate id means done). */
  | 'append-audit'
  /** Pointers and tokens: the row names that event (conditional on the marker, so idempotent). */
  | 'anchor-audit'
  /** A write with an idempotency key: its key record is settled (conditional on the claim naming this write). */
  | 'settle-key'
  /** The marker is removed (conditional on its id). */
  | 'clear-marker';

export interface FoundPending {
  collection: CollectionName;
  marker: PendingMarker;
  /** Whether an audit event with the marker's id exists (undefined: not looked up; the step runs). */
  auditAppended?: boolean;
  /** Pointer moves: whether the deployment document exists (undefined: not looked up). */
  deploymentStored?: boolean;
}

const COMMITTED_STEPS: Record<string, readonly RecoveryStep[]> = {
  [`${COLLECTIONS.versions}/register`]: ['upsert-model', 'insert-metrics'],
  [`${COLLECTIONS.versions}/transition`]: ['sync-metrics'],
  [`${COLLECTIONS.versions}/update`]: [],
  [`${COLLECTIONS.models}/update`]: [],
  [`${COLLECTIONS.pointers}/move`]: ['insert-deployment'],
  [`${COLLECTIONS.deployments}/refused`]: [],
  [`${COLLECTIONS.tokens}/token`]: [],
  [`${COLLECTIONS.webhooks}/webhook`]: [],
  [`${COLLECTIONS.environmentPolicies}/governance`]: [],
  [`${COLLECTIONS.promotionRequests}/governance`]: [],
};
const INTENT_OPS = new Set([`${COLLECTIONS.versions}/transition`, `${COLLECTIONS.pointers}/move`]);
/** Rows that name the audit event that last changed them (verified against the chain). */
const ANCHORED_OPS = new Set([`${COLLECTIONS.pointers}/move`, `${COLLECTIONS.tokens}/token`]);

/**
 * Decides what completes a pending operation found on a document. Pure: the store runs the steps
 * in order, and the owner of a live operation runs the very same plan after its commit point, so a
 * crash anywhere is finished by whichever process looks next. Every step is idempotent, so running
 * a plan twice, or concurrently with the owner, changes nothing more.
 */
export function planRecovery(found: FoundPending): RecoveryStep[] {
  const kind = `${found.collection}/${found.marker.op}`;
  const extra = COMMITTED_STEPS[kind];
  if (extra === undefined) throw new Error(`unknown pending operation ${kind} (marker ${found.marker.id})`);
  if (found.marker.phase === 'intent') {
    if (!INTENT_OPS.has(kind)) throw new Error(`pending operation ${kind} has no intent phase (marker ${found.marker.id})`);
    return ['abort-stale-intent'];
  }
  const steps: RecoveryStep[] = extra.filter((s) => !(s === 'insert-deployment' && found.deploymentStored === true));
  if (found.auditAppended !== true) steps.push('append-audit');
  if (ANCHORED_OPS.has(kind)) steps.push('anchor-audit');
  if (found.marker.idempotency) steps.push('settle-key');
  steps.push('clear-marker');
  return steps;
}
