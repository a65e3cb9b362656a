import 'reflect-metadata';
import { Field, Float, ID, InputType, Int } from 'type-graphql';
import { DateTimeScalar, JsonScalar } from './scalars.js';

@InputType()
export class MetricInput {
  @Field(() => String) name!: string;
  @Field(() => Float) value!: number;
}

@InputType()
export class ArtifactInput {
  @Field(() => String) path!: string;
  @Field(() => Float) sizeBytes!: number;
  @Field(() => String) sha256!: string;
  @Field(() => String, { nullable: true, defaultValue: 'application/octet-stream' }) contentType!: string;
}

@InputType()
export class TrainingInfoInput {
  @Field(() => DateTimeScalar, { nullable: true }) trainedAt?: Date | null;
  @Field(() => Float, { nullable: true }) durationSeconds?: number | null;
  @Field(() => Int, { nullable: true }) trainingSamples?: number | null;
  @Field(() => Int, { nullable: true }) validationSamples?: number | null;
}

@InputType()
export class RegisterModelVersionInput {
  @Field(() => String, { description: '^[a-z0-9][a-z0-9_-]{0,99}$; the model is created on first registration' }) modelName!: string;
  @Field(() => String) modelType!: string;
  @Field(() => String) datasetVersion!: string;
  @Field(() => [MetricInput]) metrics!: MetricInput[];
  /**
   * The contract writes `JSON = {}`; graphql-js 16 cannot express an object default for a custom
   * scalar (printing and introspection throw), so the default is applied by the resolver instead.
   */
  @Field(() => JsonScalar, { nullable: true, description: 'A JSON object; absent or null means {}' }) hyperparameters?: unknown;
  @Field(() => [String], { nullable: true, defaultValue: [] }) featureNames?: string[] | null;
  @Field(() => TrainingInfoInput, { nullable: true }) training?: TrainingInfoInput | null;
  @Field(() => String, { nullable: true }) description?: string | null;
  @Field(() => [String], { nullable: true, defaultValue: [] }) tags?: string[] | null;
  @Field(() => [ArtifactInput], { description: 'One or more' }) artifacts!: ArtifactInput[];
  @Field(() => String, { nullable: true, description: 'Safe retries: the same key and input within 24 h give the same version (with fresh upload URLs while it is PENDING_UPLOAD); the same key with another input is a CONFLICT. Per model; 1-200 characters of A-Z a-z 0-9 . _ : -' })
  idempotencyKey?: string | null;
}

@InputType({ description: 'Promotion succeeds only if candidate.metric >= production.metric * minRatio (or there is no production version).' })
export class ImprovementPolicyInput {
  @Field(() => String) metric!: string;
  @Field(() => Float, { nullable: true, defaultValue: 1.0 }) minRatio!: number;
}

@InputType()
export class PromoteInput {
  @Field(() => ID) versionId!: string;
  @Field(() => String, { nullable: true, defaultValue: 'production', description: '^[a-z][a-z0-9-]{0,31}$' }) environment?: string | null;
  @Field(() => String, { nullable: true }) reason?: string | null;
  @Field(() => ID, { nullable: true, description: 'Compare-and-set: CONFLICT unless this version is deployed now. Null or absent: no check (use expectNothingDeployed for an empty environment)' })
  expectedCurrentVersionId?: string | null;
  @Field(() => Boolean, { nullable: true, description: 'Compare-and-set on an empty environment: CONFLICT if any version is deployed there now. Not together with expectedCurrentVersionId' })
  expectNothingDeployed?: boolean | null;
  @Field(() => ImprovementPolicyInput, { nullable: true }) requireImprovement?: ImprovementPolicyInput | null;
  @Field(() => String, { nullable: true, description: 'Safe retries: the same key and input within 24 h give the same deployment, or the same refusal; the same key with another input is a CONFLICT. Per model; 1-200 characters of A-Z a-z 0-9 . _ : -' })
  idempotencyKey?: string | null;
}

@InputType()
export class RollbackInput {
  @Field(() => String) modelName!: string;
  @Field(() => String, { nullable: true, defaultValue: 'production' }) environment?: string | null;
  @Field(() => ID, { nullable: true, description: 'Default: the version deployed before the current one' }) toVersionId?: string | null;
  @Field(() => String, { nullable: true }) reason?: string | null;
  @Field(() => String, { nullable: true, description: 'Safe retries: the same key and input within 24 h give the same deployment, or the same refusal; the same key with another input is a CONFLICT. Per model; 1-200 characters of A-Z a-z 0-9 . _ : -' })
  idempotencyKey?: string | null;
}
