import { readFileSync, writeFileSync } from 'node:fs';
import { type ASTNode, Kind, type StringValueNode, parse, print, visit } from 'graphql';
import { printRegistrySchema } from '../src/graphql/print-schema.js';

/**
 * `npm run contract`: copies the schema's descriptions onto the elements contract/api.graphql
 * lists (types, fields, arguments, input fields, enum values, scalars), so the contract carries
 * the same meanings (the schema test checks they match). Only descriptions change: the contract's
 * elements, types, defaults and order stay as written, and so do its `#` comments (the header,
 * and those just above a definition).
 */
const file = new URL('../contract/api.graphql', import.meta.url);
const text = readFileSync(file, 'utf8');
const contract = parse(text);
const schema = parse(await printRegistrySchema());

const described = new Map<string, string>();
const coordinate = (path: string[]) => path.join('.');
const walk = (doc: typeof schema, each: (coord: string, node: { description?: StringValueNode }) => void) => {
  for (const def of doc.definitions) {
    if (!('name' in def) || !def.name) continue;
    const type = def.name.value;
    each(type, def as { description?: StringValueNode });
    for (const f of ('fields' in def ? def.fields : undefined) ?? []) {
      each(coordinate([type, f.name.value]), f);
      for (const a of ('arguments' in f ? f.arguments : undefined) ?? []) each(coordinate([type, f.name.value, a.name.value]), a);
    }
    for (const v of ('values' in def ? def.values : undefined) ?? []) each(coordinate([type, v.name.value]), v);
  }
};
walk(schema, (coord, node) => {
  if (node.description) described.set(coord, node.description.value);
});

// The AST is frozen by convention, not by the runtime: rebuild each described node with visit().
const withDescriptions = visit(contract, {
  enter(node: ASTNode, _key, _parent, _path, ancestors) {
    if (!('name' in node) || !node.name || node.kind === Kind.NAMED_TYPE) return undefined;
    const names = [...ancestors, node]
      .filter((a): a is ASTNode & { name: { value: string } } => !Array.isArray(a) && 'name' in (a as object) && (a as { kind: string }).kind !== Kind.NAMED_TYPE && !!(a as { name?: unknown }).name)
      .map((a) => a.name.value);
    const description = described.get(coordinate(names));
    if (description === undefined) return undefined;
    return { ...node, description: { kind: Kind.STRING, value: description, block: true } };
  },
});

// `#` comments: the header, and the comment lines right above each definition.
const lines = text.split('\n');
const header = lines.slice(0, lines.findIndex((l) => l.trim() !== '' && !l.startsWith('#'))).join('\n').trimEnd();
const commentAbove = (start: number): string => {
  const before = text.slice(0, start).split('\n');
  before.pop();
  const block: string[] = [];
  while (before.length && before.at(-1)!.startsWith('#')) block.unshift(before.pop()!);
  return block.length && before.length && before.at(-1)!.trim() === '' ? `${block.join('\n')}\n` : '';
};
const body = withDescriptions.definitions
  .map((def, i) => {
    const original = contract.definitions[i]!;
    const start = (original as { description?: StringValueNode }).description?.loc?.start ?? original.loc!.start;
    const comment = i === 0 ? '' : commentAbove(start);
    return `${comment}${print(def)}`;
  })
  .join('\n\n');
writeFileSync(file, `${header}\n\n${body}\n`);
process.stdout.write('contract/api.graphql: descriptions copied from the schema\n');
