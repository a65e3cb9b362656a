import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SseParams } from './s3-objects.js';
import { S3StorageError, status } from './s3-support.js';

/** Audit checkpoints in S3: `<prefix>_audit/checkpoints/<name>`; `_` never starts a model name, and no presigned URL names this prefix. */
const FOLDER = '_audit/checkpoints/';
const NAME = /^[0-9]{16}\.json$/;

export async function writeS3Checkpoint(client: S3Client, bucket: string, prefix: string, sse: SseParams, name: string, body: Buffer): Promise<void> {
  if (!NAME.test(name)) throw new Error('not a checkpoint name');
  const key = `${prefix}${FOLDER}${name}`;
  // Looked at first, for stores that ignore If-None-Match (s3rver); writers take turns through a lease anyway.
  if (await sameOrConflict(client, bucket, prefix, name, body)) return;
  try {
    // If-None-Match: a checkpoint is never replaced (Object Lock, where the bucket has it, makes it final too).
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json', IfNoneMatch: '*', ...sse }));
  } catch (err) {
    if (status(err) !== 412) throw new S3StorageError('PutObject', key, err);
    await sameOrConflict(client, bucket, prefix, name, body);
  }
}

/** True when the checkpoint is stored with these very bytes (a retry), false when absent; throws when it differs. */
async function sameOrConflict(client: S3Client, bucket: string, prefix: string, name: string, body: Buffer): Promise<boolean> {
  const stored = await readS3Checkpoint(client, bucket, prefix, name);
  if (stored === null) return false;
  if (!stored.equals(body)) throw new Error(`audit checkpoint ${name} exists with other contents`);
  return true;
}

export async function s3CheckpointNames(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const names: string[] = [];
  let token: string | undefined;
  do {
    let page;
    try {
      page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}${FOLDER}`, ContinuationToken: token }));
    } catch (err) {
      throw new S3StorageError('ListObjectsV2', `${prefix}${FOLDER}`, err);
    }
    for (const o of page.Contents ?? []) {
      const name = o.Key?.slice(prefix.length + FOLDER.length) ?? '';
      if (NAME.test(name)) names.push(name);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return names.sort();
}

export async function readS3Checkpoint(client: S3Client, bucket: string, prefix: string, name: string): Promise<Buffer | null> {
  if (!NAME.test(name)) throw new Error('not a checkpoint name');
  const key = `${prefix}${FOLDER}${name}`;
  try {
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await got.Body!.transformToByteArray());
  } catch (err) {
    if (status(err) === 404) return null;
    throw new S3StorageError('GetObject', key, err);
  }
}
