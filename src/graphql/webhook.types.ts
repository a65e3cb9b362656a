import 'reflect-metadata';
import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { Webhook, WebhookDelivery } from '../domain/webhook.js';
import { DateTimeScalar } from './scalars.js';
import { PageInfo } from './connections.js';

export enum WebhookDeliveryStatus {
  SUCCEEDED = 'SUCCEEDED',
  RETRYING = 'RETRYING',
  FAILED = 'FAILED',
}
registerEnumType(WebhookDeliveryStatus, {
  name: 'WebhookDeliveryStatus',
  description: 'The outcome of one delivery attempt',
  valuesConfig: {
    SUCCEEDED: { description: 'The receiver answered 2xx' },
    RETRYING: { description: 'This attempt failed; another follows at nextAttemptAt' },
    FAILED: { description: 'Given up (after the retry period, or a redelivery that failed); the webhook moved on' },
  },
});

@ObjectType('Webhook', { description: 'A receiver of registry events: each matching audit event is POSTed to its URL, signed, in sequence order, at least once.' })
export class WebhookType {
  @Field(() => ID, { description: 'Server-chosen id' }) id!: string;
  @Field(() => String, { description: 'The http(s) URL events are POSTed to' }) url!: string;
  @Field(() => [String], { description: 'Audit actions delivered; empty: every action except API token events (which go out only when named)' }) actions!: string[];
  @Field(() => String, { nullable: true, description: 'A model name or a prefix ending in "*": only events of those models; null: every event' }) modelScope!: string | null;
  @Field(() => String, { nullable: true, description: 'Free text for people' }) description!: string | null;
  @Field(() => DateTimeScalar, { description: 'When it was created' }) createdAt!: Date;
  @Field(() => String, { description: 'The actor who created it' }) createdBy!: string;
  @Field(() => DateTimeScalar, { description: 'When it was last changed (or its secret rotated)' }) updatedAt!: Date;
  @Field(() => Float, { description: 'The last audit sequence delivered or given up on; deliveries continue after it' }) lastDeliveredSequence!: number;
}

/** A webhook as the API shows it (never its sealed secret). */
export type WebhookView = Omit<Webhook, 'sealedSecret' | 'cursor'> & { lastDeliveredSequence: number };
export function webhookView(w: Webhook): WebhookView {
  const { sealedSecret: _sealed, cursor, ...rest } = w;
  return { ...rest, lastDeliveredSequence: cursor };
}
export function deliveryView(d: WebhookDelivery): WebhookDelivery & { id: string } {
  return { ...d, id: String(d.seq) };
}

@ObjectType('WebhookDelivery', { description: 'One attempt to deliver one event to one webhook (the delivery log).' })
export class WebhookDeliveryType {
  @Field(() => ID, { description: 'The attempt, numbered in log order' }) id!: string;
  @Field(() => Float, { description: 'The audit event delivered' }) eventSequence!: number;
  @Field(() => String, { description: 'The audit event id (the X-Registry-Event-Id header)' }) eventId!: string;
  @Field(() => Int, { description: '1, 2, 3 ... per event since its first attempt' }) attempt!: number;
  @Field(() => WebhookDeliveryStatus, { description: 'The outcome of this attempt' }) status!: string;
  @Field(() => Int, { nullable: true, description: "The receiver's HTTP status; null when no response came (timeout, refused, blocked)" }) httpStatus!: number | null;
  @Field(() => String, { nullable: true, description: 'Why the attempt failed; null on success' }) error!: string | null;
  @Field(() => String, { nullable: true, description: 'The first 1 KiB of the response body' }) responseBody!: string | null;
  @Field(() => Float, { description: 'Milliseconds from lookup to the end of the response (or the failure)' }) durationMs!: number;
  @Field(() => DateTimeScalar, { description: 'When the attempt ended' }) attemptedAt!: Date;
  @Field(() => DateTimeScalar, { nullable: true, description: 'RETRYING only: when the next attempt is due' }) nextAttemptAt!: Date | null;
  @Field(() => Boolean, { description: 'Asked for by redeliverWebhookEvent' }) redelivery!: boolean;
}

@ObjectType({ description: 'One delivery attempt in a page' })
export class WebhookDeliveryEdge {
  @Field(() => String, { description: 'Pass as `after` for the next page' }) cursor!: string;
  @Field(() => WebhookDeliveryType, { description: 'The attempt' }) node!: unknown;
}

@ObjectType({ description: 'A page of the delivery log, newest first' })
export class WebhookDeliveryConnection {
  @Field(() => [WebhookDeliveryEdge], { description: 'The attempts of this page' }) edges!: WebhookDeliveryEdge[];
  @Field(() => PageInfo, { description: 'Whether more follow, and the cursor to continue from' }) pageInfo!: PageInfo;
  @Field(() => Int, { description: "Attempts in the webhook's whole log" }) totalCount!: number;
}

@ObjectType({ description: 'A webhook with its signing secret, shown in this answer only' })
export class CreatedWebhook {
  @Field(() => WebhookType, { description: 'The webhook' }) webhook!: WebhookView;
  @Field(() => String, { description: 'The signing secret (HMAC-SHA256 key of X-Registry-Signature). Shown only here: store it now.' }) secret!: string;
}

@InputType({ description: 'A new webhook' })
export class CreateWebhookInput {
  @Field(() => String, { description: 'http(s) URL; targets resolving to loopback, link-local or private addresses are refused unless the server allows them' }) url!: string;
  @Field(() => [String], { nullable: true, description: 'Audit actions to deliver (e.g. MODEL_VERSION_PROMOTED); empty or null: every action except API token events' })
  actions?: string[] | null;
  @Field(() => String, { nullable: true, description: 'A model name or a prefix ending in "*"; null: every event' }) modelScope?: string | null;
  @Field(() => String, { nullable: true, description: 'Free text for people' }) description?: string | null;
}

@InputType({ description: 'Changes to a webhook; fields left out stay as they are' })
export class UpdateWebhookInput {
  @Field(() => String, { nullable: true, description: 'A new URL (checked as at creation)' }) url?: string | null;
  @Field(() => [String], { nullable: true, description: 'New action filter; [] for every action except API token events' }) actions?: string[] | null;
  @Field(() => String, { nullable: true, description: 'New model scope; null for every event' }) modelScope?: string | null;
  @Field(() => String, { nullable: true, description: 'New description; null to clear it' }) description?: string | null;
}
