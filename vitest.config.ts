import { defineConfig } from 'vitest/config';

/** Hook timeouts of the projects with suite set-ups (tests/support/suite-setup.ts reads them through `provide`). */
const INTEGRATION_HOOK_MS = 600_000;
const E2E_HOOK_MS = 120_000;

// One run, three projects: pure/in-process unit tests, compose-based
// integration tests (real Docker engine) and browser end-to-end tests.
// In CI a JSON report is written so .ci/run can print the totals.
export default defineConfig({
  test: {
    // The tools the tests drive besides Docker and Node, installed or named before any test runs.
    globalSetup: ['tests/support/test-tools.ts'],
    // Fails a test that sets a timer to NaN ms (which Node runs after 1 ms).
    setupFiles: ['tests/support/no-nan-timers.ts'],
    // The JSON report has no suite's errors (a hook's): those are written beside it.
    reporters: process.env.CI
      ? [
          'default',
          ['json', { outputFile: 'test-results/vitest.json' }],
          ['./tests/support/suite-errors-reporter.ts', { outputFile: 'test-results/suite-errors.txt' }],
        ]
      : ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          // Projects run one after another (2 cores): the fuzzing in unit,
          // the flood and compose builds in integration, Chromium in e2e.
          sequence: { groupOrder: 0 },
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          sequence: { groupOrder: 1 },
          // One compose project at a time: 2 cores, one Docker engine.
          fileParallelism: false,
          testTimeout: 240_000,
          hookTimeout: INTEGRATION_HOOK_MS,
          provide: { hookTimeoutMs: INTEGRATION_HOOK_MS },
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          sequence: { groupOrder: 2 },
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: E2E_HOOK_MS,
          provide: { hookTimeoutMs: E2E_HOOK_MS },
        },
      },
    ],
  },
});
