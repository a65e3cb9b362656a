import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';

/**
 * The web console (ui/, built by Vite into dist/ui) served at /ui: pages never cached, hashed files
 * under /ui/assets/ cached for a year, every answer with a CSP. The console's is strict (no inline
 * script or style, connections only to this origin: /graphql over HTTP and WebSocket).
 *
 * GraphiQL (/ui/graphiql/, the "API explorer") gets a CSP of its own. It differs in three
 * directives (style-src, font-src data:, worker-src 'self'); the one that matters is style-src: its
 * editor, Monaco, injects <style> elements and style attributes at run time, so style-src allows
 * 'unsafe-inline' there. Inline styles cannot run code; scripts stay 'self' only (no inline script,
 * no eval), connections stay on this origin, and every file, its fonts (data: URLs in its CSS) and
 * Monaco's workers (files under /ui/assets, so worker-src 'self', no blob:) come from this server.
 * Loosening the console's own CSP instead would weaken every screen for one page.
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
export const GRAPHIQL_PATH = `${CONSOLE_PREFIX}/graphiql/`;
export const GRAPHIQL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "worker-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The pages: path → file in dist/ui and its CSP. Assets (scripts, styles, workers) get the console's CSP. */
const PAGES = new Map<string, { file: string; csp: string }>([
  [`${CONSOLE_PREFIX}/`, { file: 'index.html', csp: CONSOLE_CSP }],
  [`${CONSOLE_PREFIX}/index.html`, { file: 'index.html', csp: CONSOLE_CSP }],
  [GRAPHIQL_PATH, { file: 'graphiql/index.html', csp: GRAPHIQL_CSP }],
  [`${GRAPHIQL_PATH}index.html`, { file: 'graphiql/index.html', csp: GRAPHIQL_CSP }],
]);
/** Paths without their trailing slash: redirected, so the pages' relative URLs stay right. */
const SLASHLESS = new Map<string, string>([
  [CONSOLE_PREFIX, `${CONSOLE_PREFIX}/`],
  [GRAPHIQL_PATH.slice(0, -1), GRAPHIQL_PATH],
]);

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
  '.ttf': 'font/ttf',
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
    const slashed = SLASHLESS.get(path);
    if (slashed) {
      res.writeHead(308, { location: `${slashed}${url.search}`, 'content-security-policy': CONSOLE_CSP, 'cache-control': 'no-cache' });
      res.end();
      return true;
    }
    const asset = ASSET.exec(path);
    const page = PAGES.get(path);
    const file = page ? page.file : asset ? join('assets', asset[1]!) : null;
    if (file === null || (asset && asset[1]!.includes('..'))) {
      send(res, 404, 'text/plain; charset=utf-8', 'Not found', 'no-store', req.method);
      return true;
    }
    let body: Buffer;
    try {
      body = await readFile(join(dir, file));
    } catch (err) {
      // A name under assets/ that is a folder (EISDIR) is as absent as a missing file.
      if (!['ENOENT', 'EISDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
      if (page) send(res, 503, 'text/plain; charset=utf-8', 'The console is not built: run `npm run build` (it builds ui/ into dist/ui).', 'no-store', req.method);
      else send(res, 404, 'text/plain; charset=utf-8', 'Not found', 'no-store', req.method);
      return true;
    }
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')) && COMPRESSIBLE.test(type);
    const extra = { vary: 'accept-encoding', 'content-security-policy': page?.csp ?? CONSOLE_CSP };
    if (gzip) send(res, 200, type, await gzipped(file, body, asset !== null), asset ? IMMUTABLE : 'no-cache', req.method, { ...extra, 'content-encoding': 'gzip' });
    else send(res, 200, type, body, asset ? IMMUTABLE : 'no-cache', req.method, extra);
    return true;
  };
}

const gzipAsync = promisify(gzipCallback);
const COMPRESSIBLE = /^(text\/|image\/svg|font\/ttf)/;
/**
 * Gzipped bodies, compressed once each off the event loop (GraphiQL's files are megabytes: a
 * synchronous gzip would stall every API request meanwhile). Hashed assets are keyed by name (a new
 * build gives new names); pages, a few KiB, by their bytes, so a rebuilt page is never served stale.
 */
const compressed = new Map<string, Promise<Buffer>>();
function gzipped(file: string, body: Buffer, hashedName: boolean): Promise<Buffer> {
  const key = hashedName ? file : `${file}:${createHash('sha256').update(body).digest('hex')}`;
  let out = compressed.get(key);
  if (!out) {
    if (compressed.size >= 64) compressed.clear();
    out = gzipAsync(body, { level: 6 });
    compressed.set(key, out);
    out.catch(() => compressed.delete(key));
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
