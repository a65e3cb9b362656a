import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';

/**
 * The web console (ui/, built by Vite into dist/ui) served at /ui: index.html never cached,
 * hashed files under /ui/assets/ cached for a year, every answer with a strict CSP (no inline
 * script or style, connections only to this origin: /graphql over HTTP and WebSocket).
 */
export const CONSOLE_PREFIX = '/ui';
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** dist/ui of the package this file belongs to (the nearest folder up with a package.json): from src/, dist/ or a bench build. */
export function defaultConsoleDir(): string {
  let dir = fileURLToPath(new URL('.', import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'dist', 'ui');
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};
/** Vite's output names: letters, digits, dot, dash, underscore; nothing that climbs out. */
const ASSET = /^\/ui\/assets\/([A-Za-z0-9_-][A-Za-z0-9._-]{0,127})$/;
const IMMUTABLE = 'public, max-age=31536000, immutable';

export function consoleRoute(dir: string = defaultConsoleDir()) {
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    const path = url.pathname;
    if (path !== CONSOLE_PREFIX && !path.startsWith(`${CONSOLE_PREFIX}/`)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'Method not allowed', 'no-store', req.method, { allow: 'GET, HEAD' });
      return true;
    }
    if (path === CONSOLE_PREFIX) {
      res.writeHead(308, { location: `${CONSOLE_PREFIX}/`, 'content-security-policy': CONSOLE_CSP, 'cache-control': 'no-cache' });
      res.end();
      return true;
    }
    const asset = ASSET.exec(path);
    const file = path === `${CONSOLE_PREFIX}/` || path === `${CONSOLE_PREFIX}/index.html` ? 'index.html' : asset ? join('assets', asset[1]!) : null;
    if (file === null || (asset && asset[1]!.includes('..'))) {
      send(res, 404, 'text/plain; charset=utf-8', 'Not found', 'no-store', req.method);
      return true;
    }
    let body: Buffer;
    try {
      body = await readFile(join(dir, file));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (file === 'index.html') send(res, 503, 'text/plain; charset=utf-8', 'The console is not built: run `npm run build` (it builds ui/ into dist/ui).', 'no-store', req.method);
      else send(res, 404, 'text/plain; charset=utf-8', 'Not found', 'no-store', req.method);
      return true;
    }
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')) && COMPRESSIBLE.test(type);
    const vary = { vary: 'accept-encoding' };
    if (gzip) send(res, 200, type, gzipped(file, body), asset ? IMMUTABLE : 'no-cache', req.method, { ...vary, 'content-encoding': 'gzip' });
    else send(res, 200, type, body, asset ? IMMUTABLE : 'no-cache', req.method, vary);
    return true;
  };
}

const COMPRESSIBLE = /^(text\/|image\/svg)/;
/** Gzipped bodies by file and content: built once per build of the console, a few files. */
const compressed = new Map<string, Buffer>();
function gzipped(file: string, body: Buffer): Buffer {
  const key = `${file}:${body.length}:${createHash('sha256').update(body).digest('hex')}`;
  let out = compressed.get(key);
  if (!out) {
    out = gzipSync(body, { level: 9 });
    if (compressed.size > 64) compressed.clear();
    compressed.set(key, out);
  }
  return out;
}

function send(res: ServerResponse, status: number, type: string, body: Buffer | string, cache: string, method: string | undefined, extra: Record<string, string> = {}): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, {
    'content-type': type,
    'content-length': String(bytes.length),
    'cache-control': cache,
    'content-security-policy': CONSOLE_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    ...extra,
  });
  res.end(method === 'HEAD' ? undefined : bytes);
}
