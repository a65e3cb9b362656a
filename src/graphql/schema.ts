import 'reflect-metadata';
import { ArtifactUploadResolver, UploadPlanResolver } from './multipart/multipart.types.js';
import { CleanupResolver } from './cleanup/cleanup.resolver.js';
import { RetentionResolver } from './retention/retention.resolver.js';
import type { GraphQLSchema } from 'graphql';
import { type PubSub, buildSchema } from 'type-graphql';
import { AuditResolver } from './audit.resolver.js';
import { DeploymentResolver } from './deployment.resolver.js';
import { EventsResolver } from './events.resolver.js';
import { ModelResolver } from './model.resolver.js';
import { TokenResolver } from './token.resolver.js';
import { ArtifactResolver, VersionResolver } from './version.resolver.js';
import { WebhookResolver } from './webhook.resolver.js';
import { DeploymentObservedResolver, GovernanceResolver } from './governance/governance.resolver.js';
import { ComparisonBaselineResolver, LineageResolver } from './search/search.resolver.js';

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

/** The root types' descriptions (type-graphql has no option for them). */
const ROOT_DESCRIPTIONS = {
  query: 'Reads. Every request needs a bearer token; a scoped token sees only its models',
  mutation: 'Writes. Each is audited; a refused one writes nothing but its audit and deployment records',
  subscription: 'Live events over WebSocket (graphql-ws, subprotocol graphql-transport-ws) on /graphql; the token goes in connection_init',
};

/** The executable schema; built once per process (type-graphql metadata is global). */
export function buildRegistrySchema(): Promise<GraphQLSchema> {
  built ??= buildSchema({
    resolvers: [
      ModelResolver, VersionResolver, ArtifactResolver, DeploymentResolver, AuditResolver, TokenResolver, EventsResolver, CleanupResolver, WebhookResolver, RetentionResolver,
      GovernanceResolver, DeploymentObservedResolver, LineageResolver, ComparisonBaselineResolver, ArtifactUploadResolver, UploadPlanResolver,
    ],
    pubSub: NO_TOPICS,
    validate: false,
  }).then((schema) => {
    for (const [root, description] of [
      [schema.getQueryType(), ROOT_DESCRIPTIONS.query],
      [schema.getMutationType(), ROOT_DESCRIPTIONS.mutation],
      [schema.getSubscriptionType(), ROOT_DESCRIPTIONS.subscription],
    ] as const) {
      if (root) root.description = description;
    }
    return schema;
  });
  return built;
}
