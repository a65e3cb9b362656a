import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

/** `s3://<bucket>/<prefix>` (the registry's S3_PREFIX, empty for none) as a bucket and the checkpoints' key prefix. */
export function parseS3Location(location: string): { bucket: string; keyPrefix: string } | null {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(location);
  if (!m) return null;
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  return { bucket: m[1]!, keyPrefix: `${prefix ? `${prefix}/` : ''}_audit/checkpoints/` };
}

/**
 * The checkpoint objects as the registry stored them in S3 (`<prefix>_audit/checkpoints/`), read
 * with the auditor's own credentials (the AWS SDK's usual chain: AWS_* variables, profiles, roles);
 * `endpoint` for MinIO and other S3-compatible stores (path-style then).
 */
export async function readS3Checkpoints(location: { bucket: string; keyPrefix: string }, opts: { endpoint?: string; region?: string }): Promise<{ name: string; body: string }[]> {
  const client = new S3Client({
    ...(opts.endpoint ? { endpoint: opts.endpoint, forcePathStyle: true } : {}),
    region: opts.region ?? 'us-east-1',
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  try {
    const out: { name: string; body: string }[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: location.bucket, Prefix: location.keyPrefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        const name = o.Key!.slice(location.keyPrefix.length);
        if (!/^[0-9]{16}\.json$/.test(name)) continue;
        const got = await client.send(new GetObjectCommand({ Bucket: location.bucket, Key: o.Key }));
        out.push({ name, body: await got.Body!.transformToString() });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => a.name.localeCompare(b.name));
  } finally {
    client.destroy();
  }
}
