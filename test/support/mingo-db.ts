import { Query, find, update as applyUpdate } from 'mingo';
import { BSON, type Db, type Document, MongoServerError } from 'mongodb';

/**
 * An IN-MEMORY EMULATION of the few `Db`/`Collection` calls MongoRegistryStore makes, built on
 * mingo (a JavaScript implementation of MongoDB's query and update language). It is NOT MongoDB and
 * proves nothing about MongoDB itself: it lets the store's own control flow (step order, retries,
 * recovery, crash points, interleavings of concurrent callers) run here, where no server can.
 *
 * Emulated: documents go through BSON (serialize/deserialize, key checks on); single-document atomicity of each call; unique indexes (compound, partial) raising a
 * MongoServerError with code 11000; upserts (filter equality fields + $setOnInsert); sort/limit;
 * countDocuments; distinct (top-level fields); bulkWrite of updateOne; a yield to the event loop before every call, so that
 * concurrent store calls interleave between their steps. Not emulated: anything about replication,
 * read/write concerns, sessions (a no-op object), the query planner, hints (checked for existence).
 */
interface IndexDef {
  name: string;
  key: Record<string, number>;
  unique?: boolean;
  partialFilterExpression?: Document;
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
/**
 * Documents are stored and handed out as the driver's BSON would carry them (serialize, then
 * deserialize), with key checking on: a key with '.' or a leading '$' throws, as it must never be
 * written by the store.
 */
const clone = <T>(v: T): T => BSON.deserialize(BSON.serialize(v as Document, { checkKeys: true })) as T;
const cloneSpec = <T>(v: T): T => structuredClone(v);

function getPath(doc: Document, path: string): unknown {
  let v: unknown = doc;
  for (const part of path.split('.')) v = v !== null && typeof v === 'object' ? (v as Document)[part] : undefined;
  return v === undefined ? null : v;
}

function keyOf(doc: Document, index: IndexDef): string {
  return JSON.stringify(Object.keys(index.key).map((k) => getPath(doc, k)));
}

class MingoCollection {
  docs: Document[] = [];
  indexes: IndexDef[] = [{ name: '_id_', key: { _id: 1 }, unique: true }];

  constructor(readonly name: string) {}

  private checkHint(options?: { hint?: unknown }): void {
    if (typeof options?.hint === 'string' && !this.indexes.some((i) => i.name === options.hint)) {
      throw new MongoServerError({ message: `hint provided does not correspond to an existing index: ${options.hint}`, code: 2 });
    }
  }

  /** Throws E11000 if `candidate` (replacing `replacing`, if any) would break a unique index. */
  private checkUnique(candidate: Document, replacing: Document | null): void {
    for (const index of this.indexes) {
      if (!index.unique) continue;
      const partial = index.partialFilterExpression ? new Query(index.partialFilterExpression) : null;
      if (partial && !partial.test(candidate)) continue;
      const key = keyOf(candidate, index);
      const clash = this.docs.find((d) => d !== replacing && (!partial || partial.test(d)) && keyOf(d, index) === key);
      if (clash) {
        throw new MongoServerError({
          message: `E11000 duplicate key error collection: ${this.name} index: ${index.name} dup key: ${key}`,
          code: 11000, keyPattern: index.key,
        });
      }
    }
  }

  async createIndexes(specs: IndexDef[]): Promise<string[]> {
    await tick();
    for (const s of specs) {
      const existing = this.indexes.find((i) => i.name === s.name);
      if (existing && JSON.stringify(existing) !== JSON.stringify({ ...s })) throw new MongoServerError({ message: `index ${s.name} differs`, code: 85 });
      if (!existing) this.indexes.push(cloneSpec(s));
    }
    return specs.map((s) => s.name);
  }

  find(filter: Document, options: { sort?: Document; limit?: number; hint?: unknown } = {}) {
    return {
      toArray: async (): Promise<Document[]> => {
        await tick();
        this.checkHint(options);
        let cursor = find(this.docs, filter);
        if (options.sort) cursor = cursor.sort(options.sort);
        if (options.limit) cursor = cursor.limit(options.limit);
        return (cursor.all() as Document[]).map((d) => clone(d));
      },
    };
  }

  async findOne(filter: Document): Promise<Document | null> {
    await tick();
    const found = find(this.docs, filter).limit(1).all()[0] as Document | undefined;
    return found ? clone(found) : null;
  }

