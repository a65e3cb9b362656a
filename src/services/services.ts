import { AccessService } from './access.service.js';
import { AuditExportService } from './checkpoints/audit-export.js';
import { CheckpointService } from './checkpoints/checkpoint.service.js';
import { CleanupService } from './cleanup/cleanup.service.js';
import { CompletionService } from './completion/completion.service.js';
import { EventsService } from '../events/events.service.js';
import { wakingStore } from '../events/waking-store.js';
import { DeploymentService } from './deployment.service.js';
import { ManifestService } from './manifest/manifest.service.js';
import { QueryService } from './query.service.js';
import { RetentionService } from './retention/retention.service.js';
import type { ServiceDeps } from './service-deps.js';
import { TokenService } from './token.service.js';
import { VersionService } from './version.service.js';
import { VersionSearchService } from './search/version-search.service.js';
import { WebhookService } from './webhooks/webhook.service.js';
import { ObservedStateService } from './governance/observed-state.service.js';
import { PolicyService } from './governance/policy.service.js';
import { PromotionRequestService } from './governance/promotion-request.service.js';

export interface Services {
  versions: VersionService;
  deployments: DeploymentService;
  queries: QueryService;
  manifests: ManifestService;
  tokens: TokenService;
  completions: CompletionService;
  /** The audit log and checkpoints for the offline verifier (HTTP export routes). */
  auditExport: AuditExportService;
  /** Signed audit checkpoints, and verifyAuditLog against them: started and stopped by the composition root. */
  checkpoints: CheckpointService;
  /** The cleanup of abandoned uploads: started and stopped by the composition root. */
  cleanup: CleanupService;
  /** Registry events (subscriptions): stopped by the composition root. */
  events: EventsService;
  webhooks: WebhookService;
  /** Legal hold and purge of archived versions past retention. */
  retention: RetentionService;
  /** Deployment governance (issue 12): environment policies, promotion requests, observed state and servingAt. */
  governance: { policies: PolicyService; requests: PromotionRequestService; observed: ObservedStateService };
  /** modelVersions(filter, orderBy), setVersionLabels, compareVersions against a baseline. */
  search: VersionSearchService;
}

export function createServices(
  base: ServiceDeps,
  hooks: {
    onBackgroundStop?: (versionId: string, err: unknown, stoppedByShutdown: boolean) => void;
    onEventsError?: (err: unknown) => void;
    onCleanupError?: (err: unknown) => void;
    onCheckpointError?: (err: unknown) => void;
    /** Told after each local write that appends to the audit log (the webhook worker looks at once). */
    onAppended?: () => void;
  } = {},
): Services {
  const events = new EventsService(base.store, base.settings.events, hooks.onEventsError);
  // Writes of this process wake its event feed at once; other processes' writes are polled.
  const deps: ServiceDeps = { ...base, store: wakingStore(base.store, () => {
    events.feed.wake();
    hooks.onAppended?.();
  }) };
  const access = new AccessService(deps);
  const queries = new QueryService(deps, access);
  const deployments = new DeploymentService(deps, access);
  return {
    events,
    completions: new CompletionService(deps, access, hooks.onBackgroundStop),
    auditExport: new AuditExportService(deps, access),
    checkpoints: new CheckpointService(deps, queries, deps.auditKey, deps.settings.checkpoints ?? { everyEvents: 1000, everyMs: 300_000 }, hooks.onCheckpointError),
    cleanup: new CleanupService(deps, access, deps.settings.cleanup ?? { intervalMs: 0, graceSeconds: 3600 }, hooks.onCleanupError),
    versions: new VersionService(deps, access),
    deployments,
    governance: {
      policies: new PolicyService(deps, access),
      requests: new PromotionRequestService(deps, access, deployments),
      observed: new ObservedStateService(deps, access),
    },
    queries,
    manifests: new ManifestService(deps, queries),
    tokens: new TokenService(deps, access),
    retention: new RetentionService(deps, access, (id) => queries.forgetDownloadable(id)),
    webhooks: new WebhookService(deps, access, base.webhookBox ?? null, base.settings.webhooks),
    search: new VersionSearchService(deps, access),
  };
}
