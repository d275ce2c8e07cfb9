import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { CurveConfigError } from "@desk/mdp";
import { type GatewayCurve, loadCurveConfig } from "./curve-config.js";

/**
 * Gateway configuration, parsed once at start from the environment (DESIGN.md
 * "Environment"). Anything a test or an embedder wants to tune beyond the
 * environment (rate limits, buffer sizes) has a default here and can be
 * overridden through startGateway(partialConfig).
 */
export interface GatewayConfig {
  /** HTTP + WebSocket port; 0 lets the OS choose (tests). */
  port: number;
  /** Interface to listen on. */
  host: string;
  /** Majordomo broker endpoint(s), comma-separated for failover. */
  brokerUrl: string;
  /** The trading system's PUB socket. */
  pubUrl: string;
  /** Per-try request timeout, ms. */
  zmqTimeout: number;
  /** Tries per request (a write keeps its requestId on every try). */
  zmqRetries: number;
  heartbeatInterval: number;
  pythonPath: string;
  /**
   * pickle_helper.py, or the directory holding it; relative paths are resolved
   * against the working directory. Unset: @desk/pickle's default, the
   * repository's python-scripts/pickle_helper.py (whatever the working directory).
   */
  pythonScriptPath: string | undefined;
  /** Start the in-process mock backend when nothing answers on brokerUrl. */
  useMock: boolean;
  /**
   * ZMQ_DEDUPE_WRITES: the trading system's workers answer a repeated requestId from a reply
   * cache, so a write may be retried like a read (same requestId). Unset: true only when the
   * gateway started its in-process mock (whose workers do), false otherwise; a write is then
   * sent at most once and an unknown outcome is the caller's to check (backend/rpc.ts).
   */
  dedupeWrites: boolean | undefined;
  /**
   * Without deduplication in the backend, the gateway itself remembers the answer to each
   * write sent with a caller-chosen id (clientOrderId): a repeat gets it instead of a second
   * order. At most `max` answers, each for `ttlMs`.
   */
  clientOrderMemory: { max: number; ttlMs: number };
  /** While no broker listens: how often to look again, ms (calls fail at once meanwhile). */
  brokerProbeMs: number;
  /** HS256 secret; required when useMock is false. */
  jwtSecret: string | undefined;
  /** Lifetime of an access token, seconds: short, since a stolen one works until then (a refresh token renews it). */
  jwtTtlSeconds: number;
  /** How long one login lasts, seconds: its refresh tokens expire then, however often they were rotated. */
  sessionTtlSeconds: number;
  /** Sessions remembered at once (oldest forgotten first: their refresh tokens stop working). */
  maxSessions: number;
  /** The audit trail's own file (one JSON line per write); null: audit lines go to the main log. */
  auditLog: string | null;
  pickleCodec: "native" | "python";
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /** In production, error responses never carry stacks (they never do outside it either, but dev logs are chattier). */
  production: boolean;
  /** How long get_user_permissions results are reused, ms. */
  permissionsCacheMs: number;
  /** Token buckets: burst capacity and refill per second, per user and per client address. */
  rateLimit: {
    userCapacity: number;
    userRefillPerSec: number;
    ipCapacity: number;
    ipRefillPerSec: number;
  };
  /** Recent events kept per topic so a reconnecting client resumes without gaps. */
  replayBufferSize: number;
  /** Events queued per subscription before the oldest are dropped (slow client). */
  subscriptionQueueSize: number;
  /** A WebSocket whose send buffer stays above this many bytes is a slow client. */
  wsMaxBufferedBytes: number;
  /** How long a slow client may stay above wsMaxBufferedBytes before it is disconnected, ms. */
  wsSlowClientGraceMs: number;
  /** Keep a topic subscribed this long after its last listener left, so a quick reconnect loses nothing, ms. */
  topicLingerMs: number;
  /** Server pings for idle WebSockets, ms (0 disables). */
  wsKeepAliveMs: number;
  /**
   * On shutdown, wait this long for in-flight requests, ms; then every call still in flight is
   * answered (a write: withdrawn from the broker's queue, or its outcome unknown; a read: 503).
   */
  shutdownGraceMs: number;
  /** Mock backend's market tick period when the gateway starts it, ms. */
  mockTickMs: number | undefined;
  /** /health reuses the broker's service answers this long, so a poller cannot multiply broker traffic, ms. */
  healthCacheMs: number;
  /** The MDP client's figures are logged this often (and whenever a figure of trouble changes), ms. */
  poolLogIntervalMs: number;
  /** Failed logins allowed per (username, client address) per minute before auth.login answers 429. */
  loginFailuresPerMinute: number;
  /** Failed logins allowed per client address, whatever the usernames, per `addressLoginFailureWindowSeconds`. */
  addressLoginFailures: number;
  addressLoginFailureWindowSeconds: number;
  /** Browser origins allowed to call /trpc and /api/v1 cross-origin ("*" for any); empty: no CORS headers. */
  corsOrigins: string[];
  /**
   * The built desk console (apps/console/dist), served at `/`. Default: the repository's,
   * when it has been built; null: no console (only the API answers).
   */
  consoleDir: string | null;
  /** CURVE towards the broker and the publisher (ZMQ_CURVE_*); undefined: off. */
  curve: GatewayCurve | undefined;
  /** MOCK_CURVE: the in-process mock runs CURVE on fresh keys, which this gateway pins. */
  mockCurve: boolean;
}

