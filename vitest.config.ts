import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import ts from 'typescript';
import { defineConfig, type Plugin } from 'vitest/config';

/**
 * Vite 8 transforms TypeScript with oxc, which mis-orders type-graphql's parameter decorators.
 * Tests therefore compile TypeScript with the TypeScript compiler itself, as `npm run build` does.
 */
function tscTransform(): Plugin {
  return {
    name: 'tsc-transform',
    enforce: 'pre',
    transform(code, id) {
      if (!id.endsWith('.ts') || id.includes('/node_modules/')) return null;
      const out = ts.transpileModule(code, {
        fileName: id,
        compilerOptions: {
          target: ts.ScriptTarget.ES2023,
          module: ts.ModuleKind.ESNext,
          experimentalDecorators: true,
          emitDecoratorMetadata: true,
          sourceMap: true,
          inlineSources: true,
        },
      });
      return { code: out.outputText, map: out.sourceMapText ? JSON.parse(out.sourceMapText) : null };
    },
  };
}

const require = createRequire(import.meta.url);

export default defineConfig({
  plugins: [tscTransform()],
  // One graphql instance: Node (and so type-graphql and Apollo) loads graphql's CommonJS build,
  // while Vite would pick its "module" (.mjs) build for our code; two instances break instanceof.
  resolve: { alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }] },
  oxc: false,
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Most test files wait on real processes, sockets and timers rather than compute: at least three
    // at a time even on two cores (measured there: 245 s instead of 419 s with one worker per core less).
    maxWorkers: Math.max(3, availableParallelism()),
    // Test files share their worker's modules (no test mocks a module or keeps state in one): the
    // app's module graph is loaded once per worker instead of once per file (measured on two
    // cores: import time 149 -> 34 s, the suite 372 -> 299 s, the same 1311 passing tests).
    isolate: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