  async countDocuments(filter: Document, options: { hint?: unknown } = {}): Promise<number> {
    await tick();
    this.checkHint(options);
    return find(this.docs, filter).all().length;
  }

  async distinct(field: string, filter: Document): Promise<unknown[]> {
    await tick();
    const values = (find(this.docs, filter).all() as Document[]).map((d) => d[field]);
    return [...new Set(values.map((v) => JSON.stringify(v)))].map((v) => JSON.parse(v) as unknown);
  }

  async insertOne(doc: Document): Promise<{ acknowledged: true; insertedId: unknown }> {
    await tick();
    const stored = clone(doc);
    this.checkUnique(stored, null);
    this.docs.push(stored);
    return { acknowledged: true, insertedId: stored._id };
  }

  /** Applies `update` to one matching document (or upserts); returns [before, after] or null. */
  private applyOne(filter: Document, update: Document, upsert: boolean): { before: Document | null; after: Document } | null {
    const { $setOnInsert, ...rest } = update as { $setOnInsert?: Document } & Document;
    const target = find(this.docs, filter).limit(1).all()[0] as Document | undefined;
    if (target) {
      const updated = clone(target);
      if (Object.keys(rest).length > 0) applyUpdate(updated, rest);
      const next = clone(updated);
      this.checkUnique(next, target);
      this.docs[this.docs.indexOf(target)] = next;
      return { before: clone(target), after: clone(next) };
    }
    if (!upsert) return null;
    const seed: Document = {};
    for (const [k, v] of Object.entries(filter)) {
      if (!k.startsWith('$') && !k.includes('.') && (v === null || typeof v !== 'object' || v instanceof Date)) seed[k] = cloneSpec(v);
    }
    applyUpdate(seed, { ...rest, ...($setOnInsert && { $set: { ...(rest.$set as Document | undefined), ...$setOnInsert } }) });
    const inserted = clone(seed);
    this.checkUnique(inserted, null);
    this.docs.push(inserted);
    return { before: null, after: clone(inserted) };
  }

  async updateOne(filter: Document, update: Document, options: { upsert?: boolean } = {}) {
    await tick();
    const r = this.applyOne(filter, update, options.upsert === true);
    const upserted = r !== null && r.before === null;
    return { acknowledged: true, matchedCount: r && !upserted ? 1 : 0, modifiedCount: r && !upserted ? 1 : 0, upsertedCount: upserted ? 1 : 0 };
  }

  async updateMany(filter: Document, update: Document) {
    await tick();
    const targets = find(this.docs, filter).all() as Document[];
    for (const t of targets) {
      const updated = clone(t);
      applyUpdate(updated, update);
      const next = clone(updated);
      this.checkUnique(next, t);
      this.docs[this.docs.indexOf(t)] = next;
    }
    return { acknowledged: true, matchedCount: targets.length, modifiedCount: targets.length, upsertedCount: 0 };
  }

  async findOneAndUpdate(filter: Document, update: Document, options: { upsert?: boolean; returnDocument?: 'before' | 'after' } = {}) {
    await tick();
    const r = this.applyOne(filter, update, options.upsert === true);
    if (!r) return null;
    return options.returnDocument === 'after' ? r.after : r.before;
  }

  async bulkWrite(ops: { updateOne: { filter: Document; update: Document; upsert?: boolean } }[]) {
    await tick();
    for (const op of ops) this.applyOne(op.updateOne.filter, op.updateOne.update, op.updateOne.upsert === true);
    return { ok: 1 };
  }
}

/** A fresh, empty emulated database. */
export class MingoDb {
  readonly collections = new Map<string, MingoCollection>();
  readonly client = { startSession: () => ({ endSession: async () => {} }) };

  collection(name: string): MingoCollection {
    let c = this.collections.get(name);
    if (!c) {
      c = new MingoCollection(name);
      this.collections.set(name, c);
    }
    return c;
  }

  async command(cmd: Document): Promise<Document> {
    await tick();
    if ('ping' in cmd) return { ok: 1 };
    throw new Error(`MingoDb does not emulate ${JSON.stringify(cmd)}`);
  }

  /** The typed handle the store takes (the store only calls what is emulated above). */
  asDb(): Db {
    return this as unknown as Db;
  }
}
