/**
 * Finds the Redis the test run uses, in this order:
 * 1. `REDIS_URL`, if set (it must be a disposable server: the suite flushes it);
 * 2. a `redis-server` on PATH, started on a free port for this run and stopped after it;
 * 3. a `redis:7` container through testcontainers;
 * otherwise the run fails, naming those three ways.
 * Tests that stop or kill Redis always start their own server (see redisServer.ts).
 */
import type { TestProject } from "vitest/node"
import { hasRedisServerBinary, type RedisServer, startRedisServer } from "./redisServer.js"

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string
  }
}

export default async function setup(project: TestProject) {
  const fromEnv = process.env.REDIS_URL
  if (fromEnv !== undefined && fromEnv !== "") {
    project.provide("redisUrl", fromEnv)
    return
  }
  if (hasRedisServerBinary()) {
    const server: RedisServer = await startRedisServer()
    project.provide("redisUrl", server.url)
    return () => server.stop()
  }
  try {
    const { GenericContainer, Wait } = await import("testcontainers")
    const container = await new GenericContainer("redis:7")
      .withExposedPorts(6379)
      .withWaitStrategy(Wait.forLogMessage("Ready to accept connections"))
      .start()
    project.provide("redisUrl", `redis://${container.getHost()}:${container.getMappedPort(6379)}`)
    return async () => {
      await container.stop()
    }
  } catch (error) {
    throw new Error(
      "The tests need a Redis. Provide one of: (1) REDIS_URL pointing at a disposable Redis (it gets flushed); " +
        "(2) `redis-server` on PATH (e.g. `apt-get install -y redis-server`), started on a free port per run; " +
        `(3) a Docker engine for testcontainers. Testcontainers failed with: ${String(error)}`,
    )
  }
}
