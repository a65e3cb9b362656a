import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** How long a client may take, and how many connections it may hold. Zero: no limit. */
export interface ConnectionSettings {
  /** Whole connections; at the cap the oldest connection with no request in progress makes room. */
  maxConnections: number;
  /** Connections from one client address; beyond it new ones are closed at once. */
  maxConnectionsPerAddress: number;
  /** From the connection (or the end of the previous request) to the end of the request headers: also the first-byte timeout. */
  headersTimeoutMs: number;
  /** To receive a whole request body, except PUT (artifact uploads). */
  requestTimeoutMs: number;
  /** A PUT body may take as long as it needs, but not this long without a byte. */
  uploadIdleTimeoutMs: number;
  /** An idle keep-alive connection between requests. */
  keepAliveTimeoutMs: number;
}

interface Connection {
  address: string;
  /** Requests of this connection whose response has not closed yet. */
  responses: Set<ServerResponse>;
  /** Upgraded to a WebSocket: busy for as long as it is open (never evicted as idle). */
  upgraded: boolean;
}

/** node:http's own timeouts, set at construction (its timeout checks run every second). */
export function serverOptions(s: ConnectionSettings): ServerOptions {
  return {
    headersTimeout: s.headersTimeoutMs,
    // Node's requestTimeout counts a whole upload too; ours exempts uploads (see guardBody).
    requestTimeout: 0,
    keepAliveTimeout: s.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.floor(s.headersTimeoutMs / 4) || 1000)),
  };
}

/** Why the guard closed a connection (a metric label). */
export type ConnectionEvent = 'refused_per_address' | 'refused_total' | 'refused_draining' | 'evicted_idle';

/**
 * Caps the connections of a server (in total and per client address), bounds how long a request
 * may take to arrive, and knows which connections are busy, so that a drain can close the idle ones
 * at once and the busy ones as their answers end.
 */

/** The artifact upload routes (whole files, and parts of multipart uploads): the only requests exempt from the body timeout (an idle timeout instead). */
const UPLOAD_ROUTES = ['/artifacts/upload/', '/artifacts/part/'];

export class ConnectionGuard {
  private readonly connections = new Map<Socket, Connection>();
  private readonly perAddress = new Map<string, number>();
  private drainingFlag = false;

  constructor(
    server: Server,
    private readonly settings: ConnectionSettings,
    /** Counts refusals and evictions (for metrics; a log line each would let a flood fill the log). */
    private readonly onEvent: (event: ConnectionEvent) => void = () => {},
  ) {
    server.on('connection', (socket: Socket) => this.admit(socket));
  }

  get draining(): boolean {
    return this.drainingFlag;
  }

  get size(): number {
    return this.connections.size;
  }

  private admit(socket: Socket): void {
    const address = clientKey(socket.remoteAddress ?? '');
    const refusal = this.refusal(address);
    if (refusal) {
      this.onEvent(refusal);
      socket.destroy();
      return;
    }
    this.connections.set(socket, { address, responses: new Set(), upgraded: false });
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    socket.once('close', () => {
      this.connections.delete(socket);
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.perAddress.set(address, left);
      else this.perAddress.delete(address);
    });
  }

  private refusal(address: string): ConnectionEvent | null {
    const { maxConnections, maxConnectionsPerAddress } = this.settings;
    if (this.drainingFlag) return 'refused_draining';
    if (maxConnectionsPerAddress > 0 && (this.perAddress.get(address) ?? 0) >= maxConnectionsPerAddress) return 'refused_per_address';
    if (maxConnections > 0 && this.connections.size >= maxConnections && !this.evictOldestIdle()) return 'refused_total';
    return null;
  }

  /** Closes the longest-held connection with no request in progress; false when every one is busy. */
  private evictOldestIdle(): boolean {
    for (const [socket, c] of this.connections) {
      if (c.responses.size === 0 && !c.upgraded) {
        this.onEvent('evicted_idle');
        this.connections.delete(socket);
        socket.destroy();
        return true;
      }
    }
    return false;
  }

  /**
   * An upgrade request (WebSocket): its connection stays counted (it is one of the caps) and is
   * busy while open. False while draining: the upgrade is refused.
   */
  onUpgrade(socket: Socket): boolean {
    if (this.drainingFlag) return false;
    const connection = this.connections.get(socket);
    if (connection) connection.upgraded = true;
    return true;
  }

  /** Called first for every request: tracks it and bounds how long its body may take to arrive. */
  onRequest(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    const connection = this.connections.get(socket);
    connection?.responses.add(res);
    if (this.drainingFlag) res.setHeader('Connection', 'close');
    res.once('close', () => {
      connection?.responses.delete(res);
      // A keep-alive connection whose answer began before the drain: close it now that it is idle.
      if (this.drainingFlag && connection && connection.responses.size === 0 && !socket.destroyed) socket.destroySoon();
    });
    this.guardBody(req, res);
  }

  private guardBody(req: IncomingMessage, res: ServerResponse): void {
    // No body to wait for (most GETs): nothing to bound, no timer per request.
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (req.complete || !hasBody) return;
    const socket = req.socket;
    if (req.method === 'PUT' && UPLOAD_ROUTES.some((r) => (req.url ?? '').startsWith(r))) {
      // An upload may last hours; it is cut only when no byte moves for uploadIdleTimeoutMs.
      if (this.settings.uploadIdleTimeoutMs <= 0) return;
      socket.setTimeout(this.settings.uploadIdleTimeoutMs);
      req.once('end', () => {
        if (!res.writableFinished) socket.setTimeout(0);
      });
      return;
    }
    if (this.settings.requestTimeoutMs <= 0) return;
    const timer = setTimeout(() => {
      if (!req.complete) socket.destroy();
    }, this.settings.requestTimeoutMs);
    timer.unref();
    const clear = () => clearTimeout(timer);
    req.once('end', clear);
    res.once('close', clear);
  }

  /**
   * Drain: answers get `Connection: close` and busy connections close as soon as their answer
   * ends. A connection that has not sent a byte yet gets `silentGraceMs` (its request may be on
   * the wire) before it is closed.
   */
  startDraining(silentGraceMs = 1000): void {
    this.drainingFlag = true;
    for (const c of this.connections.values()) for (const res of c.responses) if (!res.headersSent) res.setHeader('Connection', 'close');
    setTimeout(() => {
      for (const [socket, c] of this.connections) if (c.responses.size === 0 && !c.upgraded && socket.bytesRead === 0) socket.destroy();
    }, silentGraceMs).unref();
  }

  /** Closes every connection, busy or not (when the drain's grace period is over); returns how many. */
  destroyAll(): number {
    const n = this.connections.size;
    for (const socket of this.connections.keys()) socket.destroy();
    return n;
  }
}

/**
 * Whom a connection counts against: an IPv4 address, or an IPv6 /64 (one client, or one home or
 * cloud subnet, usually holds a whole /64: counting each address alone would let it take every slot).
 */
export function clientKey(remoteAddress: string): string {
  const address = remoteAddress.replace(/^::ffff:(?=\d+\.)/, '');
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