/**
 * Thrown by loadConfig: its message is the one line to print. The value of a secret
 * variable is never part of it (a log line is read by more people than the secret
 * should be); only its length is, which is what a "too short" mistake needs.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly value: string | undefined;
  constructor(
    readonly variable: string,
    value: string | undefined,
    readonly allowed: string,
    o: { secret?: boolean } = {},
  ) {
    const shown =
      o.secret && value
        ? ` (a value of ${value.length} character${value.length === 1 ? "" : "s"}, not shown)`
        : `=${JSON.stringify(value ?? "")}`;
    super(`Invalid ${variable}${shown}: expected ${allowed}`);
    this.value = o.secret ? undefined : value;
  }
}

const zmqEndpoint = /^(tcp|ipc|inproc):\/\/\S+$/;

function int(min: number, max: number) {
  return z.string().trim().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(min).max(max));
}

const flag = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(["true", "false", "1", "0", "yes", "no"]))
  .transform((s) => s === "true" || s === "1" || s === "yes");

/** One entry per variable: its parser and the human description printed when it fails. */
const variables = {
  PORT: { schema: int(0, 65535), allowed: "an integer port 0..65535", fallback: "3001" },
  HOST: { schema: z.string().min(1), allowed: "a host name or address", fallback: "0.0.0.0" },
  ZMQ_BROKER_URL: {
    schema: z
      .string()
      .transform((s) =>
        s
          .split(",")
          .map((e) => e.trim())
          .filter((e) => e.length > 0),
      )
      .pipe(z.array(z.string().regex(zmqEndpoint)).min(1))
      .transform((a) => a.join(",")),
    allowed: "comma-separated ZeroMQ endpoints like tcp://host:5555",
    fallback: "tcp://localhost:5555",
  },
  ZMQ_PUB_URL: {
    schema: z.string().trim().regex(zmqEndpoint),
    allowed: "a ZeroMQ endpoint like tcp://host:5556",
    fallback: "tcp://localhost:5556",
  },
  ZMQ_TIMEOUT: { schema: int(1, 600_000), allowed: "milliseconds, an integer 1..600000", fallback: "5000" },
  ZMQ_RETRIES: { schema: int(1, 100), allowed: "an integer number of tries 1..100", fallback: "3" },
  ZMQ_HEARTBEAT_INTERVAL: {
    schema: int(10, 600_000),
    allowed: "milliseconds, an integer 10..600000",
    fallback: "2500",
  },
  PYTHON_PATH: { schema: z.string().min(1), allowed: "a Python executable", fallback: "python3" },
  PYTHON_SCRIPT_PATH: {
    schema: z.string().min(1),
    allowed: "pickle_helper.py or the directory holding it",
    fallback: undefined,
  },
  USE_MOCK_ZMQ: {
    schema: flag,
    allowed: "true or false",
    // Not set: mock in development, never in production (a trading desk must not
    // silently talk to a simulator because its real broker was down at start).
    fallback: undefined,
  },
  ZMQ_DEDUPE_WRITES: {
    schema: flag,
    allowed: "true or false",
    // Not set: true only against the in-process mock (decided at start, gateway.ts).
    fallback: undefined,
  },
  PICKLE_CODEC: {
    schema: z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(["native", "python"])),
    allowed: "native or python",
    fallback: "native",
  },
  LOG_LEVEL: {
    schema: z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])),
    allowed: "one of fatal, error, warn, info, debug, trace, silent",
    fallback: "info",
  },
  JWT_SECRET: {
    schema: z.string().min(16),
    allowed: "a secret of at least 16 characters",
    fallback: undefined,
    secret: true,
  },
  JWT_TTL_SECONDS: { schema: int(1, 24 * 3600), allowed: "seconds, 1..86400", fallback: "300" },
  SESSION_TTL_SECONDS: { schema: int(1, 30 * 24 * 3600), allowed: "seconds, 1..2592000", fallback: "28800" },
  AUDIT_LOG: {
    schema: z
      .string()
      .trim()
      .min(1)
      .transform((path) => resolve(path)),
    allowed: "a file path for the audit trail",
    fallback: undefined,
  },
  MOCK_TICK_MS: { schema: int(10, 600_000), allowed: "milliseconds, 10..600000", fallback: undefined },
  MOCK_CURVE: {
    schema: flag,
    allowed: "true or false",
    fallback: "false",
  },
  CONSOLE_DIR: {
    schema: z
      .string()
      .trim()
      .transform((dir) => (dir.toLowerCase() === "off" ? null : resolve(dir)))
      .refine((dir) => dir === null || existsSync(join(dir, "index.html"))),
    allowed: 'a directory holding the built console (its index.html), or "off"',
    fallback: undefined,
  },
  CORS_ORIGINS: {
    schema: z
      .string()
      .transform((s) =>
        s
          .split(",")
          .map((e) => e.trim())
          .filter((e) => e.length > 0),
      )
      .pipe(z.array(z.union([z.literal("*"), z.url({ protocol: /^https?$/ }).transform((u) => new URL(u).origin)]))),
    allowed: 'comma-separated origins like https://desk.example.com, or "*"',
    fallback: undefined,
  },
} as const;

