import 'reflect-metadata';
import { Arg, Float, Resolver, Root, Subscription } from 'type-graphql';
import type { SubscribeResolverData } from 'type-graphql';
import type { AuditEvent, Deployment } from '../domain/model.js';
import type { GraphQLContext } from './context.js';
import { AuditEventType, DeploymentType } from './types.js';

type EventArgs = { afterSequence?: number | null; modelName?: string | null; actions?: string[] | null };
type DeploymentArgs = { modelName: string; environment?: string | null };

/** Subscriptions (graphql-ws on /graphql): the audit log read forward. */
@Resolver()
export class EventsResolver {
  @Subscription(() => AuditEventType, {
    description: 'Stored events after afterSequence (all when null), then each new one as it is committed: in sequence order, no gap, no duplicate. Resume with the last sequence received.',
    subscribe: ({ args, context }: SubscribeResolverData<unknown, EventArgs, GraphQLContext>) =>
      context.services.events.registryEvents(context.actor, {
        afterSequence: args.afterSequence ?? null,
        modelName: args.modelName ?? null,
        actions: args.actions ?? null,
      }),
  })
  registryEvents(
    @Root() event: AuditEvent,
    @Arg('afterSequence', () => Float, { nullable: true, description: 'The last sequence received (resume after it); null: from the first event' }) _afterSequence: number | null,
    @Arg('modelName', () => String, { nullable: true, description: 'Only events about this model' }) _modelName: string | null,
    @Arg('actions', () => [String], { nullable: true, description: 'Only events with these actions (AuditAction names)' }) _actions: string[] | null,
  ): AuditEvent {
    return event;
  }

  @Subscription(() => DeploymentType, {
    description: "The environment's live deployment first (if any), then each later change of that pointer (promote, rollback).",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, DeploymentArgs, GraphQLContext>) =>
      context.services.events.deploymentChanged(context.actor, args.modelName, args.environment ?? null),
  })
  deploymentChanged(
    @Root() deployment: Deployment,
    @Arg('modelName', () => String, { description: 'The model' }) _modelName: string,
    @Arg('environment', () => String, { nullable: true, defaultValue: 'production', description: 'The environment' }) _environment: string | null,
  ): Deployment {
    return deployment;
  }
}
