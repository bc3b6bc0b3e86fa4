import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (workspace: string) => fileURLToPath(new URL(`./${workspace}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources of the workspaces, not their build output.
    alias: [
      { find: /^@gatehouse\/contracts$/, replacement: src('contracts') },
      { find: /^@gatehouse\/edge$/, replacement: src('edge') },
      { find: /^@gatehouse\/cloud$/, replacement: src('cloud') },
      { find: /^@gatehouse\/cloud\/detection$/, replacement: fileURLToPath(new URL('./cloud/src/detection/index.ts', import.meta.url)) },
      { find: /^@gatehouse\/firmware-sim$/, replacement: src('firmware-sim') },
    ],
  },
  test: {
    include: ['*/test/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    pool: 'forks',
    // Clouds started by tests create their first admin with this password instead of printing a generated one.
    env: { GATEHOUSE_ADMIN_PASSWORD: 'test-admin-password' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
