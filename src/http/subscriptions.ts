import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, type GraphQLSchema, type ValidationRule, getOperationAST, parse, specifiedRules, validate } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import { FailedPreconditionError, RegistryError, UnauthenticatedError } from '../domain/errors.js';
import type { Principal } from '../domain/token.js';
import { type GraphQLContext, createLoaders } from '../graphql/context.js';
import { formatError, isClientError, withCode } from '../graphql/errors.js';
import type { Services } from '../services/services.js';

export interface SubscriptionSettings {
  /** 0: no limit. */
  maxSubscriptionsPerConnection: number;
  /** Open WebSocket connections per API token; 0: no limit. */
  maxConnectionsPerToken: number;
  /** How often each connection's token is checked again (a revoked token's subscriptions end). */
  authRecheckMs: number;
  /** Largest message a client may send. */
  maxMessageBytes: number;
  maxQueryTokens: number;
  validationRules: readonly ValidationRule[];
  development: boolean;
}

interface Connection {
  principal: Principal;
  secret: string;
  recheck: NodeJS.Timeout;
}

export interface Subscriptions {
  /** Number of open WebSocket connections. */
  readonly size: number;
  /** Drain: every connection is closed with 1001 (going away); clients reconnect elsewhere and resume. */
  closeAll(): void;
}

/** Close codes of ours (4401 and 4429 are final for graphql-ws clients: they do not retry). */
const REVOKED = CloseCode.Unauthorized;
const TOO_MANY = CloseCode.TooManyInitialisationRequests;

/**
 * graphql-ws on the HTTP server's /graphql path: authenticated in connection_init, subscriptions
 * only (queries and mutations stay on HTTP POST), the same validation limits as HTTP, errors
 * formatted by the same formatter.
 */
export function attachSubscriptions(
  server: Server,
  deps: { schema: GraphQLSchema; services: Services; logger: Logger; settings: SubscriptionSettings; admit: (socket: Duplex) => boolean },
): Subscriptions {
  const { services, logger, settings } = deps;
  const wss = new WebSocketServer({ noServer: true, maxPayload: settings.maxMessageBytes });
  const connections = new Map<WebSocket, Connection>();
  const perToken = new Map<string, number>();

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/graphql') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (!deps.admit(socket)) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const release = (ws: WebSocket) => {
    const c = connections.get(ws);
    if (!c) return;
    clearInterval(c.recheck);
    connections.delete(ws);
    const left = (perToken.get(c.principal.tokenId) ?? 1) - 1;
    if (left > 0) perToken.set(c.principal.tokenId, left);
    else perToken.delete(c.principal.tokenId);
  };

  const format = (errors: readonly GraphQLError[]) =>
    errors.map((e) => {
      // Refusals made here (limits) carry a domain error, formatted like one thrown by a resolver.
      if (e.originalError instanceof RegistryError) return { message: e.originalError.message, locations: e.locations, path: e.path, extensions: { code: e.originalError.code } };
      if (!isClientError(e)) logger.error({ err: e.originalError ?? e, path: e.path }, 'subscription: unexpected error');
      return formatError(e.toJSON(), e, { exposeDetails: settings.development });
    });

  useServer<Record<string, unknown>, { connection: Connection }>(
    {
      schema: deps.schema,
      isProd: !settings.development,
      onConnect: async (ctx) => {
        const ws = ctx.extra.socket;
        const header = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
        let principal: Principal;
        try {
          principal = await services.tokens.authenticate(match ? match[1]! : null);
        } catch (err) {
          if (!(err instanceof UnauthenticatedError)) throw err;
          ws.close(REVOKED, err.message.slice(0, 120));
          return false;
        }
        const open = perToken.get(principal.tokenId) ?? 0;
        if (settings.maxConnectionsPerToken > 0 && open >= settings.maxConnectionsPerToken) {
          ws.close(TOO_MANY, `Too many WebSocket connections for this token (at most ${settings.maxConnectionsPerToken})`);
          return false;
        }
        if (ws.readyState !== ws.OPEN) return false;
        perToken.set(principal.tokenId, open + 1);
        const secret = match![1]!;
        const recheck = setInterval(() => {
          services.tokens.authenticate(secret).catch((err: unknown) => {
            if (err instanceof UnauthenticatedError) ws.close(REVOKED, 'API token revoked or expired');
            else logger.warn({ err }, 'WebSocket: could not check the token again; will retry');
          });
        }, settings.authRecheckMs);
        recheck.unref();
        const connection = { principal, secret, recheck };
        connections.set(ws, connection);
        ctx.extra.connection = connection;
        const opened = Date.now();
        logger.info({ actor: principal.name }, 'websocket connected');
        ws.once('close', (code: number) => {
          release(ws);
          logger.info({ actor: principal.name, code, seconds: Math.round((Date.now() - opened) / 1000) }, 'websocket closed');
        });
        return true;
      },
      onSubscribe: (ctx, _id, payload) => {
        const max = settings.maxSubscriptionsPerConnection;
        if (max > 0 && Object.keys(ctx.subscriptions).length > max) {
          const refusal = new FailedPreconditionError(`Too many subscriptions on this connection (at most ${max}); complete one or open another connection`);
          return [new GraphQLError(refusal.message, { originalError: refusal })];
        }
        let document;
        try {
          document = parse(payload.query, { maxTokens: settings.maxQueryTokens });
        } catch (err) {
          return [withCode(err instanceof GraphQLError ? err : new GraphQLError('Invalid query'), 'GRAPHQL_PARSE_FAILED')];
        }
        const errors = validate(deps.schema, document, [...specifiedRules, ...settings.validationRules]);
        if (errors.length > 0) return errors.map((e) => withCode(e, 'GRAPHQL_VALIDATION_FAILED'));
        const operation = getOperationAST(document, payload.operationName);
        if (operation && operation.operation !== 'subscription') {
          return [new GraphQLError('Only subscriptions are served over WebSocket; send queries and mutations as HTTP POST to /graphql')];
        }
        const connection = ctx.extra.connection!;
        const requestId = randomUUID();
        const context: GraphQLContext = {
          services,
          actor: connection.principal,
          requestId,
          // A subscription lives long: fresh loaders per use, so nothing is served from a stale cache.
          get loaders() {
            return createLoaders(services);
          },
          log: logger.child({ requestId, subscription: payload.operationName ?? null }),
        };
        return { schema: deps.schema, document, variableValues: payload.variables, operationName: payload.operationName, contextValue: context };
      },
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: format(result.errors) } : undefined),
      onError: (_ctx, _id, _payload, errors) => format(errors),
    },
    wss,
  );

  return {
    get size() {
      return wss.clients.size;
    },
    closeAll() {
      for (const ws of wss.clients) ws.close(1001, 'Server shutting down: reconnect and resume from the last sequence received');
    },
  };
}
