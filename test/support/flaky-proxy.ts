import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FlakyProxy {
  url: string;
  /** Where requests go (set once the target has started). */
  target: string;
  /** Requests answered with a fault, by kind. */
  readonly faults: { status503: number; resets: number; downloadCuts: number };
  /** The PUTs passed through (not faulted): their path, and the part checksum they carried (header, and signed `sha` query of the embedded store). */
  readonly forwardedPuts: { path: string; checksumHeader: string | null; signedSha: string | null }[];
  close(): Promise<void>;
}

/**
 * A real HTTP proxy in front of a server that fails the first tries of each transfer: the first PUT
 * of a path gets 503, the second has its connection destroyed half-way; the first GET of a stored
 * file (`/artifacts/…`) is cut after its first 64 KiB (counted only when the file is longer). Later tries (and every other request) pass
 * through unchanged.
 */
export async function startFlakyProxy(): Promise<FlakyProxy> {
  const puts = new Map<string, number>();
  const faults = { status503: 0, resets: 0, downloadCuts: 0 };
  const gets = new Set<string>();
  const forwardedPuts: FlakyProxy['forwardedPuts'] = [];
  const proxy: FlakyProxy = { url: '', target: '', faults, forwardedPuts, close: async () => {} };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    if (req.method === 'PUT') {
      const n = (puts.get(path) ?? 0) + 1;
      puts.set(path, n);
      if (n === 1) {
        faults.status503++;
        req.resume();
        req.once('end', () => {
          res.writeHead(503, { 'content-type': 'text/plain' });
          res.end('injected: service unavailable');
        });
        return;
      }
      if (n === 2) {
        faults.resets++;
        let seen = 0;
        req.on('data', (c: Buffer) => {
          seen += c.length;
          if (seen > 1024) req.socket.destroy();
        });
        req.once('end', () => req.socket.destroy());
        return;
      }
    }
    if (req.method === 'PUT') {
      const header = req.headers['x-amz-checksum-sha256'];
      forwardedPuts.push({ path, checksumHeader: typeof header === 'string' ? header : null, signedSha: new URL(req.url ?? '/', 'http://x').searchParams.get('sha') });
    }
    const cut = req.method === 'GET' && path.startsWith('/artifacts/') && !gets.has(path);
    if (cut) gets.add(path);
    const target = new URL(req.url ?? '/', proxy.target);
    const upstream = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      if (!cut) return void up.pipe(res);
      let sent = 0;
      up.on('data', (c: Buffer) => {
        if (sent >= 64 * 1024) return;
        sent += c.length;
        res.write(c);
        if (sent >= 64 * 1024) {
          faults.downloadCuts++;
          up.destroy();
          res.socket?.destroy();
        }
      });
      up.once('end', () => res.end()); // a file shorter than the cut goes through whole
    });
    upstream.once('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return proxy;
}
