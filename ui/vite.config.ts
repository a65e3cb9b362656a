import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The console (ui/) as static files in dist/ui, served by the registry at /ui. Preact through the
 * automatic JSX runtime (no plugin needed); hashed file names under assets/ (cached for a year).
 * No inline script or style: the registry's Content-Security-Policy forbids both.
 *
 * Two pages: the Preact console (index.html) and GraphiQL (graphiql/index.html → /ui/graphiql/,
 * React + Monaco, its Monaco workers emitted as files under assets/ too). They share one chunk
 * (ui/src/session-keys.ts and graphql-ws, about 10 KB); GraphiQL's megabytes load on its page only.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
    // Monaco is one ~2.8 MB chunk (GraphiQL's page only; ~0.7 MB gzipped, cached for a year).
    chunkSizeWarningLimit: 3000,
    rolldownOptions: {
      input: {
        console: fileURLToPath(new URL('./index.html', import.meta.url)),
        graphiql: fileURLToPath(new URL('./graphiql/index.html', import.meta.url)),
      },
      // GraphiQL's React packages carry "use client" / "use no memo" directives, meaningless in a bundle.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
});
