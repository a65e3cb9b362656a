/**
 * `model-registry/client`: the typed TypeScript client of the model registry, on its public
 * GraphQL API and documented HTTP routes only.
 */
export { RegistryClient } from './registry-client.js';
export type { ClientOptions } from './transport.js';
export type { PushFile, PushOptions, PushResult } from './push.js';
export { pushIdempotencyKey } from './push.js';
export type { PullOptions, PullResult } from './pull.js';
export type { PromoteOptions, RollbackOptions } from './deploy.js';
export type { Manifest, ManifestAnswer } from './manifest.js';
export type { ProductionChange, ProductionVersion, WatchOptions } from './watch.js';
export type { ProgressEvent, ProgressListener } from './progress.js';
export type { RetryOptions } from './retry.js';
export * from './errors.js';
export * from './generated/graphql.js';
