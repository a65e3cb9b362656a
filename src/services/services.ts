import { AccessService } from './access.service.js';
import { CompletionService } from './completion/completion.service.js';
import { DeploymentService } from './deployment.service.js';
import { ManifestService } from './manifest/manifest.service.js';
import { QueryService } from './query.service.js';
import type { ServiceDeps } from './service-deps.js';
import { TokenService } from './token.service.js';
import { VersionService } from './version.service.js';

export interface Services {
  versions: VersionService;
  deployments: DeploymentService;
  queries: QueryService;
  manifests: ManifestService;
  tokens: TokenService;
  completions: CompletionService;
}

export function createServices(deps: ServiceDeps, hooks: { onBackgroundStop?: (versionId: string, err: unknown, stoppedByShutdown: boolean) => void } = {}): Services {
  const access = new AccessService(deps);
  const queries = new QueryService(deps, access);
  return {
    completions: new CompletionService(deps, access, hooks.onBackgroundStop),
    versions: new VersionService(deps, access),
    deployments: new DeploymentService(deps, access),
    queries,
    manifests: new ManifestService(deps, queries),
    tokens: new TokenService(deps, access),
  };
}
