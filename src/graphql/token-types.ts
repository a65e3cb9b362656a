import 'reflect-metadata';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import type { ApiToken, Role } from '../domain/token.js';
import { DateTimeScalar } from './scalars.js';

/** The GraphQL types of API tokens and the caller (resolvers in token.resolver.ts). */
export enum TokenRole {
  VIEWER = 'viewer',
  PUBLISHER = 'publisher',
  DEPLOYER = 'deployer',
  ADMIN = 'admin',
  WORKER = 'worker',
}
registerEnumType(TokenRole, {
  name: 'Role',
  description: 'Each role includes the ones before it: VIEWER < PUBLISHER < DEPLOYER < ADMIN. WORKER stands aside: it reads and reports deployment status',
  valuesConfig: {
    VIEWER: { description: 'Reads models, versions, deployments, audit events; downloads artifacts' },
    PUBLISHER: { description: 'Also registers, completes, updates and archives versions' },
    DEPLOYER: { description: 'Also promotes and rolls back' },
    ADMIN: { description: 'Also manages API tokens and reads token events' },
    WORKER: { description: 'An inference worker: reads, and reports what it serves (reportDeploymentStatus); nothing else' },
  },
});

@ObjectType('ApiToken', { description: 'An API token. Its secret is shown once, at creation; the registry keeps only its hash.' })
export class ApiTokenType {
  @Field(() => ID, { description: 'Opaque id (not the secret)' }) id!: string;
  @Field(() => String, { description: 'A label, e.g. the pipeline that uses it' }) name!: string;
  @Field(() => TokenRole, { description: 'What it may do' }) role!: Role;
  @Field(() => String, { nullable: true, description: 'A model name, a prefix ending in "*", or null for every model' }) modelScope!: string | null;
  @Field(() => [String], { nullable: true, description: 'The only environments it may promote to, roll back or undeploy in; null: every environment' })
  environments!: string[] | null;
  @Field(() => DateTimeScalar, { nullable: true, description: 'When it stops working; null: never' }) expiresAt!: Date | null;
  @Field(() => DateTimeScalar, { description: 'When it was created' }) createdAt!: Date;
  @Field(() => String, { description: 'Who created it' }) createdBy!: string;
  @Field(() => DateTimeScalar, { nullable: true, description: 'Updated at most once a minute' }) lastUsedAt!: Date | null;
  @Field(() => DateTimeScalar, { nullable: true, description: 'When it was revoked; null: not revoked' }) revokedAt!: Date | null;
}

@ObjectType({ description: 'A new token and its secret' })
export class CreatedApiToken {
  @Field(() => ApiTokenType, { description: 'The token as stored' }) token!: ApiToken;
  @Field(() => String, { description: 'The bearer secret. Shown only in this response: store it now.' }) secret!: string;
}

@ObjectType('Viewer', { description: 'The caller, as the registry sees it.' })
export class ViewerType {
  @Field(() => String, { description: 'The actor name audit events record' }) name!: string;
  @Field(() => ID, { description: 'The id of the token used' }) tokenId!: string;
  @Field(() => TokenRole, { description: "The token's role" }) role!: Role;
  @Field(() => String, { nullable: true, description: "The token's model scope; null: every model" }) modelScope!: string | null;
  @Field(() => [String], { nullable: true, description: "The environments the token may change deployments in; null: every environment" })
  environments!: string[] | null;
}
