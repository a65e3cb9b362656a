import 'reflect-metadata';
import { Field, Float, ObjectType, registerEnumType } from 'type-graphql';
import { JsonScalar } from '../scalars.js';

@ObjectType('VersionSource', { description: 'Where a version came from, as registered' })
export class VersionSourceType {
  @Field(() => String, { nullable: true, description: 'The git commit, 40 or 64 lowercase hex' }) gitCommit!: string | null;
  @Field(() => String, { nullable: true, description: 'The repository URL' }) repository!: string | null;
  @Field(() => String, { nullable: true, description: "The pipeline run's page" }) pipelineRunUrl!: string | null;
  @Field(() => String, { nullable: true, description: 'The run id in its tracker' }) runId!: string | null;
}

@ObjectType('DatasetRef', { description: 'The training data of a version, as registered (never fetched by the registry)' })
export class DatasetRefType {
  @Field(() => String, { description: 'Where it lives' }) uri!: string;
  @Field(() => String, { nullable: true, description: 'Its digest, 40 or 64 lowercase hex; null if unknown' }) digest!: string | null;
}

@ObjectType({ description: "One metric of a compared version against the baseline's" })
export class MetricDelta {
  @Field(() => String, { description: 'The metric name' }) name!: string;
  @Field(() => Float, { nullable: true, description: "The compared version's value; null if it lacks the metric" }) value!: number | null;
  @Field(() => Float, { nullable: true, description: "The baseline's value; null if there is no baseline or it lacks the metric" }) baselineValue!: number | null;
  @Field(() => Float, { nullable: true, description: 'value - baselineValue, when both exist' }) delta!: number | null;
}

export enum HyperparameterChangeKind {
  ADDED = 'ADDED',
  REMOVED = 'REMOVED',
  CHANGED = 'CHANGED',
}
registerEnumType(HyperparameterChangeKind, {
  name: 'HyperparameterChangeKind',
  description: 'How a hyperparameter differs from the baseline',
  valuesConfig: {
    ADDED: { description: 'Only the compared version has it' },
    REMOVED: { description: 'Only the baseline has it' },
    CHANGED: { description: 'Both have it, with different values' },
  },
});

@ObjectType({ description: 'One hyperparameter that differs between a compared version and the baseline' })
export class HyperparameterChange {
  @Field(() => String, { description: 'Dotted path (nested objects are walked; arrays are compared whole)' }) path!: string;
  @Field(() => HyperparameterChangeKind, { description: 'Added, removed or changed' }) kind!: HyperparameterChangeKind;
  @Field(() => JsonScalar, { nullable: true, description: "The compared version's value; null when REMOVED" }) value!: unknown;
  @Field(() => JsonScalar, { nullable: true, description: "The baseline's value; null when ADDED" }) baselineValue!: unknown;
}
