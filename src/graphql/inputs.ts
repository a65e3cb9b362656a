import 'reflect-metadata';
import { Field, Float, ID, InputType, Int } from 'type-graphql';
import { DateTimeScalar, JsonScalar } from './scalars.js';
import { DatasetInput, VersionSourceInput } from './search/search.inputs.js';

@InputType({ description: 'One evaluation result' })
export class MetricInput {
  @Field(() => String, { description: 'Metric name, ^[A-Za-z][A-Za-z0-9_.-]{0,63}$, unique within the version' }) name!: string;
  @Field(() => Float, { description: 'A finite number' }) value!: number;
}

@InputType({ description: 'One file of the version, as it will be uploaded' })
export class ArtifactInput {
  @Field(() => String, { description: 'Relative path inside the version, e.g. "model.pkl" (no "..", no leading "/")' }) path!: string;
  @Field(() => Float, { description: 'Exact size in bytes' }) sizeBytes!: number;
  @Field(() => String, { description: 'SHA-256 of the bytes, 64 lowercase hex: completion checks it' }) sha256!: string;
  @Field(() => String, { nullable: true, defaultValue: 'application/octet-stream', description: 'The media type to store and serve it with' }) contentType!: string;
  @Field(() => [String], {
    nullable: true,
    description: "Only for a file uploaded in parts: each part's SHA-256 (64 lowercase hex, part 1 first), with the part size uploadPlan gives. Each part URL is then signed with its x-amz-checksum-sha256 (send the headers the URL lists), and storage that checks checksums (AWS, MinIO, the embedded store) refuses other bytes; completion checks the whole file's sha256 in every case. Recorded with the multipart upload: an upload begun again later (its marker gone) has no part checksums. Absent: no part checksums",
  })
  partSha256?: string[] | null;
}

@InputType({ description: 'How the version was trained; every field optional' })
export class TrainingInfoInput {
  @Field(() => DateTimeScalar, { nullable: true, description: 'When training finished' }) trainedAt?: Date | null;
  @Field(() => Float, { nullable: true, description: 'Training time in seconds' }) durationSeconds?: number | null;
  @Field(() => Int, { nullable: true, description: 'Rows used for training' }) trainingSamples?: number | null;
  @Field(() => Int, { nullable: true, description: 'Rows used for validation' }) validationSamples?: number | null;
}

@InputType({ description: 'A new version: its metadata and the artifacts it will upload' })
export class RegisterModelVersionInput {
  @Field(() => String, { description: '^[a-z0-9][a-z0-9_-]{0,99}$; the model is created on first registration' }) modelName!: string;
  @Field(() => String, { description: 'Free text, e.g. random_forest' }) modelType!: string;
  @Field(() => String, { description: 'The dataset version it was trained on' }) datasetVersion!: string;
  @Field(() => [MetricInput], { description: 'Evaluation results, kept in this order' }) metrics!: MetricInput[];
  /**
   * The contract writes `JSON = {}`; graphql-js 16 cannot express an object default for a custom
   * scalar (printing and introspection throw), so the default is applied by the resolver instead.
   */
  @Field(() => JsonScalar, { nullable: true, description: 'A JSON object; absent or null means {}' }) hyperparameters?: unknown;
  @Field(() => [String], { nullable: true, defaultValue: [], description: 'Input feature names, in order' }) featureNames?: string[] | null;
  @Field(() => TrainingInfoInput, { nullable: true, description: 'How it was trained' }) training?: TrainingInfoInput | null;
  @Field(() => String, { nullable: true, description: 'Free text' }) description?: string | null;
  @Field(() => [String], { nullable: true, defaultValue: [], description: 'Labels (at most 50)' }) tags?: string[] | null;
  @Field(() => [ArtifactInput], { description: 'One or more' }) artifacts!: ArtifactInput[];
  @Field(() => String, { nullable: true, description: 'Safe retries: the same key and input within 24 h give the same version (with fresh upload URLs while it is PENDING_UPLOAD); the same key with another input is a CONFLICT. Per model; 1-200 characters of A-Z a-z 0-9 . _ : -' })
  idempotencyKey?: string | null;
  @Field(() => VersionSourceInput, { nullable: true, description: 'Where it came from: git commit, repository, pipeline run' }) source?: VersionSourceInput | null;
  @Field(() => DatasetInput, { nullable: true, description: 'The training data: uri and digest' }) dataset?: DatasetInput | null;
  @Field(() => JsonScalar, { nullable: true, description: 'Searchable labels: a JSON object of strings (at most 32; keys ^[A-Za-z0-9][A-Za-z0-9_./-]{0,62}$, values up to 256 characters)' }) labels?: unknown;
}

@InputType({ description: 'Promotion succeeds only if candidate.metric >= production.metric * minRatio (or there is no production version).' })
export class ImprovementPolicyInput {
  /** The contract had `String!`; optional since primaryMetric (an input may loosen: every old request stays valid). */
  @Field(() => String, { nullable: true, description: "The metric to compare; null or absent: the model's primaryMetric (roc_auc unless set)" }) metric?: string | null;
  @Field(() => Float, { nullable: true, defaultValue: 1.0, description: 'The candidate must reach at least this share of the deployed value (1.0: no worse)' }) minRatio!: number;
}

@InputType({ description: 'A promotion: which READY version, where, and the checks to make first' })
export class PromoteInput {
  @Field(() => ID, { description: 'The READY version to deploy' }) versionId!: string;
  @Field(() => String, { nullable: true, defaultValue: 'production', description: '^[a-z][a-z0-9-]{0,31}$' }) environment?: string | null;
  @Field(() => String, { nullable: true, description: 'Why, for the deployment record and the audit log' }) reason?: string | null;
  @Field(() => ID, { nullable: true, description: 'Compare-and-set: CONFLICT unless this version is deployed now. Null or absent: no check (use expectNothingDeployed for an empty environment)' })
  expectedCurrentVersionId?: string | null;
  @Field(() => Boolean, { nullable: true, description: 'Compare-and-set on an empty environment: CONFLICT if any version is deployed there now. Not together with expectedCurrentVersionId' })
  expectNothingDeployed?: boolean | null;
  @Field(() => ImprovementPolicyInput, { nullable: true, description: 'Refuse (FAILED_PRECONDITION, recorded as a FAILED deployment) unless the candidate is good enough' }) requireImprovement?: ImprovementPolicyInput | null;
  @Field(() => String, { nullable: true, description: 'Safe retries: the same key and input within 24 h give the same deployment, or the same refusal; the same key with another input is a CONFLICT. Per model; 1-200 characters of A-Z a-z 0-9 . _ : -' })
  idempotencyKey?: string | null;
}

@InputType({ description: 'A rollback: which environment, and to what' })
export class RollbackInput {
  @Field(() => String, { description: 'The model' }) modelName!: string;
  @Field(() => String, { nullable: true, defaultValue: 'production', description: 'The environment, ^[a-z][a-z0-9-]{0,31}$' }) environment?: string | null;
  @Field(() => ID, { nullable: true, description: 'Default: the version deployed before the current one' }) toVersionId?: string | null;
  @Field(() => String, { nullable: true, description: 'Why, for the deployment record and the audit log' }) reason?: string | null;
  @Field(() => String, { nullable: true, description: 'Safe retries: the same key and input within 24 h give the same deployment, or the same refusal; the same key with another input is a CONFLICT. Per model; 1-200 characters of A-Z a-z 0-9 . _ : -' })
  idempotencyKey?: string | null;
}
