import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { s3rverClientConfig } from './s3rver.js';

/**
 * Changes one byte of a verified artifact where the registry keeps it (same size, other bytes), as
 * a storage fault or an attacker with storage access would: the local artifact directory, or the
 * S3 bucket (through the S3 API) when the backend's environment names one.
 */
export async function tamperStoredArtifact(backendEnv: Record<string, string>, dataDir: string, model: string, versionId: string, path: string): Promise<void> {
  const flip = (b: Buffer) => {
    const copy = Buffer.from(b);
    copy[copy.length >> 1] = copy[copy.length >> 1]! ^ 0xff;
    return copy;
  };
  if (!backendEnv.S3_BUCKET) {
    const file = join(dataDir, 'artifacts', 'models', model, versionId, ...path.split('/'));
    await writeFile(file, flip(await readFile(file)));
    return;
  }
  const s3 = new S3Client({
    endpoint: backendEnv.S3_ENDPOINT,
    region: backendEnv.S3_REGION ?? 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID!, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY! },
    ...s3rverClientConfig,
  });
  const Key = `${model}/${versionId}/${path}`;
  const got = await s3.send(new GetObjectCommand({ Bucket: backendEnv.S3_BUCKET, Key }));
  const bytes = Buffer.from(await got.Body!.transformToByteArray());
  await s3.send(new PutObjectCommand({ Bucket: backendEnv.S3_BUCKET, Key, Body: flip(bytes) }));
  s3.destroy();
}
