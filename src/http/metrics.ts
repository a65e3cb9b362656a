import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Route labels are a closed set, so a client cannot grow the metric's cardinality. */
export type RouteLabel = 'graphql' | 'download' | 'manifest' | 'artifacts' | 'healthz' | 'readyz' | 'metrics' | 'other';

export function routeLabel(path: string): RouteLabel {
  if (path === '/graphql') return 'graphql';
  if (path.startsWith('/v1/models/')) return path.endsWith('/manifest') ? 'manifest' : 'download';
  if (path.startsWith('/artifacts/')) return 'artifacts';
  if (path === '/healthz' || path === '/readyz' || path === '/metrics') return path.slice(1) as RouteLabel;
  return 'other';
}

/** Prometheus metrics of one server: requests by route and status, their latency, and the process. */
export class HttpMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({ name: 'registry_http_requests_total', help: 'HTTP requests', labelNames: ['route', 'method', 'status'] as const, registers: [this.registry] });
  private readonly duration = new Histogram({
    name: 'registry_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  private readonly connectionEvents = new Counter({
    name: 'registry_http_connections_closed_by_limit_total',
    help: 'Connections refused at a cap, or idle ones closed to make room',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Open connections, read when metrics are scraped. */
  trackOpenConnections(count: () => number): void {
    new Gauge({ name: 'registry_http_open_connections', help: 'Open HTTP connections', registers: [this.registry], collect() { this.set(count()); } });
  }

  connectionEvent(reason: string): void {
    this.connectionEvents.inc({ reason });
  }

  observe(route: RouteLabel, method: string, status: number, seconds: number): void {
    this.requests.inc({ route, method: method.length <= 7 ? method : 'OTHER', status: String(status) });
    this.duration.observe({ route }, seconds);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
