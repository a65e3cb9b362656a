import type { Db } from 'mongodb';

/** Thrown by the wrapper at an injected crash point; the wrapped "process" is dead afterwards. */
export class InjectedCrash extends Error {
  constructor(readonly at: number, readonly call: string) {
    super(`injected crash before write #${at} (${call})`);
    this.name = 'InjectedCrash';
  }
}

/** Thrown by the wrapper for a failed write the "process" survives (a network error, a timeout): it goes on. */
export class InjectedFailure extends Error {
  constructor(readonly at: number, readonly call: string, readonly applied: boolean) {
    super(`injected failure of write #${at} (${call})${applied ? ' after it applied (reply lost)' : ''}`);
    this.name = 'InjectedFailure';
  }
}

/** What happens at the armed write: the process dies before it, the write fails before it applies, or it applies and its reply is lost. */
export type FaultMode = 'crash' | 'fail' | 'lose-reply';

const WRITE_METHODS = new Set([
  'insertOne', 'insertMany', 'updateOne', 'updateMany', 'replaceOne', 'deleteOne', 'deleteMany',
  'findOneAndUpdate', 'findOneAndReplace', 'findOneAndDelete', 'bulkWrite',
]);
const READ_METHODS = new Set(['find', 'findOne', 'countDocuments', 'distinct', 'aggregate']);

export interface CallInfo {
  collection: string;
  method: string;
  write: boolean;
  /** 1-based count of writes since arm(), for writes. */
  writeNo: number | null;
}

/**
 * Test-only wrapper around a real (or emulated) `Db`: it counts the data calls a store makes and
 * can stop the sequence at the Nth write, as a crash of the process would (every later call of
 * that store fails too), or pause before a call so another "process" can act in between.
 * Production code knows nothing about it: the store takes it through its `wrapDb` seam.
 */
export class WriteFaults {
  /** Every data call since the last arm(), in order. */
  readonly calls: CallInfo[] = [];
  private writes = 0;
  private crashAt: number | null = null;
  private mode: FaultMode = 'crash';
  private dead = false;
  private hook: ((call: CallInfo) => Promise<void> | void) | null = null;

  /** Starts counting from zero; at write number `crashAt` (null: never) crash, or fail that one write (`mode`). */
  arm(crashAt: number | null, hook: ((call: CallInfo) => Promise<void> | void) | null = null, mode: FaultMode = 'crash'): void {
    this.calls.length = 0;
    this.writes = 0;
    this.crashAt = crashAt;
    this.mode = mode;
    this.dead = false;
    this.hook = hook;
  }

  get writeCount(): number {
    return this.writes;
  }

  /** Before a call; returns an error to throw AFTER the call when its reply is to be lost. */
  async before(collection: string, method: string): Promise<InjectedFailure | null> {
    if (this.dead) throw new Error('this store crashed (injected); it makes no more calls');
    const write = WRITE_METHODS.has(method);
    const info: CallInfo = { collection, method, write, writeNo: write ? ++this.writes : null };
    this.calls.push(info);
    if (this.hook) await this.hook(info);
    if (write && this.crashAt !== null && info.writeNo === this.crashAt) {
      if (this.mode === 'lose-reply') return new InjectedFailure(this.crashAt, `${collection}.${method}`, true);
      if (this.mode === 'fail') throw new InjectedFailure(this.crashAt, `${collection}.${method}`, false);
      this.dead = true;
      throw new InjectedCrash(this.crashAt, `${collection}.${method}`);
    }
    return null;
  }
}

function wrapCollection(collection: object, name: string, faults: WriteFaults): object {
  return new Proxy(collection, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof prop !== 'string' || typeof value !== 'function') return value;
      if (prop === 'find') {
        // find() returns a cursor synchronously; the call is counted when its results are fetched.
        return (...args: unknown[]) => {
          const cursor = (value as (...a: unknown[]) => { toArray(): Promise<unknown[]> }).apply(target, args);
          return { toArray: async () => { await faults.before(name, 'find'); return cursor.toArray(); } };
        };
      }
      if (!WRITE_METHODS.has(prop) && !READ_METHODS.has(prop)) return (value as (...a: unknown[]) => unknown).bind(target);
      return async (...args: unknown[]) => {
        const lostReply = await faults.before(name, prop);
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        if (lostReply) throw lostReply;
        return result;
      };
    },
  });
}

export function withWriteFaults(db: Db, faults: WriteFaults): Db {
  const wrapped = new Map<string, object>();
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'collection') {
        return (name: string, options?: unknown) => {
          let c = wrapped.get(name);
          if (!c) {
            c = wrapCollection((target.collection as (n: string, o?: unknown) => object).call(target, name, options), name, faults);
            wrapped.set(name, c);
          }
          return c;
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as Db;
}
