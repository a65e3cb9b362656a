export const VERSION_ROW = `id number status createdAt createdBy tags metrics { name value }`;

export const MODEL_OVERVIEW = `query ModelOverview($name: String!) {
  model(name: $name) {
    name description primaryMetric versionCount
    production { id number }
    versions(first: 100) { edges { node { id number status metrics { name value } } } }
  }
}`;

export const VERSIONS_PAGE = `query VersionsPage($modelName: String!, $status: ModelVersionStatus, $first: Int, $after: String) {
  modelVersions(modelName: $modelName, status: $status, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { ${VERSION_ROW} } }
  }
}`;

export const RANKED_PAGE = `query VersionsByMetric($modelName: String!, $metric: String, $direction: SortDirection, $first: Int, $after: String) {
  compareVersionsConnection(modelName: $modelName, metric: $metric, direction: $direction, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { rank value deltaVsProduction version { ${VERSION_ROW} } } }
  }
}`;

export interface VersionRow {
  id: string;
  number: number;
  status: string;
  createdAt: string;
  createdBy: string;
  tags: string[];
  metrics: { name: string; value: number }[];
}

export interface Page<N> {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: { node: N }[];
}
