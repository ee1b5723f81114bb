// Two pages: the chat playground (index.html) and the operator console (admin.html). Relative
// asset paths, so the same build works at / of `fathom serve` and under /ui/ of the gateway.
import { resolve } from 'node:path';
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    modulePreload: { polyfill: false },  // no inline script: the pages' CSP allows none
    rollupOptions: {
      input: { index: resolve(import.meta.dirname, 'index.html'), admin: resolve(import.meta.dirname, 'admin.html') },
    },
  },
  test: { include: ['test/**/*.test.js'] },
});
