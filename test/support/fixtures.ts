import { createHash, randomUUID } from 'node:crypto';
import type { AuditDraft, AuditEvent, Deployment, ModelVersion, NewModelVersion } from '../../src/domain/model.js';
import type { RegistryStore } from '../../src/stores/registry.store.js';
import { newVersionId } from '../../src/domain/version-id.js';

/** Builders for store-level tests: plain domain objects with sensible defaults. */
let clock = Date.UTC(2026, 0, 26, 14, 30, 22, 123);
export function tick(): Date {
  clock += 1000;
  return new Date(clock);
}

export function newVersion(modelName: string, overrides: Partial<NewModelVersion> = {}): NewModelVersion {
  const createdAt = overrides.createdAt ?? tick();
  return {
    id: newVersionId(createdAt),
    modelName,
    modelType: 'random_forest',
    status: 'PENDING_UPLOAD',
    failureReason: null,
    description: null,
    datasetVersion: 'ds-1',
    metrics: [{ name: 'roc_auc', value: 0.9 }],
    hyperparameters: { n_estimators: 100 },
    featureNames: ['a', 'b'],
    training: { trainedAt: null, durationSeconds: null, trainingSamples: null, validationSamples: null },
    tags: [],
    artifacts: [{ path: 'model.pkl', sizeBytes: 3, sha256: createHash('sha256').update('abc').digest('hex'), contentType: 'application/octet-stream' }],
    createdAt,
    createdBy: 'tester',
    ...overrides,
  };
}

export function draft(action: string, target: { modelName?: string | null; versionId?: string | null } = {}, details: AuditDraft['details'] = {}): AuditDraft {
  return { id: randomUUID(), occurredAt: tick(), actor: 'tester', action, modelName: target.modelName ?? null, versionId: target.versionId ?? null, details };
}

export function newDeployment(v: Pick<ModelVersion, 'id' | 'modelName'>, environment: string, previous: { versionId: string | null; deploymentId: string } | null, overrides: Partial<Deployment> = {}): Deployment {
  return {
    id: randomUUID(),
    modelName: v.modelName,
    environment,
    action: 'PROMOTE',
    status: 'SUCCEEDED',
    versionId: v.id,
    previousVersionId: previous?.versionId ?? null,
    reason: null,
    failureReason: null,
    deployedAt: tick(),
    deployedBy: 'tester',
    revision: null,
    priorDeploymentId: previous?.deploymentId ?? null,
    restoredDeploymentId: null,
    ...overrides,
  };
}

/** The event at `sequence`, read through the store port's forward reader; null if there is none. */
export async function eventAt(store: Pick<RegistryStore, 'auditEventsAfter'>, sequence: number): Promise<AuditEvent | null> {
  return (await store.auditEventsAfter(sequence - 1, 1))[0] ?? null;
}
