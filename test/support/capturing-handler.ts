import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { S3ClientConfig } from '@aws-sdk/client-s3';

/** One request as the AWS SDK sent it (after signing), for asserting what the store SENDS. */
export interface SentRequest {
  method: string;
  path: string;
  query: Record<string, string | string[] | null>;
  /** Lowercased names. */
  headers: Record<string, string>;
  /** Whether the SDK handed the request an abort signal. */
  hasAbortSignal: boolean;
  /** The body when the SDK built it as text (XML of CompleteMultipartUpload …); null for streams and none. */
  body: string | null;
}

interface RawRequest {
  method: string;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
}
interface RawResponse {
  response: { statusCode: number; headers: Record<string, string>; body: unknown };
}

/**
 * A request handler for the S3 client that records every request and passes it, unchanged, to the
 * SDK's own NodeHttpHandler (so the real server still answers). `afterResponse` runs once the
 * response's headers have arrived and before the SDK sees it: a test uses it to make something
 * happen at an exact point of the store's work (a replayed upload landing mid-verification).
 * It never invents an answer: the store under test talks to the real server.
 */
export class CapturingHandler {
  readonly sent: SentRequest[] = [];
  readonly metadata = { handlerProtocol: 'http/1.1' };
  private readonly inner: NodeHttpHandler;

  constructor(
    private readonly afterResponse?: (request: SentRequest, statusCode: number) => Promise<void>,
    options: ConstructorParameters<typeof NodeHttpHandler>[0] = {},
  ) {
    this.inner = new NodeHttpHandler(options);
  }

  /** As the store's clientConfig: `{ ...s3rverClientConfig, requestHandler: capture.handler }`. */
  get handler(): NonNullable<S3ClientConfig['requestHandler']> {
    return this as unknown as NonNullable<S3ClientConfig['requestHandler']>;
  }

  async handle(request: RawRequest, options: { abortSignal?: unknown } = {}): Promise<RawResponse> {
    const sent: SentRequest = {
      method: request.method,
      path: request.path,
      query: { ...(request.query ?? {}) },
      headers: Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v])),
      hasAbortSignal: options.abortSignal !== undefined,
      body: typeof request.body === 'string' ? request.body : null,
    };
    this.sent.push(sent);
    const out = (await this.inner.handle(request as never, options as never)) as unknown as RawResponse;
    if (this.afterResponse) await this.afterResponse(sent, out.response.statusCode);
    return out;
  }

  /** Requests of one S3 operation, told apart by method and the x-id query parameter or path. */
  named(method: string, pathIncludes = ''): SentRequest[] {
    return this.sent.filter((r) => r.method === method && r.path.includes(pathIncludes));
  }

  updateHttpClientConfig(key: never, value: never): void {
    this.inner.updateHttpClientConfig(key, value);
  }

  httpHandlerConfigs(): unknown {
    return this.inner.httpHandlerConfigs();
  }

  destroy(): void {
    this.inner.destroy();
  }
}
