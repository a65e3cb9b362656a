import 'reflect-metadata';
import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { PromotionApproval } from '../../domain/governance.js';
import { PageInfo } from '../connections.js';
import { ImprovementPolicyInput } from '../inputs.js';
import { DateTimeScalar } from '../scalars.js';

/** The GraphQL types of deployment governance (issue 12); resolvers in governance.resolver.ts. */

export enum ObservedStateEnum {
  SERVING = 'SERVING',
  FAILED = 'FAILED',
  DRAINED = 'DRAINED',
}
registerEnumType(ObservedStateEnum, {
  name: 'ObservedState',
  description: 'What an inference worker reports about a deployment on its instance',
  valuesConfig: {
    SERVING: { description: 'The instance serves this deployment' },
    FAILED: { description: 'The instance tried and failed to serve it (message says why)' },
    DRAINED: { description: 'The instance stopped serving it' },
  },
});

export enum PromotionStatusEnum {
  PENDING = 'PENDING',
  APPROVED = 'APPROVED',
  REJECTED = 'REJECTED',
  CANCELLED = 'CANCELLED',
  EXECUTED = 'EXECUTED',
  CONFLICT = 'CONFLICT',
  EXPIRED = 'EXPIRED',
}
registerEnumType(PromotionStatusEnum, {
  name: 'PromotionRequestStatus',
  description: 'Where a promotion request stands',
  valuesConfig: {
    PENDING: { description: 'Waiting for approvals' },
    APPROVED: { description: 'Approved; its promotion is being executed (an approvePromotion call finishes an execution that was cut off)' },
    REJECTED: { description: 'Rejected by a principal, or by the registry when its promotion was refused (decisionComment says why); nothing deployed' },
    CANCELLED: { description: 'Cancelled; nothing deployed' },
    EXECUTED: { description: 'Deployed: see deployment' },
    CONFLICT: { description: 'Approved, but the environment had moved since the request (its compare-and-set failed): nothing deployed' },
    EXPIRED: { description: 'Not approved before expiresAt; nothing deployed' },
  },
});

@ObjectType('DeploymentObservation', { description: 'The latest report of one instance about one deployment' })
export class DeploymentObservationType {
  @Field(() => String, { description: 'The reporting instance (host or pod name)' }) instance!: string;
  @Field(() => ObservedStateEnum, { description: 'What it reported' }) state!: string;
  @Field(() => String, { nullable: true, description: 'Free text from the worker, e.g. an error' }) message!: string | null;
  @Field(() => DateTimeScalar, { description: 'When the registry received the report' }) reportedAt!: Date;
}

@ObjectType('ImprovementRule', { description: "An environment's improvement rule: candidate.metric >= deployed.metric * minRatio" })
export class ImprovementRuleType {
  @Field(() => String, { nullable: true, description: "The metric; null: the model's primaryMetric" }) metric!: string | null;
  @Field(() => Float, { description: 'The share of the deployed value the candidate must reach' }) minRatio!: number;
}

@ObjectType('EnvironmentPolicy', { description: 'The rules of an environment for one model, or for every model (modelName "*")' })
export class EnvironmentPolicyType {
  @Field(() => String, { description: 'The model, or "*": the default every model without its own inherits' }) modelName!: string;
  @Field(() => String, { description: 'The environment' }) environment!: string;
  @Field(() => Int, { description: '0: promotions apply at once; n: a promotion needs requestPromotion and n approvals by other principals' }) requiredApprovals!: number;
  @Field(() => ImprovementRuleType, { nullable: true, description: 'Applied to every promotion there, whatever the caller passes; null: none' })
  requireImprovement!: ImprovementRuleType | null;
  @Field(() => [String], { nullable: true, description: 'Only these actor names or token ids may approve; null: any deployer of the environment' }) allowedActors!: string[] | null;
  @Field(() => DateTimeScalar, { description: 'When it was last set' }) updatedAt!: Date;
  @Field(() => String, { description: 'Who set it' }) updatedBy!: string;
}

@ObjectType('PromotionApproval', { description: 'One approval of a promotion request' })
export class PromotionApprovalType implements Pick<PromotionApproval, 'actor' | 'at' | 'comment'> {
  @Field(() => String, { description: 'Who approved (the authenticated principal)' }) actor!: string;
  @Field(() => DateTimeScalar, { description: 'When' }) at!: Date;
  @Field(() => String, { nullable: true, description: 'Their comment' }) comment!: string | null;
}

