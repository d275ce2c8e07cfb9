import { type ServiceName, serviceNames } from "@desk/contracts";
import { CurveConfigError, checkCurveKey, readCurveKeyList, readCurveKeyPairVariables } from "@desk/mdp";
import { z } from "zod";
import type { MockCurveOptions } from "./backend.js";

/**
 * The mock's environment, parsed once at start. A bad value stops the process
 * with one line naming the variable, the value and what is allowed.
 */
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const positiveInt = (name: string) =>
  z
    .string()
    .regex(/^\d+$/, `${name} must be a positive integer (milliseconds)`)
    .transform(Number)
    .refine((n) => n > 0 && Number.isSafeInteger(n), `${name} must be a positive integer (milliseconds)`);

const tcpUrl = z.string().regex(/^tcp:\/\/[^\s:/]+:\d{1,5}$/, "a tcp://host:port URL");

const Env = z.object({
  ZMQ_BROKER_URL: z.string().default("tcp://localhost:5555"),
  ZMQ_PUB_URL: tcpUrl.default("tcp://localhost:5556"),
  MOCK_SEED: z.string().regex(/^\d+$/, "a non-negative integer").transform(Number).optional(),
  MOCK_TICK_MS: positiveInt("MOCK_TICK_MS").default(5000),
  MOCK_FILL_MS: positiveInt("MOCK_FILL_MS").optional(),
  ZMQ_HEARTBEAT_INTERVAL: positiveInt("ZMQ_HEARTBEAT_INTERVAL").default(2500),
  LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
});

export interface MockConfig {
  /** Where to bind, e.g. tcp://127.0.0.1:5555. */
  brokerEndpoint: string;
  pubEndpoint: string;
  seed: number | undefined;
  tickMs: number;
  fillMs: number | undefined;
  heartbeatInterval: number;
  logLevel: (typeof LOG_LEVELS)[number];
  /** CURVE, when ZMQ_CURVE_SECRET_KEY (or its _FILE) is set. */
  curve: MockCurveOptions | undefined;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

const IP_OR_WILDCARD = /^(\*|\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:]+\])$/i;

/**
 * A connect URL -> the endpoint to bind. "localhost" binds the loopback only
 * (a dev mock should not listen on the network); an IP or "*" is taken as
 * written; any other host name (a container's service name) binds every
 * interface, since ZeroMQ cannot bind to a DNS name.
 */
export function bindEndpointOf(url: string): string {
  const m = /^tcp:\/\/([^\s/]+):(\d{1,5})$/.exec(url.trim());
  if (!m) throw new ConfigError(`not a tcp://host:port URL: "${url}"`);
  const host = m[1]!;
  const port = m[2]!;
  if (host === "localhost") return `tcp://127.0.0.1:${port}`;
  if (IP_OR_WILDCARD.test(host)) return `tcp://${host}:${port}`;
  return `tcp://0.0.0.0:${port}`;
}

export function loadConfig(env: NodeJS.ProcessEnv): MockConfig {
  // An empty variable means "unset" (docker-compose and .env files write FOO= for that).
  const set = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = Env.safeParse(set);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? "environment");
    const value = env[name];
    throw new ConfigError(`${name}=${JSON.stringify(value ?? "")} is invalid: ${issue.message}`);
  }
  const e = parsed.data;
  // ZMQ_BROKER_URL may list several brokers for the gateway's failover: the mock plays the first.
  const firstBroker = e.ZMQ_BROKER_URL.split(",")[0]!.trim();
  let brokerEndpoint: string;
  let pubEndpoint: string;
  try {
    brokerEndpoint = bindEndpointOf(firstBroker);
  } catch {
    throw new ConfigError(
      `ZMQ_BROKER_URL=${JSON.stringify(e.ZMQ_BROKER_URL)} is invalid: expected tcp://host:port[,tcp://host:port...]`,
    );
  }
  try {
    pubEndpoint = bindEndpointOf(e.ZMQ_PUB_URL);
  } catch {
    throw new ConfigError(`ZMQ_PUB_URL=${JSON.stringify(e.ZMQ_PUB_URL)} is invalid: expected tcp://host:port`);
  }
  return {
    curve: curveConfig(env),
    brokerEndpoint,
    pubEndpoint,
    seed: e.MOCK_SEED,
    tickMs: e.MOCK_TICK_MS,
    fillMs: e.MOCK_FILL_MS,
    heartbeatInterval: e.ZMQ_HEARTBEAT_INTERVAL,
    logLevel: e.LOG_LEVEL,
  };
}

/**
 * CURVE from the environment (README, "CURVE"): the broker's pair, the publisher's,
 * the admitted client keys, external workers' keys and endpoints per service. Errors
 * name the variable, never a key's value.
 */
function curveConfig(env: NodeJS.ProcessEnv): MockCurveOptions | undefined {
  try {
    const broker = readCurveKeyPairVariables(env, "ZMQ_CURVE_");
    const publisher = readCurveKeyPairVariables(env, "ZMQ_CURVE_PUBLISHER_");
    if (broker === undefined) {
      const stray = [
        "ZMQ_CURVE_CLIENT_KEYS",
        "ZMQ_CURVE_WORKER_KEYS",
        "ZMQ_CURVE_WORKER_URLS",
        "ZMQ_CURVE_PUBLISHER_SECRET_KEY",
      ].find((name) => (env[name] ?? env[`${name}_FILE`] ?? "") !== "");
      if (stray !== undefined) throw new CurveConfigError("ZMQ_CURVE_SECRET_KEY", `is required when ${stray} is set`);
      return undefined;
    }
    const clients = readCurveKeyList(env, "ZMQ_CURVE_CLIENT_KEYS");
    if (clients.length === 0) {
      throw new CurveConfigError("ZMQ_CURVE_CLIENT_KEYS", "lists no key: under CURVE no client could connect");
    }
    const workers: Partial<Record<ServiceName, string[]>> = {};
    for (const [service, key] of perService(env, "ZMQ_CURVE_WORKER_KEYS")) {
      try {
        workers[service] = [...(workers[service] ?? []), checkCurveKey(key, `the key for ${service}`)];
      } catch (err) {
        throw new CurveConfigError("ZMQ_CURVE_WORKER_KEYS", err instanceof Error ? err.message : String(err));
      }
    }
    const workerEndpoints: Partial<Record<ServiceName, string>> = {};
    for (const [service, url] of perService(env, "ZMQ_CURVE_WORKER_URLS")) {
      workerEndpoints[service] = bindEndpointOf(url);
    }
    return {
      secretKey: broker.secretKey,
      ...(publisher === undefined ? {} : { publisherSecretKey: publisher.secretKey }),
      clients,
      workers,
      workerEndpoints,
    };
  } catch (err) {
    if (err instanceof CurveConfigError) throw new ConfigError(err.message);
    throw err;
  }
}

/** `service=value,service=value` (a service name has no "="; a Z85 key may, after it). */
function perService(env: NodeJS.ProcessEnv, name: string): Array<[ServiceName, string]> {
  const raw = env[name]?.trim() ?? "";
  if (raw === "") return [];
  return raw.split(",").map((entry) => {
    const at = entry.indexOf("=");
    const service = entry.slice(0, at).trim();
    if (at < 0 || !(serviceNames as readonly string[]).includes(service)) {
      throw new CurveConfigError(name, `expected service=value entries, services ${serviceNames.join(", ")}`);
    }
    return [service as ServiceName, entry.slice(at + 1).trim()];
  });
}
