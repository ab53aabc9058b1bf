import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: "forks",
    // Two files at a time: most of a test's time is spent waiting on fakes, child processes and
    // timers, not on the CPU, so two workers finish the suite in about half the time on two cores
    // (vitest's default is one fewer than the cores: a single worker here).
    maxWorkers: 2,
    reporters: ["default"],
  },
});
