import { useEffect, useState } from 'preact/hooks';
import { gql } from '../api.js';
import type { Operation } from '../hooks.js';

export const BEHIND_KEY = 'registry.behind';

const TYPES = `query ExplorerSchema { __schema { queryType { name } mutationType { name } subscriptionType { name } types { name kind description fields { name description args { name type { name kind ofType { name kind ofType { name kind ofType { name } } } } } type { name kind ofType { name kind ofType { name kind ofType { name } } } } } inputFields { name type { name kind ofType { name kind ofType { name } } } } enumValues { name description } } } }`;

type TypeRef = { name: string | null; kind: string; ofType?: TypeRef | null };
interface SchemaType {
  name: string;
  kind: string;
  description: string | null;
  fields: { name: string; description: string | null; args: { name: string; type: TypeRef }[]; type: TypeRef }[] | null;
  inputFields: { name: string; type: TypeRef }[] | null;
  enumValues: { name: string; description: string | null }[] | null;
}

const typeName = (t: TypeRef): string => (t.kind === 'NON_NULL' ? `${typeName(t.ofType!)}!` : t.kind === 'LIST' ? `[${typeName(t.ofType!)}]` : t.name ?? '?');
const base = (t: TypeRef): string => (t.ofType ? base(t.ofType) : t.name ?? '');

/**
 * A small in-house API explorer (GraphiQL 5 was not bundled: it brings React and the Monaco editor,
 * megabytes for a console of tens of kilobytes): a query, its variables, the result as the signed-in
 * token, and the schema's docs from introspection.
 */
export function ExplorerScreen({ params }: { params: URLSearchParams }) {
  const [ops] = useState<Operation[]>(() => (params.get('from') === 'view' ? JSON.parse(sessionStorage.getItem(BEHIND_KEY) ?? '[]') : []));
  const [query, setQuery] = useState(ops[0]?.query ?? (params.get('query') || '{ viewer { name role modelScope } }'));
  const [variables, setVariables] = useState(ops[0] ? JSON.stringify(ops[0].variables, null, 2) : params.get('variables') || '{}');
  const [result, setResult] = useState('');
  const [types, setTypes] = useState<SchemaType[]>([]);
  const [doc, setDoc] = useState('Query');
  useEffect(() => {
    gql<{ __schema: { types: SchemaType[] } }>(TYPES).then((d) => setTypes(d.__schema.types.filter((t) => !t.name.startsWith('__'))), (e: Error) => setResult(e.message));
  }, []);
  const run = async (e: Event) => {
    e.preventDefault();
    try {
      setResult(JSON.stringify(await gql(query, JSON.parse(variables || '{}')), null, 2));
    } catch (err) {
      setResult(`Error: ${(err as Error).message}`);
    }
  };
  const shown = types.find((t) => t.name === doc);
  return (
    <section aria-labelledby="ex-h" class="explorer">
      <h1 id="ex-h">API explorer</h1>
      <p class="muted">Runs on POST /graphql with your token. Ctrl+Enter runs.</p>
      {ops.length > 1 && (
        <p>
          <label for="ex-op">Queries behind the view</label>{' '}
          <select id="ex-op" onChange={(e) => { const op = ops[Number(e.currentTarget.value)]!; setQuery(op.query); setVariables(JSON.stringify(op.variables, null, 2)); }}>
            {ops.map((op, i) => <option key={i} value={i}>{/^\s*\w+\s+(\w+)/.exec(op.query)?.[1] ?? `query ${i + 1}`}</option>)}
          </select>
        </p>
      )}
      <form onSubmit={run} class="ex-grid" onKeyDown={(e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) run(e); }}>
        <div class="stack">
          <label for="ex-query">Query</label>
          <textarea id="ex-query" rows={14} spellcheck={false} value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
          <label for="ex-vars">Variables (JSON)</label>
          <textarea id="ex-vars" rows={4} spellcheck={false} value={variables} onInput={(e) => setVariables(e.currentTarget.value)} />
          <button type="submit">Run</button>
        </div>
        <div class="stack">
          <label for="ex-result">Result</label>
          <output id="ex-result" class="result" data-testid="explorer-result">{result}</output>
        </div>
      </form>
      <h2>Schema docs</h2>
      <label for="ex-type">Type</label>{' '}
      <select id="ex-type" value={doc} onChange={(e) => setDoc(e.currentTarget.value)}>
        {types.map((t) => <option key={t.name} value={t.name}>{t.name}</option>)}
      </select>
      {shown && (
        <div class="docs">
          <p>{shown.kind} {shown.name}{shown.description ? `: ${shown.description}` : ''}</p>
          <dl>
            {(shown.fields ?? shown.inputFields ?? []).map((f) => (
              <>
                <dt key={f.name}>
                  <span class="mono">{f.name}{'args' in f && (f as any).args.length ? `(${(f as any).args.map((a: any) => `${a.name}: ${typeName(a.type)}`).join(', ')})` : ''}: </span>
                  <button type="button" class="link mono" onClick={() => setDoc(base(f.type))}>{typeName(f.type)}</button>
                </dt>
                <dd>{(f as any).description ?? ''}</dd>
              </>
            ))}
            {(shown.enumValues ?? []).map((v) => (<><dt class="mono">{v.name}</dt><dd>{v.description ?? ''}</dd></>))}
          </dl>
        </div>
      )}
    </section>
  );
}
