import type { DeploymentFieldsFragment } from '../../client/index.js';

/** A deployment as --json prints it and as one line for people. */
export const deploymentJson = (d: DeploymentFieldsFragment) => ({
  id: d.id, model: d.modelName, environment: d.environment, action: d.action, status: d.status, active: d.active,
  versionId: d.version?.id ?? null, number: d.version?.number ?? null, previousVersionId: d.previousVersion?.id ?? null, reason: d.reason,
  failureReason: d.failureReason, deployedAt: d.deployedAt, deployedBy: d.deployedBy,
});

export const deploymentLine = (d: DeploymentFieldsFragment) =>
  `${d.environment} of ${d.modelName} now runs ${d.version ? `version ${d.version.number} ${d.version.id}` : 'nothing (undeployed)'}` +
  `${d.previousVersion ? ` (was ${d.previousVersion.number} ${d.previousVersion.id})` : ''}; deployment ${d.id}`;