type VariableName = keyof typeof variables;
type Parsed = { [K in VariableName]: z.output<(typeof variables)[K]["schema"]> | undefined };

function read(env: NodeJS.ProcessEnv, name: VariableName): unknown {
  const spec = variables[name];
  const raw = env[name];
  // An empty variable means "not set": `FOO= node main.js` is a common way to unset.
  const value = raw === undefined || raw === "" ? spec.fallback : raw;
  if (value === undefined) return undefined;
  const result = spec.schema.safeParse(value);
  if (!result.success) throw new ConfigError(name, raw, spec.allowed, { secret: "secret" in spec && spec.secret });
  return result.data;
}

/**
 * Parses the environment into a GatewayConfig. Throws ConfigError (one-line
 * message naming the variable, its value and what is allowed) on the first bad value.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const p = Object.fromEntries(Object.keys(variables).map((k) => [k, read(env, k as VariableName)])) as Parsed;
  const useMock = p.USE_MOCK_ZMQ ?? env.NODE_ENV !== "production";
  if (!useMock && p.JWT_SECRET === undefined) {
    throw new ConfigError(
      "JWT_SECRET",
      env.JWT_SECRET,
      "a secret of at least 16 characters (required when USE_MOCK_ZMQ=false)",
      { secret: true },
    );
  }
  return {
    ...defaultTuning(),
    port: p.PORT ?? 3001,
    host: p.HOST ?? "0.0.0.0",
    brokerUrl: p.ZMQ_BROKER_URL ?? "tcp://localhost:5555",
    pubUrl: p.ZMQ_PUB_URL ?? "tcp://localhost:5556",
    zmqTimeout: p.ZMQ_TIMEOUT ?? 5000,
    zmqRetries: p.ZMQ_RETRIES ?? 3,
    heartbeatInterval: p.ZMQ_HEARTBEAT_INTERVAL ?? 2500,
    pythonPath: p.PYTHON_PATH ?? "python3",
    pythonScriptPath: p.PYTHON_SCRIPT_PATH,
    useMock,
    dedupeWrites: p.ZMQ_DEDUPE_WRITES,
    jwtSecret: p.JWT_SECRET,
    jwtTtlSeconds: p.JWT_TTL_SECONDS ?? 300,
    sessionTtlSeconds: p.SESSION_TTL_SECONDS ?? 28_800,
    auditLog: p.AUDIT_LOG ?? null,
    pickleCodec: p.PICKLE_CODEC ?? "native",
    logLevel: p.LOG_LEVEL ?? "info",
    production: env.NODE_ENV === "production",
    mockTickMs: p.MOCK_TICK_MS,
    corsOrigins: p.CORS_ORIGINS ?? [],
    consoleDir: p.CONSOLE_DIR === undefined ? builtConsole() : p.CONSOLE_DIR,
    mockCurve: p.MOCK_CURVE ?? false,
    curve: curveConfig(env, (p.ZMQ_BROKER_URL ?? "tcp://localhost:5555").split(",").length),
  };
}

/** ZMQ_CURVE_*; a bad one is a ConfigError whose line names the variable but never prints a key. */
function curveConfig(env: NodeJS.ProcessEnv, brokerEndpoints: number): GatewayCurve | undefined {
  try {
    return loadCurveConfig(env, brokerEndpoints);
  } catch (err) {
    if (!(err instanceof CurveConfigError)) throw err;
    const refused = new ConfigError(err.variable, undefined, err.reason);
    refused.message = `Invalid ${err.variable}: ${err.reason}`;
    throw refused;
  }
}

