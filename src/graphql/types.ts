import 'reflect-metadata';
import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { Artifact, ModelVersion as DomainVersion } from '../domain/model.js';
import { DateTimeScalar, JsonScalar } from './scalars.js';

/**
 * The GraphQL object types. Resolvers return domain objects; fields computed from other data
 * (loaders, arguments) are declared by @FieldResolver in the resolvers, not here. One module,
 * because the types refer to each other.
 */
export enum ModelVersionStatus {
  PENDING_UPLOAD = 'PENDING_UPLOAD',
  READY = 'READY',
  FAILED = 'FAILED',
  ARCHIVED = 'ARCHIVED',
}
export enum DeploymentAction {
  PROMOTE = 'PROMOTE',
  ROLLBACK = 'ROLLBACK',
}
export enum DeploymentStatus {
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
}
export enum SortDirection {
  ASC = 'ASC',
  DESC = 'DESC',
}
registerEnumType(ModelVersionStatus, { name: 'ModelVersionStatus' });
registerEnumType(DeploymentAction, { name: 'DeploymentAction' });
registerEnumType(DeploymentStatus, { name: 'DeploymentStatus' });
registerEnumType(SortDirection, { name: 'SortDirection' });

@ObjectType()
export class Metric {
  @Field(() => String) name!: string;
  @Field(() => Float) value!: number;
}

@ObjectType()
export class HttpHeader {
  @Field(() => String) name!: string;
  @Field(() => String) value!: string;
}

@ObjectType({ description: 'A URL signed for one method on one object, valid until expiresAt.' })
export class PresignedUrl {
  @Field(() => String) url!: string;
  @Field(() => String, { description: 'PUT for uploads, GET for downloads' }) method!: string;
  @Field(() => [HttpHeader], { description: 'Headers the client must send exactly' }) headers!: HttpHeader[];
  @Field(() => DateTimeScalar) expiresAt!: Date;
}

/** An artifact together with the version it belongs to (for downloadUrl). */
export type ArtifactParent = Artifact & { version: DomainVersion };

@ObjectType('Artifact')
export class ArtifactType {
  @Field(() => String, { description: 'Relative path inside the version, e.g. "model.pkl"' }) path!: string;
  @Field(() => Float, { description: 'Bytes; Float because GraphQL Int is 32-bit' }) sizeBytes!: number;
  @Field(() => String, { description: '64 lowercase hex' }) sha256!: string;
  @Field(() => String) contentType!: string;
}

@ObjectType()
export class TrainingInfo {
  @Field(() => DateTimeScalar, { nullable: true }) trainedAt!: Date | null;
  @Field(() => Float, { nullable: true }) durationSeconds!: number | null;
  @Field(() => Int, { nullable: true }) trainingSamples!: number | null;
  @Field(() => Int, { nullable: true }) validationSamples!: number | null;
}

@ObjectType('UploadVerification', { description: 'The check that completeModelVersionUpload runs (in the background for large versions)' })
export class UploadVerificationType {
  @Field(() => Boolean, { description: 'A completion is reading the files back now; false: not started, or stopped (call complete again)' })
  running!: boolean;
  @Field(() => Float) bytesVerified!: number;
  @Field(() => Float) bytesTotal!: number;
  @Field(() => DateTimeScalar, { nullable: true }) startedAt!: Date | null;
  @Field(() => DateTimeScalar, { nullable: true, description: 'The last progress report (every few seconds while running)' }) updatedAt!: Date | null;
}

@ObjectType('ModelVersion')
export class ModelVersionType {
  @Field(() => ID, { description: 'v{YYYYMMDDHHMMSS}_{8 lowercase hex}' }) id!: string;
  @Field(() => String) modelName!: string;
  @Field(() => Int, { description: '1, 2, 3 ... per model, in registration order, no gaps' }) number!: number;
  @Field(() => String) modelType!: string;
  @Field(() => ModelVersionStatus) status!: ModelVersionStatus;
  @Field(() => String, { nullable: true }) failureReason!: string | null;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field(() => String) datasetVersion!: string;
  @Field(() => [Metric], { description: 'In the order registered' }) metrics!: Metric[];
  @Field(() => JsonScalar, { description: 'A JSON object, returned exactly as registered' }) hyperparameters!: unknown;
  @Field(() => [String]) featureNames!: string[];
  @Field(() => TrainingInfo) training!: TrainingInfo;
  @Field(() => [String]) tags!: string[];
  @Field(() => DateTimeScalar) createdAt!: Date;
  @Field(() => String) createdBy!: string;
}

@ObjectType('Model')
export class ModelType {
  @Field(() => String) name!: string;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field(() => DateTimeScalar) createdAt!: Date;
  @Field(() => Int) versionCount!: number;
}

@ObjectType('Deployment')
export class DeploymentType {
  @Field(() => ID) id!: string;
  @Field(() => String) modelName!: string;
  @Field(() => String) environment!: string;
  @Field(() => DeploymentAction) action!: DeploymentAction;
  @Field(() => DeploymentStatus) status!: DeploymentStatus;
  @Field(() => String, { nullable: true }) reason!: string | null;
  @Field(() => String, { nullable: true }) failureReason!: string | null;
  @Field(() => DateTimeScalar) deployedAt!: Date;
  @Field(() => String) deployedBy!: string;
}

