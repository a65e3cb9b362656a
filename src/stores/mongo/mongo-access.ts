import { type ClientSession, type Collection, type Db, type Document, MongoServerError } from 'mongodb';
import type { CollectionName } from './mongo-documents.js';
import { type IndexSpec, findIndex } from './mongo-indexes.js';
import type { AggregateSpec } from './mongo-batch-queries.js';
import type { CountSpec, DistinctSpec, FindSpec } from './mongo-queries.js';
import type { UpdateSpec } from './mongo-updates.js';

/** Duplicate key (E11000), from a single write or a bulk write. */
export function isDuplicateKey(err: unknown): boolean {
  if (!(err instanceof MongoServerError)) return false;
  if (err.code === 11000) return true;
  const writeErrors = (err as { writeErrors?: { code?: number }[] }).writeErrors;
  return Array.isArray(writeErrors) && writeErrors.some((w) => w.code === 11000);
}

/**
 * The one place where the Mongo store talks to its collections. Every command it sends carries
 * `maxTimeMS` (the server stops the operation after that long; with driver 7.9 `timeoutMS` does
 * nothing), so no request of the registry waits on MongoDB without bound: reads, writes, counts,
 * distincts, index creation. The write concern's `wtimeout` and the client's server-selection,
 * wait-queue and socket timeouts (set by MongoRegistryStore.connect) bound the rest.
 * test/unit/mongo-access.test.ts checks that each method passes it; the other mongo files reach
 * collections only through here (checked by test/unit/mongo-queries.test.ts).
 */
export class MongoAccess {
  private readonly collections = new Map<string, Collection<Document>>();

  constructor(readonly db: Db, readonly maxTimeMS: number) {}

  private col<T extends Document>(name: CollectionName): Collection<T> {
    let c = this.collections.get(name);
    if (!c) {
      c = this.db.collection(name);
      this.collections.set(name, c);
    }
    return c as unknown as Collection<T>;
  }

  /** The index named by a spec, as a hint; none for partial indexes (chosen by predicate, see mongo-queries.ts). */
  private hint(collection: CollectionName, index: string): { hint?: string } {
    const spec = findIndex(collection, index);
    if (!spec) throw new Error(`query names undeclared index ${collection}.${index}`);
    return spec.partialFilterExpression ? {} : { hint: index };
  }

  async find<T extends Document>(spec: FindSpec, session?: ClientSession): Promise<T[]> {
    const cursor = this.col(spec.collection).find(spec.filter, {
      session, maxTimeMS: this.maxTimeMS, ...this.hint(spec.collection, spec.index),
      ...(spec.sort && { sort: spec.sort }), ...(spec.limit !== undefined && { limit: spec.limit }),
      ...(spec.projection && { projection: spec.projection }), ...(spec.readConcern && { readConcern: { level: spec.readConcern } }),
    });
    return (await cursor.toArray()) as unknown as T[];
  }

  /** An aggregation built by mongo-batch-queries.ts, hinted to the index its leading $match and $sort use. */
  async aggregate<T extends Document>(spec: AggregateSpec, session?: ClientSession): Promise<T[]> {
    const cursor = this.col(spec.collection).aggregate(spec.pipeline, { session, maxTimeMS: this.maxTimeMS, ...this.hint(spec.collection, spec.index) });
    return (await cursor.toArray()) as unknown as T[];
  }

  /** One document by `_id` (optionally only some fields). */
  async findById<T extends Document>(collection: CollectionName, id: string, session?: ClientSession, projection?: Document): Promise<T | null> {
    const filter: Document = { _id: id };
    return (await this.col(collection).findOne(filter, { session, maxTimeMS: this.maxTimeMS, ...(projection && { projection }) })) as T | null;
  }

  async count(spec: CountSpec, session?: ClientSession): Promise<number> {
    return this.col(spec.collection).countDocuments(spec.filter, { session, maxTimeMS: this.maxTimeMS, ...this.hint(spec.collection, spec.index) });
  }

  /** Distinct values (no hint: the spec's index is the only one led by the field, see mongo-queries.ts). */
  async distinct(spec: DistinctSpec, session?: ClientSession): Promise<string[]> {
    return (await this.col(spec.collection).distinct(spec.field, spec.filter, { session, maxTimeMS: this.maxTimeMS })) as string[];
  }

  async insert<T extends Document>(collection: CollectionName, doc: T, session?: ClientSession): Promise<void> {
    await this.col(collection).insertOne(doc, { session, maxTimeMS: this.maxTimeMS });
  }

  /** updateOne (or updateMany when `many`); returns the number of documents matched. */
  async update(spec: UpdateSpec, session?: ClientSession, many = false): Promise<number> {
    const options = { session, maxTimeMS: this.maxTimeMS, ...(spec.upsert && { upsert: true }) };
    const c = this.col(spec.collection);
    const r = many ? await c.updateMany(spec.filter, spec.update, options) : await c.updateOne(spec.filter, spec.update, options);
    return r.matchedCount + r.upsertedCount;
  }

  /** Several upserts of one collection in one unordered bulk write. */
  async bulkUpsert(specs: readonly UpdateSpec[], session?: ClientSession): Promise<void> {
    if (specs.length === 0) return;
    await this.col(specs[0]!.collection).bulkWrite(
      specs.map((o) => ({ updateOne: { filter: o.filter, update: o.update, upsert: true } })),
      { session, ordered: false, maxTimeMS: this.maxTimeMS },
    );
  }

  async findAndUpdate<T extends Document>(spec: UpdateSpec, session?: ClientSession): Promise<T | null> {
    const r = await this.col(spec.collection).findOneAndUpdate(spec.filter, spec.update, {
      session, maxTimeMS: this.maxTimeMS, returnDocument: 'after', ...(spec.upsert && { upsert: true }),
    });
    return r as unknown as T | null;
  }

  /** deleteOne by a spec's filter (leases, unsettled idempotency claims and attempted webhook redelivery requests only: nothing else in the registry is ever deleted). */
  async remove(spec: FindSpec, session?: ClientSession): Promise<number> {
    return (await this.col(spec.collection).deleteOne(spec.filter, { session, maxTimeMS: this.maxTimeMS })).deletedCount;
  }

  /** Creates the declared indexes (idempotent); bounded like every other command. */
  async createIndexes(collection: CollectionName, indexes: readonly IndexSpec[]): Promise<void> {
    if (indexes.length > 0) await this.col(collection).createIndexes(indexes.map((i) => ({ ...i })), { maxTimeMS: this.maxTimeMS });
  }
}
