import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { type ApolloServer, HeaderMap } from '@apollo/server';
import type { GraphQLSchema } from 'graphql';
import type { Logger } from 'pino';
import { RegistryError, UnauthenticatedError } from '../domain/errors.js';
import type { Principal } from '../domain/token.js';
import type { GraphQLContext } from '../graphql/context.js';
import { RequestContext } from '../graphql/loaders/request-context.js';
import type { Services } from '../services/services.js';
import { type ConnectionSettings, ConnectionGuard, serverOptions } from './connection-limits.js';
import { HttpMetrics, routeLabel } from './metrics.js';
import { AUDIT_CHECKPOINTS_ROUTE, AUDIT_EXPORT_ROUTE, AUDIT_PUBLIC_KEY_ROUTE, exportRoute, publicKeyRoute } from './audit.routes.js';
import { MANIFEST_ROUTE, manifestRoute } from './manifest.route.js';
import { routeErrorStatus } from './route-errors.js';
import { type DrainResult, drainServer } from './shutdown.js';
import { type SubscriptionSettings, attachSubscriptions } from './subscriptions.js';

/** A route the composition root mounts (e.g. the filesystem store's signed URLs); false: not mine. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;

export interface HttpDeps {
  apollo: ApolloServer<GraphQLContext>;
  services: Services;
  logger: Logger;
  bodyLimitBytes: number;
  /** Throws when a dependency (store, storage) is not ready; may return details worth showing (still ready). */
  ready: () => Promise<Record<string, unknown> | void>;
  routes: RouteHandler[];
  connections: ConnectionSettings;
  /** The executable schema, for subscriptions over WebSocket on /graphql. */
  schema: GraphQLSchema;
  subscriptions: SubscriptionSettings;
}

export interface HttpServer {
  server: Server;
  /** Graceful stop: see drainServer. */
  drain(graceMs: number): Promise<DrainResult>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const DOWNLOAD_ROUTE = /^\/v1\/models\/([^/]+)\/versions\/([^/]+)\/artifacts\/(.+)$/;

class BodyTooLarge extends Error {}

/**
 * The registry's HTTP server on node:http: /graphql, /healthz, /readyz, the inference download
 * route and the mounted routes. Logs carry the path only, never the query string (which holds
 * signatures for the filesystem store's URLs).
 */
export function createHttpServer(deps: HttpDeps): HttpServer {
  const metrics = new HttpMetrics();
  const server = createServer(serverOptions(deps.connections), (req, res) => {
    guard.onRequest(req, res);
    const header = req.headers['x-request-id'];
    const requestId = typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
    res.setHeader('x-request-id', requestId);
    // The request's logger is made only when something logs through it (the hot path logs nothing but the access line).
    let child: Logger | undefined;
    const log = (): Logger => (child ??= deps.logger.child({ requestId }));
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const path = safePath(req.url);
      metrics.observe(routeLabel(path), req.method ?? 'GET', res.statusCode, ms / 1000);
      // The access line, as the child would write it (requestId first), without making a child for it.
      if (deps.logger.isLevelEnabled('info')) deps.logger.info({ requestId, method: req.method, path, status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
    });
    handle(req, res, deps, requestId, log, metrics, guard).catch((err: unknown) => {
      // The connection closed before the body arrived (client gone, or a body timeout): not a server error.
      if (req.socket.destroyed && (err as NodeJS.ErrnoException).code === 'ECONNRESET') return log().warn({ path: safePath(req.url) }, 'request aborted');
      log().error({ err }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'Internal server error', requestId });
      else res.destroy();
    });
  });
  const guard = new ConnectionGuard(server, deps.connections, (event) => metrics.connectionEvent(event));
  metrics.trackOpenConnections(() => guard.size);
  const subscriptions = attachSubscriptions(server, {
    schema: deps.schema,
    services: deps.services,
    logger: deps.logger,
    settings: deps.subscriptions,
    admit: (socket) => guard.onUpgrade(socket as Socket),
  });
  return {
    server,
    drain: (graceMs) => {
      // Open subscriptions end first (close 1001): their clients reconnect elsewhere and resume.
      const draining = drainServer(server, guard, graceMs, deps.logger);
      subscriptions.closeAll();
      return draining;
    },
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, deps: HttpDeps, requestId: string, log: () => Logger, metrics: HttpMetrics, guard: ConnectionGuard): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://registry.invalid');
  const path = url.pathname;
  if (path === '/graphql') return graphql(req, res, url, deps, requestId, log);
  if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) return sendJson(res, 200, { status: 'ok' });
  if (path === '/readyz' && (req.method === 'GET' || req.method === 'HEAD')) {
    if (guard.draining) return sendJson(res, 503, { status: 'draining' });
    try {
      const details = await deps.ready();
      return sendJson(res, 200, details ? { status: 'ready', details } : { status: 'ready' });
    } catch (err) {
      log().warn({ err }, 'not ready');
      return sendJson(res, 503, { status: 'unavailable' });
    }
  }
  if (path === '/metrics' && req.method === 'GET') {
    if (!(await authenticate(req, res, deps, 'json'))) return;
    const { contentType, body } = await metrics.render();
    res.writeHead(200, { 'Content-Type': contentType });
    res.end(body);
    return;
  }
  if (path === AUDIT_PUBLIC_KEY_ROUTE && req.method === 'GET') return publicKeyRoute(res, deps.services);
  if ((path === AUDIT_EXPORT_ROUTE || path === AUDIT_CHECKPOINTS_ROUTE) && req.method === 'GET') {
    const principal = await authenticate(req, res, deps, 'json');
    if (principal) await exportRoute(res, deps.services, principal, url, path === AUDIT_EXPORT_ROUTE ? 'events' : 'checkpoints');
    return;
  }
  const download = DOWNLOAD_ROUTE.exec(path);
  if (download && (req.method === 'GET' || req.method === 'HEAD')) {
    const principal = await authenticate(req, res, deps, 'json');
    if (principal) await downloadRedirect(res, deps, download, principal, req.method);
    return;
  }
  const manifest = MANIFEST_ROUTE.exec(path);
  if (manifest && (req.method === 'GET' || req.method === 'HEAD')) {
    const principal = await authenticate(req, res, deps, 'json');
    if (principal) await manifestRoute(res, deps.services, manifest, principal, req.headers['if-none-match'], req.method === 'HEAD');
    return;
  }
  for (const route of deps.routes) if (await route(req, res, url)) return;
  sendJson(res, 404, { error: 'Not found' });
}

