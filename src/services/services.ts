import { DeploymentService } from './deployment.service.js';
import { QueryService } from './query.service.js';
import type { ServiceDeps } from './service-deps.js';
import { VersionService } from './version.service.js';

export interface Services {
  versions: VersionService;
  deployments: DeploymentService;
  queries: QueryService;
}

export function createServices(deps: ServiceDeps): Services {
  return { versions: new VersionService(deps), deployments: new DeploymentService(deps), queries: new QueryService(deps) };
}
