import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { WEBHOOK_RESPONSE_BODY_BYTES } from '../../domain/webhook.js';
import { BlockedTargetError, hostOf, resolveAllowedWithin } from './ssrf-guard.js';

export interface PostOutcome {
  /** The receiver's status; null when no response came. */
  httpStatus: number | null;
  /** Why it failed (no response, or a non-2xx); null on a 2xx. Never holds the URL's query. */
  error: string | null;
  /** At most WEBHOOK_RESPONSE_BODY_BYTES of the response body (UTF-8, cut). */
  responseBody: string | null;
  durationMs: number;
  /** The request was cut by `signal` (shutdown): the outcome says nothing about the receiver. */
  aborted: boolean;
}

export interface PostOptions {
  timeoutMs: number;
  allowPrivate: boolean;
  signal: AbortSignal;
}

/**
 * One POST of a webhook body. The host is resolved here and the connection made to a checked
 * address (http.request's `lookup` hands back that address; an IP literal is checked directly),
 * so a name that resolves to a private address at connect time (DNS rebinding) is refused like
 * one that did at creation. Redirects are not followed (a 3xx is a failure like any non-2xx).
 * The whole exchange, from lookup to the last byte kept, is bounded by `timeoutMs`.
 */
export async function postWebhook(url: URL, body: string, headers: Record<string, string>, opts: PostOptions): Promise<PostOutcome> {
  const started = performance.now();
  const done = (o: Omit<PostOutcome, 'durationMs' | 'aborted'>, aborted = false): PostOutcome => ({ ...o, durationMs: performance.now() - started, aborted });
  let addresses: { address: string; family: 4 | 6 }[];
  try {
    // The lookup counts against the same bound as the exchange (a stuck resolver is a timeout too).
    addresses = await resolveAllowedWithin(hostOf(url), opts.allowPrivate, opts.timeoutMs);
  } catch (err) {
    const error = err instanceof BlockedTargetError ? err.message : `could not resolve ${hostOf(url)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
    return done({ httpStatus: null, error, responseBody: null });
  }
  const [target] = addresses;
  const remainingMs = Math.max(1, opts.timeoutMs - (performance.now() - started));
  const lookup: LookupFunction = (_host, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [target!]);
    else callback(null, target!.address, target!.family);
  };
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<PostOutcome>((resolve) => {
    let settled = false;
    const finish = (o: Omit<PostOutcome, 'durationMs' | 'aborted'>, aborted = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', onAbort);
      resolve(done(o, aborted));
    };
    const req = send(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'model-registry-webhooks/1', ...headers },
      lookup,
      agent: false,
    });
    const timer = setTimeout(() => {
      finish({ httpStatus: null, error: `no answer within ${opts.timeoutMs} ms (timeout)`, responseBody: null });
      req.destroy();
    }, remainingMs);
    const onAbort = () => {
      finish({ httpStatus: null, error: 'stopped by shutdown', responseBody: null }, true);
      req.destroy();
    };
    if (opts.signal.aborted) return onAbort();
    opts.signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err: NodeJS.ErrnoException) => finish({ httpStatus: null, error: `${err.code ?? 'error'}: ${err.message}`, responseBody: null }));
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let kept = 0;
      const complete = () => {
        const text = Buffer.concat(chunks).subarray(0, WEBHOOK_RESPONSE_BODY_BYTES).toString('utf8');
        const ok = status >= 200 && status < 300;
        finish({ httpStatus: status, error: ok ? null : `HTTP ${status}${status >= 300 && status < 400 ? ' (redirects are not followed)' : ''}`, responseBody: text });
        res.destroy();
      };
      res.on('data', (chunk: Buffer) => {
        if (kept < WEBHOOK_RESPONSE_BODY_BYTES) chunks.push(chunk);
        kept += chunk.length;
        if (kept >= WEBHOOK_RESPONSE_BODY_BYTES) complete();
      });
      res.on('end', complete);
      res.on('error', complete);
    });
    req.end(body);
  });
}
