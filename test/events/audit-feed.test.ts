import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FailedPreconditionError } from '../../src/domain/errors.js';
import type { AuditEvent } from '../../src/domain/model.js';
import { AuditFeed } from '../../src/events/audit-feed.js';
import { auditStream } from '../../src/events/event-stream.js';
import { contiguousAfter } from '../../src/stores/paging.js';
import { SqliteRegistryStore } from '../../src/stores/sqlite-registry.store.js';
import { draft } from '../support/fixtures.js';

/** The feed and a subscriber's stream on a real (in-memory SQLite) store. */
describe('registry events: feed and subscriber stream', () => {
  let store: SqliteRegistryStore;
  let feed: AuditFeed;
  beforeEach(() => {
    store = new SqliteRegistryStore(':memory:');
  });
  afterEach(async () => {
    await feed?.stop();
    await store.close();
  });
  const append = async (n: number) => {
    for (let i = 0; i < n; i++) await store.appendAudit(draft('FEED', {}, { i }));
    feed.wake();
  };
  const waitFor = async (check: () => boolean) => {
    for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(check()).toBe(true);
  };

  it('gives a subscriber behind the shared window every event from the store, in order', async () => {
    feed = new AuditFeed(store, { pollMs: 20, recentEvents: 3 });
    await store.appendAudit(draft('OLD'));
    const stream = auditStream(store, feed, 0, { maxLag: 10_000, gapRetryMs: 20 }, (e) => e);
    const first = await stream.next();
    expect(first.value.sequence).toBe(1);
    await append(40);
    await waitFor(() => feed.lastSequence === 41);
    const seen: number[] = [];
    while (seen.length < 40) seen.push(((await stream.next()).value as AuditEvent).sequence);
    expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => i + 2));
    await stream.return!();
    expect(feed.subscriberCount).toBe(0);
  });

  it('ends a live subscriber that falls too far behind, naming the sequence to resume from', async () => {
    feed = new AuditFeed(store, { pollMs: 20, recentEvents: 100 });
    const stream = auditStream(store, feed, 0, { maxLag: 5, gapRetryMs: 20 }, (e) => e);
    const pending = stream.next();
    await waitFor(() => feed.subscriberCount === 1 && feed.lastSequence === 0);
    await append(1);
    expect((await pending).value.sequence).toBe(1);
    await append(20);
    await waitFor(() => feed.lastSequence === 21);
    const failure = await stream.next().then(() => null, (err: unknown) => err);
    expect(failure).toBeInstanceOf(FailedPreconditionError);
    expect((failure as Error).message).toMatch(/afterSequence: 1 /);
    expect(feed.subscriberCount).toBe(0);
  });

  it('ends a waiting stream at once when it is returned', async () => {
    feed = new AuditFeed(store, { pollMs: 20, recentEvents: 100 });
    const stream = auditStream(store, feed, 0, { maxLag: 5, gapRetryMs: 20 }, (e) => e);
    const pending = stream.next();
    await waitFor(() => feed.subscriberCount === 1);
    await stream.return!();
    expect((await pending).done).toBe(true);
    expect(feed.subscriberCount).toBe(0);
  });
});

describe('registry events: reading forward stops at the first gap', () => {
  it('keeps only the run that continues the cursor (a later sequence visible before an earlier one is left for the next read)', () => {
    const at = (...seqs: number[]) => seqs.map((sequence) => ({ sequence }));
    expect(contiguousAfter(0, at(1, 2, 4, 5)).map((e) => e.sequence)).toEqual([1, 2]);
    expect(contiguousAfter(3, at(5, 6))).toEqual([]);
    expect(contiguousAfter(3, at(4, 5, 6)).map((e) => e.sequence)).toEqual([4, 5, 6]);
  });
});
