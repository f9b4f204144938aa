import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each test file runs in its own child process: @roamhq/wrtc is native code and a crash in one file
    // must not take the others with it.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // The machines have 2 cores; media tests are real-time, so do not oversubscribe them.
    maxWorkers: 2,
    allowOnly: false,
  },
});
