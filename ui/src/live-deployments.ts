import { gql } from './api.js';
import { recordOperation } from './hooks.js';

/** A deployment as the timeline and the models list read it. */
export interface DeploymentRow {
  id: string;
  environment: string;
  action: 'PROMOTE' | 'ROLLBACK';
  status: 'SUCCEEDED' | 'FAILED';
  active: boolean;
  reason: string | null;
  failureReason: string | null;
  deployedAt: string;
  deployedBy: string;
  version: { id: string; number: number };
  previousVersion: { id: string; number: number } | null;
}

export const DEPLOYMENT_FIELDS = `id environment action status active reason failureReason deployedAt deployedBy version { id number } previousVersion { id number }`;

/** One query for several models' recent deployments (aliases m0, m1, …): what runs where. */
export function liveByModelQuery(count: number): string {
  const vars = Array.from({ length: count }, (_, i) => `$m${i}: String!`).join(', ');
  const fields = Array.from({ length: count }, (_, i) => `m${i}: deploymentHistory(modelName: $m${i}, first: 50) { edges { node { ${DEPLOYMENT_FIELDS} } } }`).join('\n  ');
  return `query LiveDeployments(${vars}) {\n  ${fields}\n}`;
}

export async function liveByModel(names: string[]): Promise<Map<string, DeploymentRow[]>> {
  const out = new Map<string, DeploymentRow[]>();
  if (names.length === 0) return out;
  const op = { query: liveByModelQuery(names.length), variables: Object.fromEntries(names.map((n, i) => [`m${i}`, n])) };
  recordOperation(op);
  const data = await gql<Record<string, { edges: { node: DeploymentRow }[] }>>(op.query, op.variables);
  names.forEach((name, i) => out.set(name, (data[`m${i}`]?.edges ?? []).map((e) => e.node).filter((d) => d.active)));
  return out;
}
