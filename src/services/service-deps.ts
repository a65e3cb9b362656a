import { randomUUID } from 'node:crypto';
import type { ArtifactStore } from '../artifacts/artifact.store.js';
import type { AuditActionName } from '../domain/audit-actions.js';
import type { Actor, AuditDraft, JsonObject } from '../domain/model.js';
import type { EventSettings } from '../events/events.service.js';
import type { CleanupSettings } from './cleanup/cleanup.service.js';
import type { CheckpointSettings } from './checkpoints/checkpoint.service.js';
import type { AuditSigningKey } from './checkpoints/audit-signing-key.js';
import type { RegistryStore } from '../stores/registry.store.js';
import type { MultipartSettings } from './multipart/part-plan.js';
import type { SecretBox } from '../events/webhooks/secret-box.js';

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
    /** ACCESS_DENIED events recorded one by one per token and window; the rest are summarized per window. */
    accessDeniedAudit: { limit: number; windowSeconds: number };
    /** How long a promotion request waits for approvals. Absent: 7 days. */
    promotionRequestTtlSeconds?: number;
    /** Versions whose artifacts total more bytes than this are verified in the background. */
    asyncCompletionBytes: number;
    /** The cleanup of abandoned uploads: background interval (0: none) and grace time. Absent: no background runs, one hour of grace. */
    cleanup?: CleanupSettings;
    /** Signed audit checkpoints: every so many events or so long. Absent: every 1000 events or 5 minutes. */
    checkpoints?: CheckpointSettings;
    /** Registry events: poll interval, shared window of recent events, lag limit. */
    events: EventSettings;
    /** REGISTRY_RETENTION_DAYS: artifacts of verified versions are kept at least this long after registration. Absent: DEFAULT_RETENTION_DAYS. */
    retentionDays?: number;
    /** Multipart uploads of large artifacts: threshold and smallest part size. Absent: 64 MiB and 8 MiB. */
    multipart?: MultipartSettings;
    /** Webhooks: whether URLs may name private addresses (REGISTRY_WEBHOOK_ALLOW_PRIVATE). */
    webhooks: { allowPrivate: boolean };
  };
  /** The Ed25519 key audit checkpoints are signed with (kept outside the metadata store). */
  auditKey: AuditSigningKey;
  /** Seals webhook secrets with the server key; null when no key is configured (webhooks then refuse to be created). */
  webhookBox?: SecretBox | null;
  /** Told when a stored row does not match the audit chain (a token row edited in the database); app.ts logs it. */
  onIntegrityProblem?: (message: string) => void;
}

export { AuditAction } from '../domain/audit-actions.js';

export function auditDraft(
  deps: Pick<ServiceDeps, 'now'>,
  actor: Pick<Actor, 'name'>,
  action: AuditActionName,
  target: { modelName: string | null; versionId: string | null },
  details: JsonObject,
): AuditDraft {
  return { id: randomUUID(), occurredAt: deps.now(), actor: actor.name, action, modelName: target.modelName, versionId: target.versionId, details };
}
