import {
  type ASTVisitor, type FieldNode, type FragmentDefinitionNode, GraphQLError, Kind, type OperationDefinitionNode,
  type SelectionSetNode, type ValidationContext, type ValidationRule,
} from 'graphql';
import { LIMITS } from '../domain/limits.js';

export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  /** Estimated fields resolved: each field counts 1, times the page sizes of the lists above it. */
  maxCost: number;
  /** Lexical tokens in the document (enforced by the parser). */
  maxTokens: number;
}

export const DEFAULT_QUERY_LIMITS: QueryLimits = { maxDepth: 15, maxAliases: 30, maxDirectives: 20, maxCost: 50_000, maxTokens: 5_000 };

/** Mutations that move a deployment pointer: at most one per operation, and alone. */
const DEPLOYMENT_MUTATIONS = new Set(['promoteModelVersion', 'rollbackModel']);
/** Fields whose children are multiplied by their page size in the cost estimate. */
const PAGE_ARGS = ['first'];
/**
 * Lists of values weighed by their stored bound. featureNames (10,000) and hyperparameters
 * (64 KiB) are not: at their bound any page of versions asking for them would be refused, so
 * the response budget (response-budget.ts) charges them at their real size instead.
 */
const LIST_WEIGHTS: Record<string, number> = { tags: LIMITS.tags };

interface Measure {
  depth: number;
  aliases: number;
  directives: number;
  cost: number;
}

function reject(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
}

/** Page size a field asks for: a literal `first`, or the largest page for a variable. */
function multiplier(field: FieldNode): number {
  const arg = field.arguments?.find((a) => PAGE_ARGS.includes(a.name.value));
  if (!arg) return 1;
  if (arg.value.kind === Kind.INT) return Math.max(1, Math.min(Number(arg.value.value), LIMITS.pageSize));
  return LIMITS.pageSize;
}

/**
 * Walks the operation with fragments expanded (a fragment spread inside itself is caught by
 * graphql's own NoFragmentCycles rule; here a visited set stops the walk).
 */
function measure(set: SelectionSetNode, fragments: Record<string, FragmentDefinitionNode>, depth: number, factor: number, seen: Set<string>, acc: Measure, limits: QueryLimits): void {
  if (depth > acc.depth) acc.depth = depth;
  if (acc.depth > limits.maxDepth || acc.cost > limits.maxCost) return;
  for (const sel of set.selections) {
    acc.directives += sel.directives?.length ?? 0;
    if (sel.kind === Kind.FIELD) {
      if (sel.alias) acc.aliases++;
      acc.cost += factor * (sel.selectionSet ? 1 : (LIST_WEIGHTS[sel.name.value] ?? 1));
      if (sel.selectionSet) measure(sel.selectionSet, fragments, depth + 1, factor * multiplier(sel), seen, acc, limits);
    } else if (sel.kind === Kind.INLINE_FRAGMENT) {
      measure(sel.selectionSet, fragments, depth, factor, seen, acc, limits);
    } else {
      const name = sel.name.value;
      const fragment = fragments[name];
      if (!fragment || seen.has(name)) continue;
      seen.add(name);
      measure(fragment.selectionSet, fragments, depth, factor, seen, acc, limits);
      seen.delete(name);
    }
  }
}

function rootFields(op: OperationDefinitionNode, fragments: Record<string, FragmentDefinitionNode>): string[] {
  const names: string[] = [];
  const walk = (set: SelectionSetNode, seen: Set<string>) => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) names.push(sel.name.value);
      else if (sel.kind === Kind.INLINE_FRAGMENT) walk(sel.selectionSet, seen);
      else if (fragments[sel.name.value] && !seen.has(sel.name.value)) walk(fragments[sel.name.value]!.selectionSet, new Set([...seen, sel.name.value]));
    }
  };
  walk(op.selectionSet, new Set());
  return names;
}

/** One validation rule enforcing every limit, on each operation of the document. */
export function queryLimitsRule(limits: QueryLimits): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    const doc = context.getDocument();
    const fragments: Record<string, FragmentDefinitionNode> = {};
    for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;
    return {
      OperationDefinition(op) {
        const acc: Measure = { depth: 0, aliases: 0, directives: op.directives?.length ?? 0, cost: 0 };
        measure(op.selectionSet, fragments, 1, 1, new Set(), acc, limits);
        if (acc.depth > limits.maxDepth) context.reportError(reject(`Query is nested deeper than ${limits.maxDepth} levels`));
        if (acc.aliases > limits.maxAliases) context.reportError(reject(`Query uses more than ${limits.maxAliases} aliases`));
        if (acc.directives > limits.maxDirectives) context.reportError(reject(`Query uses more than ${limits.maxDirectives} directives`));
        if (acc.cost > limits.maxCost) context.reportError(reject(`Query is too expensive (estimated cost above ${limits.maxCost}); ask for smaller pages`));
        if (op.operation === 'mutation') {
          const roots = rootFields(op, fragments);
          if (roots.some((f) => DEPLOYMENT_MUTATIONS.has(f)) && roots.length > 1) {
            context.reportError(reject('promoteModelVersion and rollbackModel must be the only field of their mutation'));
          }
        }
      },
    };
  };
}
