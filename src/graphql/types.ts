import 'reflect-metadata';
import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { Artifact, ModelVersion as DomainVersion } from '../domain/model.js';
import { AuditActionEnum, HttpMethod } from './enums.js';
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
  UNDEPLOY = 'UNDEPLOY',
}
export enum DeploymentStatus {
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
}
export enum SortDirection {
  ASC = 'ASC',
  DESC = 'DESC',
}
registerEnumType(ModelVersionStatus, {
  name: 'ModelVersionStatus',
  description: "A version's life cycle: PENDING_UPLOAD, then READY or FAILED; READY versions may be ARCHIVED",
  valuesConfig: {
    PENDING_UPLOAD: { description: 'Registered, artifacts not yet verified' },
    READY: { description: 'Every artifact present with the declared size and sha256' },
    FAILED: { description: 'Verification failed; failureReason says why' },
    ARCHIVED: { description: 'Retired; keeps its metadata, history and artifacts (still downloadable until purged past retention: see purgedAt)' },
  },
});
registerEnumType(DeploymentAction, {
  name: 'DeploymentAction',
  description: 'What a deployment did to its environment',
  valuesConfig: {
    PROMOTE: { description: 'promoteModelVersion: put a READY version in place' },
    ROLLBACK: { description: 'rollbackModel: put an earlier version back' },
    UNDEPLOY: { description: 'undeployModel: emptied the environment (no version; previousVersion is the one taken down)' },
  },
});
registerEnumType(DeploymentStatus, {
  name: 'DeploymentStatus',
  description: 'Whether a deployment moved the environment',
  valuesConfig: {
    SUCCEEDED: { description: 'The environment now (or once) ran this version' },
    FAILED: { description: 'Refused (improvement policy, state); failureReason says why; nothing moved' },
  },
});
registerEnumType(SortDirection, {
  name: 'SortDirection',
  description: 'Which end of a ranking is best',
  valuesConfig: { ASC: { description: 'Lowest first (losses, error rates)' }, DESC: { description: 'Highest first (accuracy, AUC)' } },
});

@ObjectType({ description: 'A named evaluation result of a version, e.g. roc_auc 0.91' })
export class Metric {
  @Field(() => String, { description: 'The metric name, e.g. roc_auc' }) name!: string;
  @Field(() => Float, { description: 'A finite number' }) value!: number;
}

@ObjectType({ description: 'One HTTP header a presigned request must carry' })
export class HttpHeader {
  @Field(() => String, { description: 'Header name, e.g. Content-Type' }) name!: string;
  @Field(() => String, { description: 'Header value, to send exactly' }) value!: string;
}

@ObjectType({ description: 'A URL signed for one method on one object, valid until expiresAt.' })
export class PresignedUrl {
  @Field(() => String, { description: 'The signed URL: a secret until it expires; never log it' }) url!: string;
  @Field(() => HttpMethod, { description: 'PUT for uploads, GET for downloads (an enum since issue 17; was String, the same values)' }) method!: string;
  @Field(() => [HttpHeader], { description: 'Headers the client must send exactly (e.g. Content-Type)' }) headers!: HttpHeader[];
  @Field(() => DateTimeScalar, { description: 'When the signature stops working' }) expiresAt!: Date;
}

/** An artifact together with the version it belongs to (for downloadUrl). */
export type ArtifactParent = Artifact & { version: DomainVersion };

@ObjectType('Artifact', { description: 'One file of a version, declared at registration and verified on completion' })
export class ArtifactType {
  @Field(() => String, { description: 'Relative path inside the version, e.g. "model.pkl"' }) path!: string;
  @Field(() => Float, { description: 'Bytes; Float because GraphQL Int is 32-bit' }) sizeBytes!: number;
  @Field(() => String, { description: '64 lowercase hex' }) sha256!: string;
  @Field(() => String, { description: 'The media type the file is stored and served with' }) contentType!: string;
}

@ObjectType({ description: 'How the version was trained, as registered; every field optional' })
export class TrainingInfo {
  @Field(() => DateTimeScalar, { nullable: true, description: 'When training finished' }) trainedAt!: Date | null;
  @Field(() => Float, { nullable: true, description: 'Training time in seconds' }) durationSeconds!: number | null;
  @Field(() => Int, { nullable: true, description: 'Rows used for training' }) trainingSamples!: number | null;
  @Field(() => Int, { nullable: true, description: 'Rows used for validation' }) validationSamples!: number | null;
}

