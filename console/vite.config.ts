import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The cloud serves dist/ at / (SPA fallback) and the API at /api/v1 on the same origin.
export default defineConfig({
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
  },
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:8080', changeOrigin: false },
    },
  },
});
