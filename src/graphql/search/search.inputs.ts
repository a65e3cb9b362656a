import 'reflect-metadata';
import { Field, Float, ID, InputType, registerEnumType } from 'type-graphql';
import { ModelVersionStatus, SortDirection } from '../types.js';
import { DateTimeScalar, JsonScalar } from '../scalars.js';

@InputType({ description: 'Where a version came from; give at least one field' })
export class VersionSourceInput {
  @Field(() => String, { nullable: true, description: 'The git commit: 40 (SHA-1) or 64 (SHA-256) lowercase hex' }) gitCommit?: string | null;
  @Field(() => String, { nullable: true, description: 'The repository URL: https, http, ssh or git scheme; no password (and no user name for http/https)' }) repository?: string | null;
  @Field(() => String, { nullable: true, description: "The pipeline run's page: an http or https URL without credentials" }) pipelineRunUrl?: string | null;
  @Field(() => String, { nullable: true, description: 'The run id in its tracker, 1-200 characters' }) runId?: string | null;
}

@InputType({ description: 'The training data a version was built from. Recorded and shown only: the registry never fetches it' })
export class DatasetInput {
  @Field(() => String, { description: 'Where it lives: scheme://host/... (e.g. s3://bucket/key, https://...), at most 2048 characters, no credentials' }) uri!: string;
  @Field(() => String, { nullable: true, description: 'Its digest: 40 or 64 lowercase hex; null if unknown' }) digest?: string | null;
}

@InputType({ description: 'A range of one metric (bounds inclusive); versions lacking the metric do not match' })
export class MetricRangeInput {
  @Field(() => String, { description: 'The metric name' }) name!: string;
  @Field(() => Float, { nullable: true, description: 'At least this value; null: no lower bound' }) gte?: number | null;
  @Field(() => Float, { nullable: true, description: 'At most this value; null: no upper bound' }) lte?: number | null;
}

@InputType({ description: 'Which versions modelVersions lists: every condition given must hold' })
export class VersionFilterInput {
  @Field(() => [ModelVersionStatus], { nullable: true, description: 'Any of these statuses; absent: every status' }) statuses?: ModelVersionStatus[] | null;
  @Field(() => [String], { nullable: true, description: 'Every one of these tags' }) tags?: string[] | null;
  @Field(() => JsonScalar, { nullable: true, description: 'Every one of these labels, exactly (a JSON object of strings)' }) labels?: unknown;
  @Field(() => String, { nullable: true, description: 'Exactly this datasetVersion' }) datasetVersion?: string | null;
  @Field(() => DateTimeScalar, { nullable: true, description: 'Registered at or after this instant' }) createdAfter?: Date | null;
  @Field(() => DateTimeScalar, { nullable: true, description: 'Registered before this instant (exclusive)' }) createdBefore?: Date | null;
  @Field(() => String, { nullable: true, description: 'Registered by this principal' }) createdBy?: string | null;
  @Field(() => MetricRangeInput, { nullable: true, description: 'Having this metric within the range' }) metric?: MetricRangeInput | null;
}

export enum VersionOrderField {
  NUMBER = 'NUMBER',
  CREATED_AT = 'CREATED_AT',
  METRIC = 'METRIC',
}
registerEnumType(VersionOrderField, {
  name: 'VersionOrderField',
  description: 'What modelVersions orders by',
  valuesConfig: {
    NUMBER: { description: 'The version number' },
    CREATED_AT: { description: 'Registration time, ties by number' },
    METRIC: { description: "A metric's value, ties by number; versions lacking the metric are left out" },
  },
});

@InputType({ description: 'The order of modelVersions; absent: NUMBER DESC (newest first)' })
export class VersionOrderInput {
  @Field(() => VersionOrderField, { nullable: true, defaultValue: VersionOrderField.NUMBER, description: 'What to order by' }) by!: VersionOrderField;
  @Field(() => String, { nullable: true, description: "by: METRIC only: the metric; absent: the model's primaryMetric" }) metric?: string | null;
  @Field(() => SortDirection, { nullable: true, defaultValue: SortDirection.DESC, description: 'DESC: highest first; ASC: lowest first' }) direction!: SortDirection;
}

@InputType({ description: 'What compareVersions compares against: exactly one of environment and versionId' })
export class CompareBaselineInput {
  @Field(() => String, { nullable: true, description: 'The version deployed there now (none: no baseline, deltas null)' }) environment?: string | null;
  @Field(() => ID, { nullable: true, description: "One of the model's versions" }) versionId?: string | null;
}
