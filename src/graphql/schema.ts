import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { type PubSub, buildSchema } from 'type-graphql';
import { AuditResolver } from './audit.resolver.js';
import { DeploymentResolver } from './deployment.resolver.js';
import { EventsResolver } from './events.resolver.js';
import { ModelResolver } from './model.resolver.js';
import { TokenResolver } from './token.resolver.js';
import { ArtifactResolver, VersionResolver } from './version.resolver.js';
import { WebhookResolver } from './webhook.resolver.js';

let built: Promise<GraphQLSchema> | null = null;

/**
 * type-graphql refuses @Subscription fields without a PubSub, even when each field brings its own
 * `subscribe` (ours read the audit log forward through the store, so every process sees every
 * change). This one is never called: topics are not used.
 */
const NO_TOPICS: PubSub = {
  publish() {
    throw new Error('registry subscriptions do not use PubSub topics');
  },
  subscribe() {
    throw new Error('registry subscriptions do not use PubSub topics');
  },
};

/** The executable schema; built once per process (type-graphql metadata is global). */
export function buildRegistrySchema(): Promise<GraphQLSchema> {
  built ??= buildSchema({
    resolvers: [ModelResolver, VersionResolver, ArtifactResolver, DeploymentResolver, AuditResolver, TokenResolver, EventsResolver, WebhookResolver],
    pubSub: NO_TOPICS,
    validate: false,
  });
  return built;
}
