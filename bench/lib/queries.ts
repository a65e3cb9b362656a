/** The GraphQL documents the benchmark sends, as the dashboards, automation and inference workers would. */

/** Inference hot path (GraphQL): the deployed version and a download URL per artifact. */
export const PRODUCTION_MODEL = `query ProductionModel($modelName: String!) {
  productionModel(modelName: $modelName) { id artifacts { path sha256 downloadUrl { url } } }
}`;

/** Dashboard: the newest 50 versions with their metrics, where they run and their latest deployments. */
export const MODEL_VERSIONS = `query ModelVersions($modelName: String!) {
  modelVersions(modelName: $modelName, first: 50) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id number status createdAt createdBy tags
        metrics { name value }
        environments
        deployments(first: 5) { totalCount edges { node { id environment action status deployedAt deployedBy } } }
      }
    }
  }
}`;

/** Dashboard: the top 20 READY/ARCHIVED versions by roc_auc, with the delta to production. */
export const COMPARE_VERSIONS = `query CompareVersions($modelName: String!) {
  compareVersions(modelName: $modelName, metric: "roc_auc", direction: DESC, first: 20) {
    rank value deltaVsProduction
    version { id number status createdAt metrics { name value } }
  }
}`;

/** Dashboard: the newest 50 deployments of the model, with versions and whether each is active. */
export const DEPLOYMENT_HISTORY = `query DeploymentHistory($modelName: String!) {
  deploymentHistory(modelName: $modelName, first: 50) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      node {
        id environment action status reason failureReason deployedAt deployedBy active
        version { id number }
        previousVersion { id number }
      }
    }
  }
}`;

/** Incident review: which deployment was live in production at an instant (one index descent, whatever the history's length). */
export const SERVING_AT = `query ServingAt($modelName: String!, $at: DateTime!) {
  servingAt(modelName: $modelName, at: $at) { id action deployedAt deployedBy version { id number } }
}`;

/** Dashboard: the newest 50 audit events of the whole registry. */
export const AUDIT_EVENTS = `query AuditEvents {
  auditEvents(first: 50) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id sequence occurredAt actor action modelName versionId details previousHash hash } }
  }
}`;

export const VERIFY_AUDIT_LOG = `query { verifyAuditLog { valid eventsChecked firstInvalidSequence headHash message } }`;

export const REGISTRY_STATS = `query { registryStats { models versions deployments auditEvents versionsByStatus { status count } } }`;

export const REGISTER = `mutation Register($input: RegisterModelVersionInput!) {
  registerModelVersion(input: $input) {
    version { id number status }
    uploads { path upload { url method headers { name value } } }
  }
}`;

export const COMPLETE = `mutation Complete($id: ID!) { completeModelVersionUpload(versionId: $id) { id status failureReason } }`;

export const PROMOTE = `mutation Promote($versionId: ID!) {
  promoteModelVersion(input: { versionId: $versionId }) { id action status active version { id } }
}`;

export const HELLO = '{ hello }';
