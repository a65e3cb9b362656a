/** The audit event names, in one place: services write them, the chain's checks and stores read them. */
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
  accessDeniedSummary: 'ACCESS_DENIED_SUMMARY',
  tokenCreated: 'API_TOKEN_CREATED',
  tokenRevoked: 'API_TOKEN_REVOKED',
  /** Written once at the upgrade that began anchoring tokens: binds a token made earlier to its secret's fingerprint. */
  tokenAnchored: 'API_TOKEN_ANCHORED',
  /** A signed audit checkpoint: the checkpoint signs this very event (its details: the events it covers, the previous checkpoint). */
  checkpointWritten: 'AUDIT_CHECKPOINT_WRITTEN',
  webhookCreated: 'WEBHOOK_CREATED',
  webhookUpdated: 'WEBHOOK_UPDATED',
  webhookSecretRotated: 'WEBHOOK_SECRET_ROTATED',
  webhookDeleted: 'WEBHOOK_DELETED',
  legalHoldSet: 'LEGAL_HOLD_SET',
  legalHoldReleased: 'LEGAL_HOLD_RELEASED',
  /** Written BEFORE the artifacts are deleted: a purge cut off after it is finished by purging again. */
  versionPurged: 'MODEL_VERSION_PURGED',
  /** Governance (issue 12): what workers observe, environment policies, promotion requests. */
  deploymentStatusReported: 'DEPLOYMENT_STATUS_REPORTED',
  environmentPolicySet: 'ENVIRONMENT_POLICY_SET',
  promotionRequested: 'PROMOTION_REQUESTED',
  promotionApproved: 'PROMOTION_APPROVED',
  promotionRejected: 'PROMOTION_REJECTED',
  promotionCancelled: 'PROMOTION_CANCELLED',
  promotionRequestExecuted: 'PROMOTION_REQUEST_EXECUTED',
  promotionRequestConflict: 'PROMOTION_REQUEST_CONFLICT',
  promotionRequestExpired: 'PROMOTION_REQUEST_EXPIRED',
  /** An environment was emptied: an UNDEPLOY deployment, no version live there. */
  modelUndeployed: 'MODEL_UNDEPLOYED',
  /** setVersionLabels: a version's labels were replaced (details: the labels before and after). */
  versionLabelsSet: 'MODEL_VERSION_LABELS_SET',
} as const;

/** An audit event name the registry writes: the set is closed (the GraphQL enum AuditAction lists exactly these). */
export type AuditActionName = (typeof AuditAction)[keyof typeof AuditAction];
export const AUDIT_ACTIONS: readonly AuditActionName[] = Object.values(AuditAction);

/** Events that move a deployment pointer: the last one for a (model, environment) is what its pointer must show. */
export const POINTER_MOVE_ACTIONS: readonly string[] = [AuditAction.versionPromoted, AuditAction.versionRolledBack, AuditAction.modelUndeployed];
/** Events that create or change an API token row: the last one for a token id is what its row must show. */
export const TOKEN_CHANGE_ACTIONS: readonly string[] = [AuditAction.tokenCreated, AuditAction.tokenRevoked, AuditAction.tokenAnchored];
/** Events about tokens (ids, names, roles, scopes): readable by admins only. */
export const TOKEN_ACTION_PREFIX = 'API_TOKEN_';