@ObjectType('AuditEvent')
export class AuditEventType {
  @Field(() => ID) id!: string;
  @Field(() => Int, { description: '1, 2, 3 ... over the whole registry, no gaps' }) sequence!: number;
  @Field(() => DateTimeScalar) occurredAt!: Date;
  @Field(() => String, { description: 'The authenticated principal, never client-supplied text' }) actor!: string;
  @Field(() => String) action!: string;
  @Field(() => String, { nullable: true }) modelName!: string | null;
  @Field(() => String, { nullable: true }) versionId!: string | null;
  @Field(() => JsonScalar) details!: unknown;
  @Field(() => String, { description: 'Hash of event sequence-1 (64 zeros for the first)' }) previousHash!: string;
  @Field(() => String, { description: "SHA-256 over previousHash and the event's canonical JSON" }) hash!: string;
}

@ObjectType()
export class AuditVerification {
  @Field(() => Boolean) valid!: boolean;
  @Field(() => Int) eventsChecked!: number;
  @Field(() => Int, { nullable: true }) firstInvalidSequence!: number | null;
  @Field(() => String, { nullable: true }) headHash!: string | null;
  @Field(() => String, { nullable: true }) message!: string | null;
  @Field(() => Int, { description: 'Signed checkpoints found in storage and checked (see docs/operations.md)' }) checkpointsChecked!: number;
  @Field(() => Float, { nullable: true, description: 'The sequence the newest valid signed checkpoint covers; null when there is none yet' })
  newestCheckpointSequence!: number | null;
}

@ObjectType()
export class VersionComparison {
  @Field(() => Int, { description: '1 = best by the chosen metric and direction' }) rank!: number;
  @Field(() => ModelVersionType) version!: DomainVersion;
  @Field(() => Float, { nullable: true, description: 'The chosen metric; versions lacking it sort last' }) value!: number | null;
  @Field(() => Float, { nullable: true, description: "Value minus the production version's value, when both exist" }) deltaVsProduction!: number | null;
}

@ObjectType()
export class StatusCount {
  @Field(() => ModelVersionStatus) status!: ModelVersionStatus;
  @Field(() => Int) count!: number;
}

@ObjectType()
export class RegistryStats {
  @Field(() => Int) models!: number;
  @Field(() => Int) versions!: number;
  @Field(() => [StatusCount]) versionsByStatus!: StatusCount[];
  @Field(() => Int) deployments!: number;
  @Field(() => Int) auditEvents!: number;
  @Field(() => Int, { description: 'Writes committed but not yet finished after a grace period (MongoDB only; recovery finishes them, a lasting count is logged)' })
  unfinishedWrites!: number;
}

@ObjectType()
export class PageInfo {
  @Field(() => Boolean) hasNextPage!: boolean;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

@ObjectType()
export class ModelEdge {
  @Field(() => String) cursor!: string;
  @Field(() => ModelType) node!: unknown;
}
@ObjectType()
export class ModelConnection {
  @Field(() => [ModelEdge]) edges!: ModelEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
  @Field(() => Int) totalCount!: number;
}
@ObjectType()
export class ModelVersionEdge {
  @Field(() => String) cursor!: string;
  @Field(() => ModelVersionType) node!: unknown;
}
@ObjectType()
export class ModelVersionConnection {
  @Field(() => [ModelVersionEdge]) edges!: ModelVersionEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
  @Field(() => Int) totalCount!: number;
}
@ObjectType()
export class DeploymentEdge {
  @Field(() => String) cursor!: string;
  @Field(() => DeploymentType) node!: unknown;
}
@ObjectType()
export class DeploymentConnection {
  @Field(() => [DeploymentEdge]) edges!: DeploymentEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
  @Field(() => Int) totalCount!: number;
}
@ObjectType()
export class AuditEventEdge {
  @Field(() => String) cursor!: string;
  @Field(() => AuditEventType) node!: unknown;
}
@ObjectType()
export class AuditEventConnection {
  @Field(() => [AuditEventEdge]) edges!: AuditEventEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
  @Field(() => Int) totalCount!: number;
}

@ObjectType()
export class ArtifactUpload {
  @Field(() => String) path!: string;
  @Field(() => PresignedUrl) upload!: PresignedUrl;
}

@ObjectType()
export class RegisterModelVersionPayload {
  @Field(() => ModelVersionType) version!: DomainVersion;
  @Field(() => [ArtifactUpload]) uploads!: ArtifactUpload[];
}

/** Turns a store page into a GraphQL connection. */
export function toConnection<T>(page: { items: { node: T; cursor: string }[]; hasNextPage: boolean; totalCount: number }) {
  const edges = page.items.map((i) => ({ cursor: i.cursor, node: i.node }));
  return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null }, totalCount: page.totalCount };
}
