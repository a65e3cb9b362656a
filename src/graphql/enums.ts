import { registerEnumType } from 'type-graphql';
import { AUDIT_ACTIONS, type AuditActionName } from '../domain/audit-actions.js';

/**
 * Enums whose values come from the domain: AuditAction lists every audit event name the code can
 * write (domain/audit-actions.ts), so a new action appears here by itself; its description is
 * required by the type below.
 */
export const AuditActionEnum = Object.fromEntries(AUDIT_ACTIONS.map((a) => [a, a])) as { [A in AuditActionName]: A };

const AUDIT_ACTION_MEANINGS: Record<AuditActionName, string> = {
  MODEL_VERSION_REGISTERED: 'A version was registered (PENDING_UPLOAD); the model was created with its first version',
  UPLOAD_URLS_ISSUED: 'Fresh presigned upload URLs were issued for a PENDING_UPLOAD version',
  MODEL_VERSION_READY: 'Every artifact was verified: the version is READY',
  MODEL_VERSION_FAILED: 'Verification failed, or the upload was abandoned (the cleanup, as system:cleanup): the version is FAILED (details say why)',
  MODEL_VERSION_PROMOTED: 'A version was deployed to an environment',
  MODEL_VERSION_ROLLED_BACK: 'An environment was rolled back to an earlier version',
  PROMOTION_REFUSED: 'A promotion or rollback was refused (improvement policy, state); a FAILED deployment records it',
  MODEL_VERSION_ARCHIVED: 'A version was archived',
  MODEL_VERSION_UPDATED: "A version's description or tags changed",
  MODEL_UPDATED: "A model's description or primary metric changed",
  ACCESS_DENIED: "A token's role or scope did not allow an operation",
  ACCESS_DENIED_SUMMARY: 'Further denials of one token in a short window, counted in one event',
  API_TOKEN_CREATED: 'An API token was created (admins only see token events)',
  API_TOKEN_REVOKED: 'An API token was revoked',
  API_TOKEN_ANCHORED: 'A token made before fingerprints were recorded was bound to its secret at an upgrade',
  WEBHOOK_CREATED: "A webhook was created (admin); details name its target's origin (scheme, host, port), never its path or query",
  WEBHOOK_UPDATED: "A webhook's target, actions, scope, description or state changed",
  WEBHOOK_SECRET_ROTATED: "A webhook's signing secret was replaced",
  WEBHOOK_DELETED: 'A webhook was deleted; its deliveries stop',
  LEGAL_HOLD_SET: 'A version was put on legal hold (admin): it cannot be archived nor purged until released; details give the reason',
  LEGAL_HOLD_RELEASED: "A version's legal hold was released (admin); details give the reason and the hold's own",
  MODEL_VERSION_PURGED: 'The artifacts of an ARCHIVED version past retention were purged (admin); recorded before the bytes are deleted; metadata and audit stay',
  DEPLOYMENT_STATUS_REPORTED: 'An inference worker reported a new state (SERVING, FAILED, DRAINED) for a deployment on one instance; repeats of the same state are not recorded',
  ENVIRONMENT_POLICY_SET: "An environment's policy (approvals, improvement rule, allowed approvers) was set for a model or for every model (*) (admin)",
  PROMOTION_REQUESTED: 'A promotion into an environment that needs approvals was requested (details: the request, the version it expects live)',
  PROMOTION_APPROVED: 'A promotion request was approved by a principal other than its requester and earlier approvers',
  PROMOTION_REJECTED: 'A promotion request was rejected (by a principal, or by the registry when its promotion was refused); nothing was deployed',
  PROMOTION_CANCELLED: 'A promotion request was cancelled; nothing was deployed',
  PROMOTION_REQUEST_EXECUTED: 'A promotion request reached its approvals and deployed its version (details: the deployment)',
  PROMOTION_REQUEST_CONFLICT: 'A promotion request reached its approvals, but the environment had moved since the request: nothing was deployed',
  PROMOTION_REQUEST_EXPIRED: 'A promotion request passed its expiry without its approvals; recorded when next touched',
  MODEL_UNDEPLOYED: 'An environment was emptied (undeployModel): an UNDEPLOY deployment; no version is live there until the next promotion or rollback',
  MODEL_VERSION_LABELS_SET: "A version's labels were replaced (setVersionLabels); details give the labels before and after",
  AUDIT_CHECKPOINT_WRITTEN: 'A signed audit checkpoint: it signs this very event and is stored outside the database (docs/operations.md)',
};

registerEnumType(AuditActionEnum, {
  name: 'AuditAction',
  description:
    'What an audit event records. The set is closed: every name the registry writes. (Was String before; the JSON responses carry the same strings.)',
  valuesConfig: Object.fromEntries(AUDIT_ACTIONS.map((a) => [a, { description: AUDIT_ACTION_MEANINGS[a] }])),
});

/** The HTTP method a presigned URL is signed for. */
export enum HttpMethod {
  GET = 'GET',
  PUT = 'PUT',
  HEAD = 'HEAD',
}
registerEnumType(HttpMethod, {
  name: 'HttpMethod',
  description: 'The one HTTP method a presigned URL is signed for. (PresignedUrl.method was String before; the JSON responses carry the same strings.)',
  valuesConfig: {
    GET: { description: 'Download the bytes' },
    PUT: { description: 'Upload the bytes (with the headers given, exactly)' },
    HEAD: { description: 'Ask for the size and type only' },
  },
});
