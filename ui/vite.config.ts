import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The console (ui/) as static files in dist/ui, served by the registry at /ui. Preact through the
 * automatic JSX runtime (no plugin needed); hashed file names under assets/ (cached for a year).
 * No inline script or style: the registry's Content-Security-Policy forbids both.
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
  },
});
