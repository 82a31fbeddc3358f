import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const API = process.env.PALISADE_URL ?? 'http://127.0.0.1:3000';

/** The dashboard: built from web/ into dist/web/, which the server serves at `/` (src/web/static.ts). */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
  },
  server: {
    // `npx vite web` during development: the API comes from a running `npm start`.
    // The server checks Origin (sign-in, the realtime socket), so proxied requests present its own.
    proxy: {
      '/api': { target: API, ws: true, headers: { origin: API } },
      '/trpc': { target: API, headers: { origin: API } },
    },
  },
});
