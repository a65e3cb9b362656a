import type { ApolloServerPlugin } from '@apollo/server';
import {
  type GraphQLField, type GraphQLOutputType, type GraphQLSchema, GraphQLError, defaultFieldResolver, getNullableType, isLeafType, isListType,
  isObjectType,
} from 'graphql';

/** What one response may hold; the validation rule's cost estimate cannot know stored sizes. */
export interface ResponseLimits {
  /** List items and leaf values. */
  maxNodes: number;
  /** Estimated bytes of the JSON answer. */
  maxBytes: number;
}

/** Execution time after which requests let the event loop turn before resolving more. */
const SLICE_MS = 10;

/**
 * Shared by every request of the process: the time slice is the event loop's, not one
 * request's, so three heavy requests at once do not each take a slice per turn.
 */
let sliceStart = performance.now();
/** Counts the event loop's check phases that ran paced steps. */
let turn = 0;

/** Resolves in a later event-loop turn when the current one has run SLICE_MS; null: go on now. */
function pace(): Promise<void> | null {
  if (performance.now() - sliceStart < SLICE_MS) return null;
  const scheduledIn = turn;
  return new Promise((resolve) =>
    setImmediate(() => {
      // Immediates queued before a check phase all run in it: the first one starts the new slice,
      // the others find it used up once that step has run, and wait for the next turn.
      if (turn === scheduledIn) {
        turn++;
        sliceStart = performance.now();
      }
      resolve();
    }),
  );
}

/**
 * One request's running total, charged as resolvers return (before graphql-js walks what they
 * returned), so that work stops at the first field past the limit. It also paces execution: root
 * fields run one at a time, and they and the lists read from the parent object wait for the next
 * event-loop turn once the process has run SLICE_MS without one.
 */
export class ResponseBudget {
  nodes = 0;
  bytes = 0;
  exceeded: GraphQLError | null = null;
  private rootTail: Promise<unknown> | null = null;

  constructor(private readonly limits: ResponseLimits) {}

  check(): void {
    if (this.exceeded) throw this.exceeded;
  }

  charge(nodes: number, bytes: number): void {
    this.nodes += nodes;
    this.bytes += bytes;
    if (!this.exceeded && (this.nodes > this.limits.maxNodes || this.bytes > this.limits.maxBytes)) {
      this.exceeded = new GraphQLError(
        `The response would exceed ${this.limits.maxNodes} values or ${this.limits.maxBytes} bytes: ask for smaller pages (first) or fewer fields`,
        { extensions: { code: 'BAD_USER_INPUT' } },
      );
    }
    this.check();
  }

  /** Runs `step` now, or in a later event-loop turn when this turn has used its slice. */
  paced<T>(step: () => T | Promise<T>): T | Promise<T> {
    this.check();
    const later = pace();
    return later ? later.then(() => this.paced(step)) : step();
  }

  /** Root fields one at a time (each may read a page from the store), paced like the rest. */
  serial<T>(step: () => T | Promise<T>): Promise<T> {
    const previous = this.rootTail ?? Promise.resolve();
    const result: Promise<T> = previous.then(() => this.paced(step));
    this.rootTail = result.then(noop, noop);
    return result;
  }
}

function noop(): void {}

const budgets = new WeakMap<object, ResponseBudget>();
const instrumented = new WeakSet<GraphQLSchema>();

/** Creates each request's budget and, when it ran out, answers with that one error instead of a partial result. */
export function responseBudgetPlugin<C extends object>(limits: ResponseLimits): ApolloServerPlugin<C> {
  return {
    async requestDidStart({ contextValue }) {
      const budget = new ResponseBudget(limits);
      budgets.set(contextValue, budget);
      return {
        async willSendResponse({ response }) {
          if (budget.exceeded && response.body.kind === 'single') {
            response.body.singleResult = { data: null, errors: [{ message: budget.exceeded.message, extensions: { code: 'BAD_USER_INPUT' } }] };
          }
        },
      };
    },
  };
}

/** Size of a leaf value in the JSON answer, in UTF-8 bytes (strings by their bytes; JSON values by their text). */
function leafBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8') + 3;
  if (value === null || value === undefined) return 5;
  if (typeof value === 'object' && !(value instanceof Date)) return Buffer.byteLength(JSON.stringify(value), 'utf8') + 1;
  return 25;
}

/** [nodes, bytes] a resolved value adds; objects count themselves only (their fields are charged as they resolve). */
function sizer(type: GraphQLOutputType): (value: unknown) => [number, number] {
  const inner = getNullableType(type);
  if (isListType(inner)) {
    const item = sizer(inner.ofType);
    return (value) => {
      if (!Array.isArray(value)) return [1, 5];
      let nodes = 1;
      let bytes = 2;
      for (const v of value) {
        const [n, b] = item(v);
        nodes += n;
        bytes += b;
      }
      return [nodes, bytes];
    };
  }
  if (isLeafType(inner)) return (value) => [1, leafBytes(value)];
  return () => [1, 2];
}

/**
 * Wraps every field resolver of the schema (once; the schema is built once per process) to charge
 * the request's budget. Lists of values and JSON values read from the parent object (featureNames,
 * tags, hyperparameters ...) are paced; resolvers of their own (loaders) are not, so the loads
 * of one pass still form one batch.
 */
export function withResponseBudget(schema: GraphQLSchema): GraphQLSchema {
  if (instrumented.has(schema)) return schema;
  instrumented.add(schema);
  const roots = new Set([schema.getQueryType(), schema.getMutationType()].filter(Boolean));
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) wrap(field, roots.has(type));
  }
  return schema;
}

function wrap(field: GraphQLField<unknown, unknown>, root: boolean): void {
  const resolve = field.resolve ?? defaultFieldResolver;
  const size = sizer(field.type);
  const key = field.name.length + 4;
  const inner = getNullableType(field.type);
  const paced = !root && ((isListType(inner) && isLeafType(getNullableType(inner.ofType))) || (isLeafType(inner) && inner.name === 'JSON'));
  const charged = (budget: ResponseBudget, value: unknown): unknown => {
    const [nodes, bytes] = size(value);
    budget.charge(nodes, bytes + key);
    return value;
  };
  const run = (budget: ResponseBudget, ...call: Parameters<typeof resolve>): unknown => {
    budget.check();
    const value = resolve(...call);
    return value instanceof Promise ? value.then((v: unknown) => charged(budget, v)) : charged(budget, value);
  };
  field.resolve = (source, args, context, info) => {
    const budget = typeof context === 'object' && context !== null ? budgets.get(context) : undefined;
    if (!budget) return resolve(source, args, context, info);
    if (root) return budget.serial(() => run(budget, source, args, context, info));
    if (paced && typeof source === 'object' && source !== null && Object.hasOwn(source, field.name)) {
      return budget.paced(() => run(budget, source, args, context, info));
    }
    return run(budget, source, args, context, info);
  };
}
