import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'infra/test/**/*.test.ts'],
    // The CLI the end-to-end tests run is built from the code under test first.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // e2e tests start real servers in namespaces; keep the 2-core machine from oversubscribing.
    maxWorkers: 2,
  },
});
