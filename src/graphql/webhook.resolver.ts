import 'reflect-metadata';
import { Arg, Ctx, FieldResolver, Float, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { LIMITS } from '../domain/limits.js';
import type { CreatedWebhook as Created } from '../services/webhooks/webhook.service.js';
import type { GraphQLContext } from './context.js';
import { toConnection } from './connections.js';
import {
  CreateWebhookInput, CreatedWebhook, UpdateWebhookInput, WebhookDeliveryConnection, WebhookType, type WebhookView, deliveryView, webhookView,
} from './webhook.types.js';

const created = (c: Created) => ({ webhook: webhookView(c.webhook), secret: c.secret });

/** Webhook administration (admin tokens without a model scope). */
@Resolver(() => WebhookType)
export class WebhookResolver {
  @Query(() => [WebhookType], { description: 'Every webhook (admin), oldest first. Never the secret.' })
  async webhooks(@Ctx() ctx: GraphQLContext): Promise<WebhookView[]> {
    return (await ctx.services.webhooks.list(ctx.actor)).map(webhookView);
  }

  @Query(() => WebhookType, { nullable: true, description: 'One webhook (admin); null if there is none with this id.' })
  async webhook(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID, { description: 'The webhook id' }) id: string): Promise<WebhookView | null> {
    const w = await ctx.services.webhooks.find(id, ctx.actor);
    return w && webhookView(w);
  }

  @FieldResolver(() => WebhookDeliveryConnection, { description: 'The delivery log: every attempt, newest first' })
  async deliveries(
    @Ctx() ctx: GraphQLContext,
    @Root() webhook: WebhookView,
    @Arg('first', () => Int, { nullable: true, defaultValue: LIMITS.defaultPage, description: 'Page size, 0 to 100' }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: 'The cursor of the last attempt of the previous page' }) after: string | null,
  ) {
    const page = await ctx.services.webhooks.deliveries(webhook.id, { first: first ?? LIMITS.defaultPage, after: after ?? null }, ctx.actor);
    return toConnection({ ...page, items: page.items.map((i) => ({ cursor: i.cursor, node: deliveryView(i.node) })) }, after);
  }

  @Mutation(() => CreatedWebhook, { description: 'Creates a webhook (admin) and returns its signing secret once. Audited (WEBHOOK_CREATED). Deliveries start with the events after this one.' })
  async createWebhook(@Ctx() ctx: GraphQLContext, @Arg('input', () => CreateWebhookInput, { description: 'The webhook' }) input: CreateWebhookInput): Promise<CreatedWebhook> {
    return created(await ctx.services.webhooks.create(input, ctx.actor));
  }

  @Mutation(() => WebhookType, { description: 'Changes a webhook (admin). Audited (WEBHOOK_UPDATED).' })
  async updateWebhook(
    @Ctx() ctx: GraphQLContext,
    @Arg('id', () => ID, { description: 'The webhook id' }) id: string,
    @Arg('input', () => UpdateWebhookInput, { description: 'The changes' }) input: UpdateWebhookInput,
  ): Promise<WebhookView> {
    return webhookView(await ctx.services.webhooks.update(id, input, ctx.actor));
  }

  @Mutation(() => WebhookType, { description: 'Deletes a webhook (admin): no delivery starts after this. Audited (WEBHOOK_DELETED).' })
  async deleteWebhook(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID, { description: 'The webhook id' }) id: string): Promise<WebhookView> {
    return webhookView(await ctx.services.webhooks.delete(id, ctx.actor));
  }

  @Mutation(() => CreatedWebhook, { description: 'Replaces the signing secret (admin) and returns the new one once; the old one stops signing at once. Audited (WEBHOOK_SECRET_ROTATED).' })
  async rotateWebhookSecret(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID, { description: 'The webhook id' }) id: string): Promise<CreatedWebhook> {
    return created(await ctx.services.webhooks.rotateSecret(id, ctx.actor));
  }

  @Mutation(() => WebhookType, { description: 'Queues one more delivery of an event the webhook receives (admin); the attempt appears in its delivery log with redelivery: true.' })
  async redeliverWebhookEvent(
    @Ctx() ctx: GraphQLContext,
    @Arg('webhookId', () => ID, { description: 'The webhook id' }) webhookId: string,
    @Arg('eventSequence', () => Float, { description: 'The audit sequence of the event to send again' }) eventSequence: number,
  ): Promise<WebhookView> {
    return webhookView(await ctx.services.webhooks.redeliver(webhookId, eventSequence, ctx.actor));
  }
}
