import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

export interface Viewer {
  name: string;
  role: 'VIEWER' | 'PUBLISHER' | 'DEPLOYER' | 'ADMIN';
  modelScope: string | null;
  tokenId: string;
}

export const VIEWER_QUERY = `query Viewer { viewer { name role modelScope tokenId } }`;

export const ViewerContext = createContext<Viewer | null>(null);
export const useViewer = () => useContext(ViewerContext);

const RANK = ['VIEWER', 'PUBLISHER', 'DEPLOYER', 'ADMIN'];

/** Mirrors the server's rule (promote, rollback, archive need DEPLOYER within scope); the server decides. */
export function canDeploy(viewer: Viewer | null, modelName: string): boolean {
  if (!viewer || RANK.indexOf(viewer.role) < RANK.indexOf('DEPLOYER')) return false;
  const scope = viewer.modelScope;
  if (scope === null) return true;
  return scope.endsWith('*') ? modelName.startsWith(scope.slice(0, -1)) : modelName === scope;
}

/** verifyAuditLog and registry-wide reads are for unscoped tokens. */
export const unscoped = (viewer: Viewer | null) => viewer !== null && viewer.modelScope === null;
