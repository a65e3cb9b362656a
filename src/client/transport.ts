import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { type DocumentNode, print } from 'graphql';
import { NetworkError, RegistryClientError, codeOfStatus, errorFor } from './errors.js';
import { type RetryOptions, withRetries } from './retry.js';

export interface ClientOptions {
  /** The registry's base URL, e.g. http://127.0.0.1:4000 (no /graphql). */
  url: string;
  /** An API token's secret, sent as `Authorization: Bearer …`. */
  token?: string;
  /** Retries of reads and of idempotent writes on network errors and 5xx. */
  retry?: RetryOptions;
  /** User-Agent sent with every request to the registry. */
  userAgent?: string;
}

interface GraphQLBody<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; field?: string } }[];
}

const printed = new WeakMap<DocumentNode, string>();
const textOf = (doc: DocumentNode): string => {
  let text = printed.get(doc);
  if (text === undefined) printed.set(doc, (text = print(doc)));
  return text;
};

/** The registry's public GraphQL API (POST /graphql) and its documented HTTP routes, nothing else. */
export class Transport {
  readonly baseUrl: string;
  constructor(readonly options: ClientOptions) {
    const base = new URL(options.url);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new RegistryClientError('BAD_USER_INPUT', `The registry URL must be http(s): ${options.url}`);
    this.baseUrl = base.href.replace(/\/+$/, '');
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
      'user-agent': this.options.userAgent ?? 'model-registry-client',
      ...extra,
    };
  }

  /**
   * One operation. `retry`: whether a network error or 5xx may send it again (reads, and writes
   * that carry an idempotency key or are idempotent by nature).
   */
  async request<TData, TVars extends Record<string, unknown>>(doc: TypedDocumentNode<TData, TVars>, variables: TVars, retry = true): Promise<TData> {
    const send = async (): Promise<TData> => {
      let res: Response;
      try {
        res = await fetch(`${this.baseUrl}/graphql`, {
          method: 'POST',
          headers: this.headers({ 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' }),
          body: JSON.stringify({ query: textOf(doc), variables }),
        });
      } catch (err) {
        throw new NetworkError('NETWORK', `Cannot reach the registry at ${this.baseUrl}: ${causeOf(err)}`);
      }
      let body: GraphQLBody<TData>;
      try {
        body = (await res.json()) as GraphQLBody<TData>;
      } catch {
        throw errorFor(codeOfStatus(res.status), `The registry answered HTTP ${res.status} without a GraphQL body`, res.status);
      }
      const first = body.errors?.[0];
      if (first) throw errorFor(first.extensions?.code ?? codeOfStatus(res.status), first.message, res.status, first.extensions?.field);
      if (!body.data) throw errorFor('BAD_RESPONSE', `The registry answered HTTP ${res.status} with no data`, res.status);
      return body.data;
    };
    return retry ? withRetries(send, this.options.retry) : send();
  }

  /** GET of a registry route; answers with a JSON `{ error, code }` body become typed errors. */
  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return withRetries(async () => {
      let res: Response;
      try {
        res = await fetch(`${this.baseUrl}${path}`, { headers: this.headers(headers), redirect: 'manual' });
      } catch (err) {
        throw new NetworkError('NETWORK', `Cannot reach the registry at ${this.baseUrl}: ${causeOf(err)}`);
      }
      if (res.status >= 400) {
        const body = (await res.json().catch(() => null)) as { error?: string; code?: string } | null;
        throw errorFor(body?.code ?? codeOfStatus(res.status), body?.error ?? `HTTP ${res.status} for GET ${path}`, res.status);
      }
      return res;
    }, this.options.retry);
  }
}

/** The most telling message of a fetch failure (undici puts the reason in `cause`). */
export function causeOf(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}
