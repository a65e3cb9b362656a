import { type IncomingHttpHeaders, request } from 'node:http';
import { type Socket, connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One request on its own connection (no agent, no keep-alive), the body sent in chunks with pauses. */
export function slowRequest(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; chunks?: Buffer[]; pauseMs?: number; readPauseMs?: number; localAddress?: string },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false, localAddress: opts.localAddress }, (res) => {
      const parts: Buffer[] = [];
      if (opts.readPauseMs) {
        // A slow reader: the server's write stays half-sent for a while.
        res.pause();
        setTimeout(() => res.resume(), opts.readPauseMs);
      }
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      // Cut after the answer began (headers in, body not complete): mark it, a drain must never do this.
      res.on('error', (err: Error & { afterHeaders?: boolean }) => {
        err.afterHeaders = true;
        reject(err);
      });
      res.on('aborted', () => reject(Object.assign(new Error('response aborted'), { afterHeaders: true })));
    });
    req.on('error', reject);
    const chunks = opts.chunks ?? [];
    const next = (i: number): void => {
      if (i >= chunks.length) {
        req.end();
        return;
      }
      req.write(chunks[i]);
      setTimeout(() => next(i + 1), opts.pauseMs ?? 0);
    };
    next(0);
  });
}

/** A TCP connection to the server's port, resolved once connected. */
export function openSocket(url: string, localAddress?: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect({ host: hostname, port: Number(port), localAddress });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves when the socket is closed (by either side); collects what it received. */
export function closed(s: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
    });
    s.on('error', () => {});
    if (s.destroyed) resolve(text);
    else s.once('close', () => resolve(text));
  });
}
