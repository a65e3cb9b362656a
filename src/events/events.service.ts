import { POINTER_MOVE_ACTIONS, TOKEN_ACTION_PREFIX } from '../domain/audit-actions.js';
import { InvalidArgumentError, NotFoundError } from '../domain/errors.js';
import { DEFAULT_ENVIRONMENT } from '../domain/limits.js';
import type { AuditEvent, Deployment } from '../domain/model.js';
import { type Principal, scopeAllows } from '../domain/token.js';
import { checkEnvironment, checkModelName, checkStringList } from '../domain/validation.js';
import type { RegistryStore } from '../stores/registry.store.js';
import { AuditFeed, type FeedSettings } from './audit-feed.js';
import { type StreamSettings, auditStream } from './event-stream.js';

export type EventSettings = FeedSettings & StreamSettings;

const MAX_ACTIONS = 50;

/**
 * Registry events: the audit log read forward, with the same visibility as the `auditEvents`
 * query (a scoped token sees its models' events only; token events are for admins only).
 */
export class EventsService {
  readonly feed: AuditFeed;

  constructor(
    private readonly store: RegistryStore,
    private readonly settings: EventSettings,
    onError?: (err: unknown) => void,
  ) {
    this.feed = new AuditFeed(store, settings, onError);
  }

  /** What `principal` may see of the log: the query's rules, event by event. */
  private visible(principal: Principal, e: AuditEvent): boolean {
    if (principal.role !== 'admin' && e.action.startsWith(TOKEN_ACTION_PREFIX)) return false;
    if (principal.modelScope === null) return true;
    return e.modelName !== null && scopeAllows(principal.modelScope, e.modelName);
  }

  /** Stored events after `afterSequence` (all when null), then new ones as they are committed. */
  registryEvents(
    principal: Principal,
    args: { afterSequence: number | null; modelName: string | null; actions: string[] | null },
  ): AsyncIterableIterator<AuditEvent> {
    const after = args.afterSequence ?? 0;
    if (!Number.isSafeInteger(after) || after < 0) throw new InvalidArgumentError('afterSequence', 'must be a whole number, 0 or more');
    if (args.modelName !== null) checkModelName('modelName', args.modelName);
    const actions = args.actions === null ? null : new Set(checkStringList('actions', args.actions, MAX_ACTIONS, 100));
    const model = args.modelName;
    return auditStream(this.store, this.feed, after, this.settings, (e) =>
      this.visible(principal, e) && (model === null || e.modelName === model) && (actions === null || actions.has(e.action)) ? e : null,
    );
  }

  /**
   * The live deployment of (model, environment) first, if any, then each later move of that
   * pointer (promote, rollback), read from the pointer-move events of the log.
   */
  async deploymentChanged(principal: Principal, modelName: string, environment: string | null): Promise<AsyncIterableIterator<Deployment>> {
    checkModelName('modelName', modelName);
    const env = checkEnvironment('environment', environment ?? DEFAULT_ENVIRONMENT);
    if (!scopeAllows(principal.modelScope, modelName)) throw new NotFoundError(`Model "${modelName}" does not exist`);
    // The cursor is taken before the pointer is read, and may be up to one poll behind the store:
    // moves before the current one can follow in the stream. Each pointer move has the next
    // revision, so only revisions above the last one sent go out: none twice, none older.
    const from = await this.feed.join();
    let lastRevision = 0;
    try {
      const pointer = await this.store.getPointer(modelName, env);
      const [current] = pointer ? await this.store.getDeployments([pointer.deploymentId]) : [];
      if (!current && !(await this.store.getModel(modelName)) && !pointer) throw new NotFoundError(`Model "${modelName}" does not exist`);
      lastRevision = current?.revision ?? 0;
      const moves = auditStream(this.store, this.feed, from, this.settings, async (e) => {
        if (e.modelName !== modelName || !POINTER_MOVE_ACTIONS.includes(e.action) || e.details.environment !== env) return null;
        const id = e.details.deploymentId;
        if (typeof id !== 'string') return null;
        const [d] = await this.store.getDeployments([id]);
        if (!d || (d.revision ?? 0) <= lastRevision) return null;
        lastRevision = d.revision ?? lastRevision;
        return d;
      });
      return prepend(current ?? null, moves);
    } finally {
      this.feed.leave();
    }
  }

  stop(): Promise<void> {
    return this.feed.stop();
  }
}

/** `first` (when not null), then everything `rest` yields; return() closes `rest`. */
function prepend<T>(first: T | null, rest: AsyncIterableIterator<T>): AsyncIterableIterator<T> {
  let pending = first;
  return {
    next: () => {
      if (pending === null) return rest.next();
      const value = pending;
      pending = null;
      return Promise.resolve({ done: false, value });
    },
    return: (value?: unknown) => rest.return!(value),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
