import type { S3Client } from '@aws-sdk/client-s3';
import type { StagedGroup } from '../artifact.store.js';
import { listObjects } from '../s3/s3-staging.js';
import { groupConsecutive } from '../staging.js';
import type { ArtifactKey } from './multipart.port.js';

/** The markers of multipart uploads not yet joined, `<markers><model>/<version>/<path>.json`, grouped by version. */
export function listS3Markers(client: S3Client, bucket: string, markers: string): AsyncIterable<StagedGroup> {
  return groupConsecutive(listObjects(client, bucket, markers), (key) => {
    const target = markerTarget(key, markers);
    return target ? { id: `${target.modelName}/${target.versionId}`, modelName: target.modelName, versionId: target.versionId } : null;
  });
}

/** Aborts the uploads of the group's markers (deleting their parts), then the markers; refuses any other key. */
export async function removeS3Markers(multipart: { abort(t: ArtifactKey): Promise<void> }, group: StagedGroup, markers: string): Promise<void> {
  const targets = group.keys.map((k) => markerTarget(k, markers));
  if (targets.some((t) => t === null)) throw new Error('not a staged key');
  for (const t of targets) await multipart.abort(t!);
}

function markerTarget(key: string, markers: string): ArtifactKey | null {
  if (!key.startsWith(markers) || !key.endsWith('.json')) return null;
  const [model, version, ...rest] = key.slice(markers.length, -'.json'.length).split('/');
  if (!model || !version || rest.length === 0 || rest.some((s) => s === '' || s === '.' || s === '..')) return null;
  return { modelName: model, versionId: version, path: rest.join('/') };
}
