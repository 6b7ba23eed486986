// vitest: tests run in forked processes with the project's Node; integration tests
// start real servers on ephemeral ports, so they get generous timeouts.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    // One test file at a time: several assert bounds on a server's RSS, which two files
    // running at once on a 2-core machine make depend on when the GC gets the CPU.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