@ObjectType('PromotionRequest', { description: 'A promotion into an environment whose policy needs approvals' })
export class PromotionRequestType {
  @Field(() => ID, { description: 'Opaque id' }) id!: string;
  @Field(() => String, { description: 'The environment' }) environment!: string;
  @Field(() => String, { description: 'Who asked (the authenticated principal)' }) requestedBy!: string;
  @Field(() => DateTimeScalar, { description: 'When' }) requestedAt!: Date;
  @Field(() => DateTimeScalar, { description: 'When it expires unless approved (REGISTRY_PROMOTION_REQUEST_TTL_SECONDS, default 7 days)' }) expiresAt!: Date;
  @Field(() => String, { nullable: true, description: 'Why, as the requester gave it' }) reason!: string | null;
  @Field(() => PromotionStatusEnum, { description: 'Where it stands' }) status!: string;
  @Field(() => ID, { nullable: true, description: 'The compare-and-set of the execution: the version that must still be live (captured at request time unless given); null: nothing may be deployed' })
  expectedCurrentVersionId!: string | null;
  @Field(() => Int, { description: 'Approvals needed (the policy at request time)' }) requiredApprovals!: number;
  @Field(() => [PromotionApprovalType], { description: 'Approvals so far, oldest first' }) approvals!: PromotionApprovalType[];
  @Field(() => String, { nullable: true, description: 'Who rejected or cancelled it ("registry" when its promotion was refused)' }) decidedBy!: string | null;
  @Field(() => String, { nullable: true, description: 'Why it was rejected or cancelled, or why its promotion was refused' }) decisionComment!: string | null;
}

@ObjectType({ description: 'One item of a page with its cursor' })
export class PromotionRequestEdge {
  @Field(() => String, { description: 'Opaque; pass it as `after` to continue after this edge' }) cursor!: string;
  @Field(() => PromotionRequestType, { description: 'The item' }) node!: unknown;
}
@ObjectType({ description: 'A page of a list' })
export class PromotionRequestConnection {
  @Field(() => [PromotionRequestEdge], { description: 'The items of this page, in the list order' }) edges!: PromotionRequestEdge[];
  @Field(() => PageInfo, { description: 'Whether more pages follow or precede, and their cursors' }) pageInfo!: PageInfo;
  @Field(() => Int, { description: 'Items in the whole list (with the same filters), not just this page' }) totalCount!: number;
}

@InputType({ description: "An environment's policy for one model, or for every model" })
export class SetEnvironmentPolicyInput {
  @Field(() => String, { description: 'The model, or "*" for the default every model without its own inherits' }) modelName!: string;
  @Field(() => String, { nullable: true, defaultValue: 'production', description: '^[a-z][a-z0-9-]{0,31}$' }) environment?: string | null;
  @Field(() => Int, { nullable: true, defaultValue: 0, description: '0-10; more than 0: promotions there need requestPromotion and that many approvals' }) requiredApprovals?: number | null;
  @Field(() => ImprovementPolicyInput, { nullable: true, description: 'Applied to every promotion there, whatever the caller passes; null: none' })
  requireImprovement?: ImprovementPolicyInput | null;
  @Field(() => [String], { nullable: true, description: 'Only these actor names or token ids may approve; null: any deployer of the environment' }) allowedActors?: string[] | null;
}

@InputType({ description: 'What an inference worker serves' })
export class ReportDeploymentStatusInput {
  @Field(() => ID, { description: 'The deployment (e.g. productionModel\'s deployment id)' }) deploymentId!: string;
  @Field(() => String, { description: 'The instance reporting: a host or pod name, ^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$' }) instance!: string;
  @Field(() => ObservedStateEnum, { description: 'What it does with the deployment' }) state!: ObservedStateEnum;
  @Field(() => String, { nullable: true, description: 'Free text, e.g. an error (at most 1000 characters)' }) message?: string | null;
}

@InputType({ description: 'Take a model out of an environment: nothing is live there afterwards' })
export class UndeployInput {
  @Field(() => String, { description: 'The model' }) modelName!: string;
  @Field(() => String, { nullable: true, defaultValue: 'production', description: 'The environment, ^[a-z][a-z0-9-]{0,31}$' }) environment?: string | null;
  @Field(() => ID, { nullable: true, description: 'Compare-and-set: CONFLICT unless this version is live now. Null or absent: no check' }) expectedCurrentVersionId?: string | null;
  @Field(() => String, { nullable: true, description: 'Why, for the deployment record and the audit log' }) reason?: string | null;
  @Field(() => String, { nullable: true, description: 'Safe retries: the same key and input within 24 h give the same deployment. Per model; 1-200 characters of A-Z a-z 0-9 . _ : -' })
  idempotencyKey?: string | null;
}
