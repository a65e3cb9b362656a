import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { StagedGroup } from '../artifact.store.js';
import { groupConsecutive } from '../staging.js';
import { S3StorageError } from './s3-support.js';

const DELETE_CONCURRENCY = 8;

/**
 * The S3 store's staged objects: `<prefix>_staging/<model>/<version>/<path>` (uploaded, not yet
 * verified) and `<prefix>_verifying/<call>/<model>/<version>/<path>` (a verification's private
 * copy that an interrupted call left). Listed with ListObjectsV2 (key order), grouped by version
 * (a verification copy: by call).
 */
export async function* listS3Staged(client: S3Client, bucket: string, prefix: string, staging: string, verifying: string): AsyncIterable<StagedGroup> {
  const stagingPrefix = `${prefix}${staging}/`;
  yield* groupConsecutive(listObjects(client, bucket, stagingPrefix), (key) => {
    const [model, version] = key.slice(stagingPrefix.length).split('/');
    return model && version ? { id: `${model}/${version}`, modelName: model, versionId: version } : null;
  });
  const verifyingPrefix = `${prefix}${verifying}/`;
  yield* groupConsecutive(listObjects(client, bucket, verifyingPrefix), (key) => {
    const [call, model, version] = key.slice(verifyingPrefix.length).split('/');
    return call && model && version ? { id: call, modelName: model, versionId: version } : null;
  });
}

/** Deletes the group's objects; refuses a key outside the two staged namespaces. */
export async function removeS3Staged(remove: (key: string) => Promise<void>, group: StagedGroup, namespaces: readonly string[]): Promise<void> {
  if (group.keys.some((k) => !namespaces.some((n) => k.startsWith(n)))) throw new Error('not a staged key');
  for (let i = 0; i < group.keys.length; i += DELETE_CONCURRENCY) {
    await Promise.all(group.keys.slice(i, i + DELETE_CONCURRENCY).map(remove));
  }
}

export async function* listObjects(client: S3Client, bucket: string, prefix: string): AsyncIterable<{ key: string; size: number; modified: Date }> {
  let token: string | undefined;
  do {
    let page;
    try {
      page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    } catch (err) {
      throw new S3StorageError('ListObjectsV2', prefix, err);
    }
    for (const o of page.Contents ?? []) {
      if (o.Key) yield { key: o.Key, size: o.Size ?? 0, modified: o.LastModified ?? new Date(0) };
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}
