import type { Logger } from 'pino';
import type { Actor } from '../../domain/model.js';
import type { Services } from '../../services/services.js';
import { type GraphQLContext, type Loaders, createLoaders } from '../context.js';

/**
 * The context of one GraphQL request over HTTP. Its loaders and its logger are made on first use
 * (the inference query needs neither). The getters live on the prototype, so they stay lazy when
 * Apollo copies the context (Object.assign onto Object.create(prototype)).
 */
export class RequestContext implements GraphQLContext {
  private loaderSet: Loaders | undefined;

  constructor(
    readonly services: Services,
    readonly actor: Actor,
    readonly requestId: string,
    readonly outcome: { requestErrorsOnly: boolean },
    private readonly requestLog: () => Logger,
  ) {}

  get loaders(): Loaders {
    return (this.loaderSet ??= createLoaders(this.services));
  }

  get log(): Logger {
    return this.requestLog();
  }
}
