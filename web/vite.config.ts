// Builds the SPA from web/ into dist/web/, which the backend serves (`baton backend`).
// Preact's automatic JSX runtime; no plugin needed. `npm run dev:web` proxies /api to a backend
// on BATON_API_URL (default http://127.0.0.1:8420).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: './',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 200,
  },
  server: {
    proxy: { '/api': { target: process.env.BATON_API_URL ?? 'http://127.0.0.1:8420', changeOrigin: false } },
  },
});
