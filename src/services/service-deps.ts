import { randomUUID } from 'node:crypto';
import type { ArtifactStore } from '../artifacts/artifact.store.js';
import type { Actor, AuditDraft, JsonObject } from '../domain/model.js';
import type { RegistryStore } from '../stores/registry.store.js';

/** What every service is built from; app.ts is the only place that fills it in. */
export interface ServiceDeps {
  store: RegistryStore;
  artifacts: ArtifactStore;
  now: () => Date;
  settings: {
    /** Lifetime of the presigned PUT URLs returned at registration. */
    uploadUrlTtlSeconds: number;
    /** Lifetime of download URLs when the client does not ask for one (HTTP route). */
    downloadUrlTtlSeconds: number;
    /** REGISTRY_ADMIN_TOKEN: an admin secret kept in configuration, not in the store. */
    adminToken: string | null;
  };
}

/** The audit event names, in one place. */
export const AuditAction = {
  versionRegistered: 'MODEL_VERSION_REGISTERED',
  uploadUrlsIssued: 'UPLOAD_URLS_ISSUED',
  versionReady: 'MODEL_VERSION_READY',
  versionFailed: 'MODEL_VERSION_FAILED',
  versionPromoted: 'MODEL_VERSION_PROMOTED',
  versionRolledBack: 'MODEL_VERSION_ROLLED_BACK',
  promotionRefused: 'PROMOTION_REFUSED',
  versionArchived: 'MODEL_VERSION_ARCHIVED',
  versionUpdated: 'MODEL_VERSION_UPDATED',
  modelUpdated: 'MODEL_UPDATED',
  accessDenied: 'ACCESS_DENIED',
  tokenCreated: 'API_TOKEN_CREATED',
  tokenRevoked: 'API_TOKEN_REVOKED',
} as const;

export function auditDraft(
  deps: Pick<ServiceDeps, 'now'>,
  actor: Pick<Actor, 'name'>,
  action: string,
  target: { modelName: string | null; versionId: string | null },
  details: JsonObject,
): AuditDraft {
  return { id: randomUUID(), occurredAt: deps.now(), actor: actor.name, action, modelName: target.modelName, versionId: target.versionId, details };
}
