import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * ARCHITECTURE.md's layering table, read from the imports. Stores may also import audit/ (the
 * pure hash chain), because appending an event at the head of the chain is part of the store's
 * atomic write.
 */
const src = new URL('../../src/', import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map(
    (m) => m[1] ?? m[2] ?? m[3]!,
  );
}

/** Layer of a src file, or of a relative import target. */
function layer(path: string): string {
  const rel = relative(src, path);
  const [top] = rel.split('/');
  if (top === 'app.ts' || top === 'main.ts' || top === 'config.ts') return top.replace('.ts', '');
  if (top === 'stores' || top === 'artifacts') return rel === 'stores/registry.store.ts' || rel === 'stores/webhook.store.ts' || rel === 'stores/governance.store.ts' || rel === 'stores/version-search.store.ts' || rel === 'artifacts/artifact.store.ts' || rel === 'artifacts/multipart/multipart.port.ts' ? `${top}:port` : top;
  return top!;
}

const DRIVERS = ['mongodb', 'better-sqlite3', '@aws-sdk/'];
const WEB = ['graphql', 'type-graphql', '@apollo/', 'dataloader', 'graphql-ws'];

const rules: Record<string, { layers: string[]; packages: (p: string) => boolean }> = {
  domain: { layers: ['domain', 'audit'], packages: (p) => p.startsWith('node:crypto') },
  audit: { layers: ['domain', 'audit'], packages: (p) => p.startsWith('node:crypto') },
  'stores:port': { layers: ['domain', 'stores:port'], packages: () => false },
  'artifacts:port': { layers: ['domain', 'artifacts:port'], packages: () => false },
  stores: { layers: ['domain', 'audit', 'stores:port', 'stores'], packages: (p) => p.startsWith('node:') || p === 'better-sqlite3' || p === 'mongodb' },
  artifacts: { layers: ['domain', 'artifacts:port', 'artifacts'], packages: (p) => p.startsWith('node:') || p.startsWith('@aws-sdk/') },
  // events/: the audit log read forward, a use case on the store port like services/ (which compose it).
  events: { layers: ['domain', 'audit', 'events', 'stores:port'], packages: (p) => p.startsWith('node:') },
  services: { layers: ['domain', 'audit', 'services', 'events', 'stores:port', 'artifacts:port'], packages: (p) => p.startsWith('node:') },
  graphql: { layers: ['graphql', 'services', 'domain', 'stores:port', 'artifacts:port', 'audit'], packages: (p) => !DRIVERS.some((d) => p.startsWith(d)) },
  // backup/: copies of an embedded data directory (the SQLite online backup API, files with sha256), used by the CLI.
  backup: { layers: ['backup'], packages: (p) => p.startsWith('node:') || p === 'better-sqlite3' },
  http: { layers: ['http', 'graphql', 'services', 'domain'], packages: (p) => !DRIVERS.some((d) => p.startsWith(d)) && p !== 'type-graphql' },
  // client/: the public GraphQL API and HTTP routes only, never the server's own code.
  client: { layers: ['client'], packages: (p) => p.startsWith('node:') || ['graphql', 'graphql-ws', 'ws', '@graphql-typed-document-node/core'].includes(p) },
  // cli/ may also use backup/ (admin backup and restore, on the data directory) and audit/ (the offline verifier): neither talks to the server.
  // ... and the AWS SDK for one thing: an auditor reading the checkpoint objects from the bucket with its own credentials.
  cli: { layers: ['cli', 'client', 'backup', 'audit'], packages: (p) => p.startsWith('node:') || p === 'commander' || p === 'cli-progress' || p === '@aws-sdk/client-s3' },
};

describe('architecture: imports follow the layering table', () => {
  const all = files(src);
  it('finds the source files', () => {
    expect(all.length).toBeGreaterThan(20);
  });
  for (const file of all) {
    const from = layer(file);
    const rule = rules[from];
    if (!rule) continue; // app.ts, main.ts, config.ts may import everything they need
    it(relative(src, file), () => {
      for (const spec of imports(file)) {
        if (spec.startsWith('.')) {
          const to = layer(join(file, '..', spec).replace(/\.js$/, '.ts'));
          expect(rule.layers, `${relative(src, file)} imports ${spec} (${to})`).toContain(to);
        } else {
          expect(rule.packages(spec), `${relative(src, file)} imports package ${spec}`).toBe(true);
        }
      }
    });
  }
  it('reads process.env only in config.ts (the server) and cli/settings.ts (the CLI)', () => {
    const readers = all.filter((f) => readFileSync(f, 'utf8').includes('process.env')).map((f) => relative(src, f));
    expect(readers.filter((f) => f !== 'config.ts' && f !== 'main.ts' && f !== 'cli/settings.ts')).toEqual([]);
  });
  it('keeps type-graphql and graphql out of services and domain', () => {
    for (const f of all.filter((x) => ['services', 'events', 'domain', 'audit'].includes(layer(x)))) {
      expect(imports(f).filter((s) => WEB.some((w) => s === w || s.startsWith(`${w}/`)))).toEqual([]);
    }
  });
});
