import { randomUUID } from 'node:crypto';
import { type DeploymentFieldsFragment, PromoteModelVersionDocument, RollbackModelDocument } from './generated/graphql.js';
import { resolveVersionId } from './manifest.js';
import type { Transport } from './transport.js';

export interface PromoteOptions {
  model: string;
  /** A version id, a number, `latest` or an environment whose version to promote. */
  ref: string;
  /** Default `production`. */
  environment?: string;
  /** Refuse unless candidate.metric >= production.metric * minRatio (minRatio default 1). */
  requireImprovement?: { metric: string; minRatio?: number };
  /** Compare-and-set: refuse (CONFLICT) unless this version is deployed now. */
  expectCurrent?: string;
  reason?: string;
  /**
   * Default: a fresh key for this call, so its own retries are safe. Give one to make a repeated
   * call (a re-run CI job) safe too: the same key and input give the same deployment for 24 h.
   */
  idempotencyKey?: string;
}

export interface RollbackOptions {
  model: string;
  environment?: string;
  /** The version to go back to (a ref); default the one deployed before the current one. */
  to?: string;
  reason?: string;
  /** As for promote: default a fresh key for this call (its retries are safe). */
  idempotencyKey?: string;
}

/** A key for one call: not derived from the inputs, since promoting the same version again later is a new deployment. */
const callKey = (kind: string) => `${kind}:${randomUUID()}`;

/**
 * Deploys a version to an environment. Always sent with an idempotency key, so network errors
 * and 5xx are retried safely: the same key and input give the same deployment, or the same refusal.
 */
export async function promote(t: Transport, o: PromoteOptions): Promise<DeploymentFieldsFragment> {
  const versionId = await resolveVersionId(t, o.model, o.ref);
  const input = {
    versionId,
    environment: o.environment ?? 'production',
    ...(o.requireImprovement ? { requireImprovement: { metric: o.requireImprovement.metric, minRatio: o.requireImprovement.minRatio ?? 1 } } : {}),
    ...(o.expectCurrent ? { expectedCurrentVersionId: o.expectCurrent } : {}),
    ...(o.reason !== undefined ? { reason: o.reason } : {}),
  };
  const idempotencyKey = o.idempotencyKey ?? callKey('promote');
  return (await t.request(PromoteModelVersionDocument, { input: { ...input, idempotencyKey } })).promoteModelVersion;
}

/** Puts the previous (or the given) version back; retried safely under its idempotency key. */
export async function rollback(t: Transport, o: RollbackOptions): Promise<DeploymentFieldsFragment> {
  const toVersionId = o.to ? await resolveVersionId(t, o.model, o.to) : undefined;
  const input = {
    modelName: o.model,
    environment: o.environment ?? 'production',
    ...(toVersionId ? { toVersionId } : {}),
    ...(o.reason !== undefined ? { reason: o.reason } : {}),
    idempotencyKey: o.idempotencyKey ?? callKey('rollback'),
  };
  return (await t.request(RollbackModelDocument, { input })).rollbackModel;
}
