import 'reflect-metadata';
import { Field, Int, ObjectType } from 'type-graphql';
import { ApiTokenType } from './token-types.js';
import { AuditEventType, DeploymentType, ModelType, ModelVersionType, VersionComparison } from './types.js';

/**
 * Cursor paging (Relay connections): every list takes `first` and `after` (a cursor from an
 * earlier page) and answers edges, pageInfo and totalCount.
 */
@ObjectType({ description: 'Where a page stands in its list. Pages go forward: ask for the next one with after: endCursor' })
export class PageInfo {
  @Field(() => Boolean, { description: 'True when more edges follow this page' }) hasNextPage!: boolean;
  @Field(() => String, { nullable: true, description: "The last edge's cursor: pass it as `after` for the next page; null for an empty page" }) endCursor!: string | null;
  @Field(() => Boolean, { description: 'True when edges come before this page (it was asked for after a cursor)' }) hasPreviousPage!: boolean;
  @Field(() => String, { nullable: true, description: "The first edge's cursor; null for an empty page" }) startCursor!: string | null;
}

const EDGE = 'One item of a page with its cursor';
const CONNECTION = 'A page of a list';
const field = {
  cursor: { description: 'Opaque; pass it as `after` to continue after this edge' },
  node: { description: 'The item' },
  edges: { description: 'The items of this page, in the list order' },
  pageInfo: { description: 'Whether more pages follow or precede, and their cursors' },
  totalCount: { description: 'Items in the whole list (with the same filters), not just this page' },
};

@ObjectType({ description: EDGE })
export class ModelEdge {
  @Field(() => String, field.cursor) cursor!: string;
  @Field(() => ModelType, field.node) node!: unknown;
}
@ObjectType({ description: CONNECTION })
export class ModelConnection {
  @Field(() => [ModelEdge], field.edges) edges!: ModelEdge[];
  @Field(() => PageInfo, field.pageInfo) pageInfo!: PageInfo;
  @Field(() => Int, field.totalCount) totalCount!: number;
}
@ObjectType({ description: EDGE })
export class ModelVersionEdge {
  @Field(() => String, field.cursor) cursor!: string;
  @Field(() => ModelVersionType, field.node) node!: unknown;
}
@ObjectType({ description: CONNECTION })
export class ModelVersionConnection {
  @Field(() => [ModelVersionEdge], field.edges) edges!: ModelVersionEdge[];
  @Field(() => PageInfo, field.pageInfo) pageInfo!: PageInfo;
  @Field(() => Int, field.totalCount) totalCount!: number;
}
@ObjectType({ description: EDGE })
export class DeploymentEdge {
  @Field(() => String, field.cursor) cursor!: string;
  @Field(() => DeploymentType, field.node) node!: unknown;
}
@ObjectType({ description: CONNECTION })
export class DeploymentConnection {
  @Field(() => [DeploymentEdge], field.edges) edges!: DeploymentEdge[];
  @Field(() => PageInfo, field.pageInfo) pageInfo!: PageInfo;
  @Field(() => Int, field.totalCount) totalCount!: number;
}
@ObjectType({ description: EDGE })
export class AuditEventEdge {
  @Field(() => String, field.cursor) cursor!: string;
  @Field(() => AuditEventType, field.node) node!: unknown;
}
@ObjectType({ description: CONNECTION })
export class AuditEventConnection {
  @Field(() => [AuditEventEdge], field.edges) edges!: AuditEventEdge[];
  @Field(() => PageInfo, field.pageInfo) pageInfo!: PageInfo;
  @Field(() => Int, field.totalCount) totalCount!: number;
}
@ObjectType({ description: EDGE })
export class VersionComparisonEdge {
  @Field(() => String, field.cursor) cursor!: string;
  @Field(() => VersionComparison, field.node) node!: unknown;
}
@ObjectType({ description: `${CONNECTION}: a ranking, best first` })
export class VersionComparisonConnection {
  @Field(() => [VersionComparisonEdge], field.edges) edges!: VersionComparisonEdge[];
  @Field(() => PageInfo, field.pageInfo) pageInfo!: PageInfo;
  @Field(() => Int, field.totalCount) totalCount!: number;
}
@ObjectType({ description: EDGE })
export class ApiTokenEdge {
  @Field(() => String, field.cursor) cursor!: string;
  @Field(() => ApiTokenType, field.node) node!: unknown;
}
@ObjectType({ description: `${CONNECTION}: API tokens, newest first` })
export class ApiTokenConnection {
  @Field(() => [ApiTokenEdge], field.edges) edges!: ApiTokenEdge[];
  @Field(() => PageInfo, field.pageInfo) pageInfo!: PageInfo;
  @Field(() => Int, field.totalCount) totalCount!: number;
}

/**
 * Turns a store page into a GraphQL connection. `after` is the cursor the page was asked after:
 * the edge it names comes before the page, so hasPreviousPage is true exactly when one was given.
 */
export function toConnection<T>(page: { items: { node: T; cursor: string }[]; hasNextPage: boolean; totalCount: number }, after: string | null | undefined) {
  const edges = page.items.map((i) => ({ cursor: i.cursor, node: i.node }));
  const pageInfo = { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null, hasPreviousPage: after != null, startCursor: edges[0]?.cursor ?? null };
  return { edges, pageInfo, totalCount: page.totalCount };
}