@ObjectType('UploadVerification', { description: 'The check that completeModelVersionUpload runs (in the background for large versions)' })
export class UploadVerificationType {
  @Field(() => Boolean, { description: 'A completion is reading the files back now; false: not started, or stopped (call complete again)' })
  running!: boolean;
  @Field(() => Float, { description: 'Bytes read back and hashed so far' }) bytesVerified!: number;
  @Field(() => Float, { description: 'Bytes of all the artifacts together' }) bytesTotal!: number;
  @Field(() => DateTimeScalar, { nullable: true, description: 'When the running (or last) check began; null if never' }) startedAt!: Date | null;
  @Field(() => DateTimeScalar, { nullable: true, description: 'The last progress report (every few seconds while running)' }) updatedAt!: Date | null;
}

@ObjectType('LegalHold', { description: 'A legal hold on a version (setLegalHold, admin): while set, the version cannot be archived nor purged' })
export class LegalHoldType {
  @Field(() => String, { description: 'Why, as the admin gave it (e.g. a case reference)' }) reason!: string;
  @Field(() => String, { description: 'Who set it (the authenticated principal)' }) setBy!: string;
  @Field(() => DateTimeScalar, { description: 'When it was set' }) setAt!: Date;
}

@ObjectType('ModelVersion', { description: 'One registered version of a model: its metadata, metrics, artifacts and state' })
export class ModelVersionType {
  @Field(() => ID, { description: 'v{YYYYMMDDHHMMSS}_{8 lowercase hex}, e.g. v20250126143022_a1b2c3d4' }) id!: string;
  @Field(() => String, { description: 'The model this version belongs to' }) modelName!: string;
  @Field(() => Int, { description: '1, 2, 3 ... per model, in registration order, no gaps' }) number!: number;
  @Field(() => String, { description: 'Free text, e.g. random_forest' }) modelType!: string;
  @Field(() => ModelVersionStatus, { description: 'Where the version is in its life cycle' }) status!: ModelVersionStatus;
  @Field(() => String, { nullable: true, description: 'FAILED only: why verification failed' }) failureReason!: string | null;
  @Field(() => String, { nullable: true, description: 'Free text; updateModelVersion changes it' }) description!: string | null;
  @Field(() => String, { description: 'The dataset version it was trained on, as registered' }) datasetVersion!: string;
  @Field(() => [Metric], { description: 'In the order registered' }) metrics!: Metric[];
  @Field(() => JsonScalar, { description: 'A JSON object, returned exactly as registered' }) hyperparameters!: unknown;
  @Field(() => [String], { description: 'Input feature names, in order' }) featureNames!: string[];
  @Field(() => TrainingInfo, { description: 'How it was trained' }) training!: TrainingInfo;
  @Field(() => [String], { description: 'Labels; updateModelVersion replaces them' }) tags!: string[];
  @Field(() => DateTimeScalar, { description: 'When it was registered' }) createdAt!: Date;
  @Field(() => String, { description: 'Who registered it (the authenticated principal)' }) createdBy!: string;
  @Field(() => LegalHoldType, { nullable: true, description: 'The legal hold on it; null when none (setLegalHold)' }) legalHold!: LegalHoldType | null;
  @Field(() => DateTimeScalar, {
    nullable: true,
    description: 'When its artifacts were purged (purgeModelVersion); null if never. A purged version keeps its metadata and audit history; its downloads answer 410 Gone',
  }) purgedAt!: Date | null;
}

@ObjectType('Model', { description: 'A named model: created by its first registered version, holds every version' })
export class ModelType {
  @Field(() => String, { description: 'Unique, ^[a-z0-9][a-z0-9_-]{0,99}$' }) name!: string;
  @Field(() => String, { nullable: true, description: 'Free text; updateModel changes it' }) description!: string | null;
  @Field(() => DateTimeScalar, { description: 'When its first version was registered' }) createdAt!: Date;
  @Field(() => Int, { description: 'Versions registered so far (numbers 1..versionCount)' }) versionCount!: number;
}

@ObjectType('Deployment', { description: 'One promotion or rollback of a model in an environment, kept forever (FAILED ones too)' })
export class DeploymentType {
  @Field(() => ID, { description: 'Opaque id' }) id!: string;
  @Field(() => String, { description: 'The model deployed' }) modelName!: string;
  @Field(() => String, { description: 'The environment, e.g. production' }) environment!: string;
  @Field(() => DeploymentAction, { description: 'Promotion or rollback' }) action!: DeploymentAction;
  @Field(() => DeploymentStatus, { description: 'Whether it moved the environment' }) status!: DeploymentStatus;
  @Field(() => String, { nullable: true, description: 'Why, as the caller gave it' }) reason!: string | null;
  @Field(() => String, { nullable: true, description: 'FAILED only: why it was refused' }) failureReason!: string | null;
  @Field(() => DateTimeScalar, { description: 'When it happened' }) deployedAt!: Date;
  @Field(() => String, { description: 'Who did it (the authenticated principal)' }) deployedBy!: string;
}