async function downloadRedirect(res: ServerResponse, deps: HttpDeps, match: RegExpExecArray, principal: Principal, method: 'GET' | 'HEAD'): Promise<void> {
  let parts: string[];
  try {
    parts = match.slice(1, 4).map((p) => decodeURIComponent(p!));
  } catch {
    return sendJson(res, 400, { error: 'Malformed path', code: 'BAD_USER_INPUT' });
  }
  const [model, ref, artifactPath] = parts as [string, string, string];
  try {
    // Signed for the request's own method: storage refuses a HEAD on a URL signed for GET.
    const { request, version, artifact } = await deps.services.queries.resolveDownload(principal, model, ref, artifactPath, method);
    // An explicit empty body rather than a chunked empty one. The headers say what the redirect resolved to, for checking the bytes.
    res.writeHead(302, {
      Location: request.url, 'Cache-Control': 'no-store', 'Content-Length': 0, 'X-Model-Version-Id': version.id, 'X-Artifact-Sha256': artifact.sha256,
    });
    res.end();
  } catch (err) {
    if (!(err instanceof RegistryError)) throw err;
    sendJson(res, routeErrorStatus(err), { error: err.message, code: err.code });
  }
}

/**
 * The bearer token's principal, or null after answering 401: every route but the health probes
 * and the store's own signed URLs needs a valid token. Checked before the body is read.
 */
async function authenticate(req: IncomingMessage, res: ServerResponse, deps: HttpDeps, shape: 'graphql' | 'json'): Promise<Principal | null> {
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  try {
    return await deps.services.tokens.authenticate(match ? match[1]! : null);
  } catch (err) {
    if (!(err instanceof UnauthenticatedError)) throw err;
    req.resume();
    res.setHeader('WWW-Authenticate', 'Bearer realm="model-registry"');
    res.setHeader('Connection', 'close');
    sendJson(res, 401, shape === 'graphql' ? { errors: [{ message: err.message, extensions: { code: err.code } }] } : { error: err.message, code: err.code });
    return null;
  }
}

async function graphql(req: IncomingMessage, res: ServerResponse, url: URL, deps: HttpDeps, requestId: string, log: () => Logger): Promise<void> {
  const principal = await authenticate(req, res, deps, 'graphql');
  if (!principal) return;
  let body: unknown;
  if (req.method === 'POST') {
    let raw: Buffer;
    try {
      raw = await readBody(req, deps.bodyLimitBytes);
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        res.setHeader('Connection', 'close');
        return sendJson(res, 413, { errors: [{ message: `Request body exceeds ${deps.bodyLimitBytes} bytes`, extensions: { code: 'BAD_USER_INPUT' } }] });
      }
      throw err;
    }
    const type = req.headers['content-type'] ?? '';
    if (type.startsWith('application/json') || type.startsWith('application/graphql-response+json')) {
      try {
        body = raw.length === 0 ? undefined : JSON.parse(raw.toString('utf8'));
      } catch {
        return sendJson(res, 400, { errors: [{ message: 'Request body is not valid JSON', extensions: { code: 'BAD_USER_INPUT' } }] });
      }
    } else {
      body = raw.toString('utf8');
    }
  }
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  const outcome = { requestErrorsOnly: false };
  const result = await deps.apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: (req.method ?? 'GET').toUpperCase(), headers, search: url.search, body },
    context: async () => new RequestContext(deps.services, principal, requestId, outcome, log),
  });
  for (const [key, value] of result.headers) res.setHeader(key, value);
  res.statusCode = graphqlStatus(result.status ?? 200, result.headers.get('content-type'), outcome.requestErrorsOnly);
  // Apollo answers some failures (a response it cannot serialize, say) with a 500 of its own,
  // past every hook that logs: every 500 is logged here, with the request id.
  if (res.statusCode >= 500) log().error({ status: res.statusCode, operation: operationName(body, url) }, 'GraphQL request failed with a server error');
  if (result.body.kind === 'complete') {
    res.end(result.body.string);
    return;
  }
  for await (const chunk of result.body.asyncIterator) res.write(chunk);
  res.end();
}

/**
 * GraphQL over HTTP: under `application/json` a well-formed request answers 200 even when its
 * document fails to parse or validate or its variables fail to coerce (the errors say why);
 * `application/graphql-response+json` keeps Apollo's 400.
 */
function graphqlStatus(status: number, contentType: string | undefined, requestErrorsOnly: boolean): number {
  return status === 400 && requestErrorsOnly && (contentType ?? '').startsWith('application/json') ? 200 : status;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(new BodyTooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** The path without the query string: signatures never reach a log line. */
function safePath(url: string | undefined): string {
  return (url ?? '/').split('?')[0]!;
}

/** The operation's name, if the client gave one, for logs (never the query text or variables). */
function operationName(body: unknown, url: URL): string | null {
  const name = body !== null && typeof body === 'object' ? (body as { operationName?: unknown }).operationName : url.searchParams.get('operationName');
  return typeof name === 'string' ? name.slice(0, 100) : null;
}
