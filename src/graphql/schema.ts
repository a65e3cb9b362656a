import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { AuditResolver } from './audit.resolver.js';
import { DeploymentResolver } from './deployment.resolver.js';
import { ModelResolver } from './model.resolver.js';
import { TokenResolver } from './token.resolver.js';
import { ArtifactResolver, VersionResolver } from './version.resolver.js';

let built: Promise<GraphQLSchema> | null = null;

/** The executable schema; built once per process (type-graphql metadata is global). */
export function buildRegistrySchema(): Promise<GraphQLSchema> {
  built ??= buildSchema({
    resolvers: [ModelResolver, VersionResolver, ArtifactResolver, DeploymentResolver, AuditResolver, TokenResolver],
    validate: false,
  });
  return built;
}