@ObjectType('AuditEvent', { description: 'One entry of the tamper-evident audit log: a hash chain over every change' })
export class AuditEventType {
  @Field(() => ID, { description: 'Opaque id' }) id!: string;
  @Field(() => Int, { description: '1, 2, 3 ... over the whole registry, no gaps' }) sequence!: number;
  @Field(() => DateTimeScalar, { description: 'When it happened' }) occurredAt!: Date;
  @Field(() => String, { description: 'Who did it: the authenticated principal, never client-supplied text' }) actor!: string;
  @Field(() => AuditActionEnum, { description: 'What happened (an enum since issue 17; was String, the same values)' }) action!: string;
  @Field(() => String, { nullable: true, description: 'The model concerned, if any' }) modelName!: string | null;
  @Field(() => String, { nullable: true, description: 'The version concerned, if any' }) versionId!: string | null;
  @Field(() => JsonScalar, { description: 'A JSON object: what the action needs to be understood (environment, reason, ...)' }) details!: unknown;
  @Field(() => String, { description: 'Hash of event sequence-1 (64 zeros for the first)' }) previousHash!: string;
  @Field(() => String, { description: "SHA-256 over previousHash and the event's canonical JSON" }) hash!: string;
}

@ObjectType({ description: 'The result of recomputing the audit hash chain (and checking rows against it)' })
export class AuditVerification {
  @Field(() => Boolean, { description: 'True when every event and row checks out' }) valid!: boolean;
  @Field(() => Int, { description: 'Events recomputed' }) eventsChecked!: number;
  @Field(() => Int, { nullable: true, description: 'Null when valid' }) firstInvalidSequence!: number | null;
  @Field(() => String, { nullable: true, description: 'The hash of the newest event (null for an empty log)' }) headHash!: string | null;
  @Field(() => String, { nullable: true, description: 'What is wrong, when not valid' }) message!: string | null;
  @Field(() => Int, { description: 'Signed checkpoints found in storage and checked (see docs/operations.md)' }) checkpointsChecked!: number;
  @Field(() => Float, { nullable: true, description: 'The sequence the newest valid signed checkpoint covers; null when there is none yet' })
  newestCheckpointSequence!: number | null;
}

@ObjectType({ description: 'One version in a ranking by a metric' })
export class VersionComparison {
  @Field(() => Int, { description: '1 = best by the chosen metric and direction' }) rank!: number;
  @Field(() => ModelVersionType, { description: 'The version ranked' }) version!: DomainVersion;
  @Field(() => Float, { nullable: true, description: 'The chosen metric; versions lacking it sort last' }) value!: number | null;
  @Field(() => Float, { nullable: true, description: "Value minus the production version's value, when both exist" }) deltaVsProduction!: number | null;
}

@ObjectType({ description: 'How many versions are in one status' })
export class StatusCount {
  @Field(() => ModelVersionStatus, { description: 'The status' }) status!: ModelVersionStatus;
  @Field(() => Int, { description: 'Versions in it' }) count!: number;
}

@ObjectType({ description: 'Counts over the whole registry (unscoped tokens only)' })
export class RegistryStats {
  @Field(() => Int, { description: 'Models' }) models!: number;
  @Field(() => Int, { description: 'Versions, in any status' }) versions!: number;
  @Field(() => [StatusCount], { description: 'Versions per status' }) versionsByStatus!: StatusCount[];
  @Field(() => Int, { description: 'Deployments, SUCCEEDED and FAILED' }) deployments!: number;
  @Field(() => Int, { description: 'Audit events' }) auditEvents!: number;
  @Field(() => Int, { description: 'Writes committed but not yet finished after a grace period (MongoDB only; recovery finishes them, a lasting count is logged)' })
  unfinishedWrites!: number;
}

@ObjectType({ description: 'Where to upload one artifact' })
export class ArtifactUpload {
  @Field(() => String, { description: 'The artifact path, as registered' }) path!: string;
  @Field(() => PresignedUrl, { description: 'A presigned PUT for its bytes' }) upload!: PresignedUrl;
}

@ObjectType({ description: 'The registered version and where to upload its artifacts' })
export class RegisterModelVersionPayload {
  @Field(() => ModelVersionType, { description: 'The version, PENDING_UPLOAD (or as it is now, for a replayed idempotency key)' }) version!: DomainVersion;
  @Field(() => [ArtifactUpload], { description: 'One presigned PUT per artifact (empty once the version left PENDING_UPLOAD)' }) uploads!: ArtifactUpload[];
}
