import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { transformSync } from 'esbuild';
import { defineConfig, type Plugin } from 'vitest/config';

/**
 * Vite 8 transforms TypeScript with oxc, which mis-orders type-graphql's parameter decorators.
 * Tests therefore compile TypeScript with esbuild (as tsx does), with TypeScript's legacy
 * decorators; every type-graphql decorator names its type, so no emitted metadata is needed.
 * (Measured on two cores: ts.transpileModule took 14.5 s of a 57 s run of three test files.)
 */
function esbuildTransform(): Plugin {
  return {
    name: 'esbuild-transform',
    enforce: 'pre',
    transform(code, id) {
      if (!id.endsWith('.ts') || id.includes('/node_modules/')) return null;
      const out = transformSync(code, {
        loader: 'ts',
        format: 'esm',
        target: 'es2023',
        sourcemap: 'external',
        sourcesContent: true,
        sourcefile: id,
        tsconfigRaw: { compilerOptions: { experimentalDecorators: true, useDefineForClassFields: true } },
      });
      return { code: out.code, map: out.map ? JSON.parse(out.map) : null };
    },
  };
}

const require = createRequire(import.meta.url);

export default defineConfig({
  plugins: [esbuildTransform()],
  // One graphql instance: Node (and so type-graphql and Apollo) loads graphql's CommonJS build,
  // while Vite would pick its "module" (.mjs) build for our code; two instances break instanceof.
  resolve: { alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }] },
  oxc: false,
  test: {
    include: ['test/**/*.test.ts'],
    // Compiles src/ once into test/.build for the tests that start the registry or its CLI as processes.
    globalSetup: ['test/support/build-once.ts'],
    pool: 'forks',
    // Most test files wait on real processes, sockets and timers rather than compute: at least three
    // at a time even on two cores (measured there: 245 s instead of 419 s with one worker per core less).
    maxWorkers: Math.max(3, availableParallelism()),
    // Test files share their worker's modules (no test mocks a module or keeps state in one): the
    // app's module graph is loaded once per worker instead of once per file (measured on two
    // cores: import time 149 -> 34 s, the suite 372 -> 299 s, the same 1311 passing tests).
    isolate: false,
    testTimeout: 30_000,
    // expect.poll waits for a condition (a browser's rendering, a background job): 1 s by default,
    // which a loaded two-core CI machine running two suites side by side can exceed.
    expect: { poll: { timeout: 10_000 } },
    hookTimeout: 60_000,
  },
});
