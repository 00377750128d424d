import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/globalSetup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Fault-injection tests stop and kill their own redis-server processes; keep files apart so a
    // SIGSTOPped server in one file never shares a CPU budget with timing assertions in another.
    fileParallelism: true,
    poolOptions: { forks: { singleFork: false } },
  },
})
