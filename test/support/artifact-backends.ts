import { startS3rver } from './s3rver.js';

/** `storageDir`: where the stored bytes live when it is not the registry's data directory (s3rver's directory). */
export type ArtifactBackend = () => Promise<{ env: Record<string, string>; close: () => Promise<void>; storageDir?: string }>;

/**
 * The artifact stores the API tests run the registry on: the local directory (the registry's own
 * signed URLs), and S3 through presigned URLs on s3rver (a local S3-compatible server, not AWS).
 * The AWS SDK reads s3rver's credentials and its checksum quirk from its own environment
 * variables; the registry's configuration only names the bucket and endpoint, as in production.
 */
export function artifactBackends(bucket: string, s3Env: Record<string, string> = {}): [string, ArtifactBackend][] {
  return [
    ['filesystem artifacts', async () => ({ env: {}, close: async () => {} })],
    [
      'S3 artifacts (s3rver)',
      async () => {
        const s3 = await startS3rver(bucket);
        Object.assign(process.env, {
          AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
          AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
          AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
        });
        return {
          env: { S3_BUCKET: s3.bucket, S3_ENDPOINT: s3.endpoint, S3_FORCE_PATH_STYLE: 'true', S3_REGION: s3.region, ...s3Env },
          close: s3.close,
          storageDir: s3.directory,
        };
      },
    ],
  ];
}