/** The repository's apps/console/dist, if it was built (this file sits in apps/gateway/src or apps/gateway/dist). */
function builtConsole(): string | null {
  const dir = fileURLToPath(new URL("../../console/dist", import.meta.url));
  return existsSync(join(dir, "index.html")) ? dir : null;
}

/** Knobs that are not environment variables (tests and embedders override them). */
function defaultTuning() {
  return {
    permissionsCacheMs: 10_000,
    rateLimit: { userCapacity: 200, userRefillPerSec: 100, ipCapacity: 400, ipRefillPerSec: 200 },
    replayBufferSize: 256,
    subscriptionQueueSize: 1_000,
    wsMaxBufferedBytes: 4 * 1024 * 1024,
    wsSlowClientGraceMs: 10_000,
    topicLingerMs: 30_000,
    wsKeepAliveMs: 30_000,
    shutdownGraceMs: 5_000,
    // An hour of orders: a repeat of a clientOrderId within it is answered, never sent again.
    clientOrderMemory: { max: 10_000, ttlMs: 3_600_000 },
    brokerProbeMs: 1_000,
    healthCacheMs: 1_000,
    loginFailuresPerMinute: 5,
    addressLoginFailures: 20,
    addressLoginFailureWindowSeconds: 300,
    maxSessions: 100_000,
    poolLogIntervalMs: 60_000,
  };
}
