import type { S3Client } from '@aws-sdk/client-s3';
import { S3RequestPresigner } from '@aws-sdk/s3-request-presigner';
import type { PresignedRequest } from '../artifact.store.js';
import { encodeKey, encodeRfc3986 } from './s3-support.js';

type HttpRequestToSign = Parameters<S3RequestPresigner['presign']>[0];
interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}
type CredentialProvider = (options?: { forceRefresh?: boolean }) => Promise<Credentials>;

interface BaseUrl {
  protocol: string;
  hostname: string;
  port: number | undefined;
  path: string;
}

export interface SignRequest {
  method: PresignedRequest['method'];
  key: string;
  ttlSeconds: number;
  /** Headers signed as headers: the client must send each exactly (never hoisted into the query). */
  headers: Record<string, string>;
  /** Extra query parameters covered by the signature (response-content-disposition …). */
  query?: Record<string, string>;
  /** The headers, as the client is told to send them (content-length is implied by the body). */
  clientHeaders: PresignedRequest['headers'];
}

/** A forced credential refresh at most this often, however many URLs are signed meanwhile. */
const REFRESH_INTERVAL_MS = 30_000;

/**
 * Signs presigned URLs for the host clients use (`publicEndpoint`, or the endpoint the SDK
 * resolves), since the signature covers the host. The signing time follows the SDK's clock offset
 * (learned from storage's answers when the local clock is off), and a URL never outlives the
 * credentials that sign it: its lifetime, and `expiresAt`, are capped at their expiration.
 */
export class S3UrlSigner {
  private lastForcedRefresh = 0;

  private constructor(
    private readonly client: S3Client,
    private readonly signingRegion: string,
    private readonly base: BaseUrl,
    private readonly now: () => Date,
  ) {}

  static async create(
    client: S3Client,
    opts: { bucket: string; region: string; forcePathStyle: boolean; endpoint: string | null; publicEndpoint: string | null },
    now: () => Date,
  ): Promise<S3UrlSigner> {
    const endpoint = opts.publicEndpoint ?? opts.endpoint;
    const resolved = client.config.endpointProvider({
      Bucket: opts.bucket,
      Region: opts.region,
      ForcePathStyle: opts.forcePathStyle,
      UseFIPS: await client.config.useFipsEndpoint(),
      UseDualStack: await client.config.useDualstackEndpoint(),
      Accelerate: false,
      ...(endpoint ? { Endpoint: endpoint } : {}),
    });
    const scheme = resolved.properties?.authSchemes?.[0] as { name?: string; signingRegion?: string } | undefined;
    if (scheme?.name && scheme.name !== 'sigv4') throw new Error(`S3 bucket needs the unsupported signing scheme ${scheme.name}`);
    const signingRegion = scheme?.signingRegion ?? opts.region;
    const url = new URL(resolved.url.toString());
    const base = { protocol: url.protocol, hostname: url.hostname, port: url.port ? Number(url.port) : undefined, path: url.pathname.replace(/\/+$/, '') };
    return new S3UrlSigner(client, signingRegion, base, now);
  }

  async sign(r: SignRequest): Promise<PresignedRequest> {
    if (!Number.isInteger(r.ttlSeconds) || r.ttlSeconds < 1 || r.ttlSeconds > 604800) throw new Error('presigned URL lifetime must be 1 s to 7 days');
    const offset = this.client.config.systemClockOffset ?? 0;
    const localMs = this.now().getTime();
    // Storage's idea of now: the SDK corrects its offset from storage's Date header after a skew error.
    const signingDate = new Date(Math.floor((localMs + offset) / 1000) * 1000);
    const { credentials, ttl } = await this.credentialsFor(r.ttlSeconds, signingDate.getTime());
    const { protocol, hostname, port, path } = this.base;
    const request: HttpRequestToSign = { method: r.method, protocol, hostname, port, path: `${path}/${encodeKey(r.key)}`, query: { ...r.query }, headers: { ...r.headers } };
    const names = Object.keys(r.headers);
    // A presigner holding exactly the credentials whose expiration was checked (not S3's
    // presignWithCredentials, which is for S3 Express session tokens).
    const presigner = new S3RequestPresigner({ ...this.client.config, region: async () => this.signingRegion, credentials: async () => credentials });
    const signed = await presigner.presign(request, {
      expiresIn: ttl,
      signingDate,
      signableHeaders: new Set(names),
      // x-amz-* headers would otherwise move into the query, where S3 does not check them as headers.
      unhoistableHeaders: new Set(names.filter((n) => n.startsWith('x-amz-'))),
    });
    return { url: formatUrl(signed), method: r.method, headers: r.clientHeaders, expiresAt: new Date(signingDate.getTime() - offset + ttl * 1000) };
  }

  /**
   * The credentials to sign with, and the lifetime they allow: a URL dies with its session token.
   * When they expire before `ttlSeconds`, they are refreshed first (at most every 30 s), then the
   * lifetime is capped at their expiration.
   */
  private async credentialsFor(ttlSeconds: number, signingMs: number): Promise<{ credentials: Credentials; ttl: number }> {
    const provider = this.client.config.credentials as unknown as CredentialProvider;
    const lifetime = (c: Credentials): number => (c.expiration ? Math.floor((c.expiration.getTime() - signingMs) / 1000) : Number.POSITIVE_INFINITY);
    let credentials = await provider();
    if (lifetime(credentials) < ttlSeconds && Date.now() - this.lastForcedRefresh >= REFRESH_INTERVAL_MS) {
      this.lastForcedRefresh = Date.now();
      credentials = await provider({ forceRefresh: true });
    }
    const ttl = Math.min(ttlSeconds, lifetime(credentials));
    if (ttl < 1) throw new Error('the S3 credentials have expired and could not be refreshed: no URL can be signed');
    return { credentials, ttl };
  }
}

function formatUrl(r: HttpRequestToSign): string {
  const query = Object.keys(r.query ?? {})
    .sort()
    .flatMap((name) => {
      const value = r.query![name];
      const values = Array.isArray(value) ? value : [value];
      return values.map((v) => (v === null || v === undefined ? encodeRfc3986(name) : `${encodeRfc3986(name)}=${encodeRfc3986(v)}`));
    })
    .join('&');
  return `${r.protocol}//${r.hostname}${r.port ? `:${r.port}` : ''}${r.path}${query ? `?${query}` : ''}`;
}
