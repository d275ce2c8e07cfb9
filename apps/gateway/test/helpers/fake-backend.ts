import {
  type Account,
  type Algorithm,
  type BackendHandlers,
  type Execution,
  type Instruction,
  type Permission,
  type Role,
  type ServiceName,
  formatBackendError,
  serviceNames,
} from "@desk/contracts";
import { MdpBroker, MdpWorker } from "@desk/mdp";
import { dumps, loads } from "@desk/pickle";
import { Publisher } from "zeromq";

/**
 * A small, real Majordomo backend for the gateway's tests: our broker, one
 * worker per service with contract-valid canned data, and a PUB socket.
 * Handlers are typed by the contracts (a method without one does not compile)
 * and can be replaced per test (errors, slowness); `misbehave` installs one that
 * answers outside the contract (bad replies). Events are published in both the
 * two-frame and vn.py one-frame forms.
 */
export type Kwargs = Record<string, unknown>;
export type Handlers = BackendHandlers<Kwargs>;
/** A handler that may break the contract (a test of the gateway's defences). */
export type RawHandler = (args: unknown[], kwargs: Kwargs) => unknown;

const now = () => new Date().toISOString();

interface TestUser {
  password: string;
  id: string;
  role: Role;
  accounts: string[];
  all: boolean;
  permissions: Permission[];
}

/** The backend's users (username -> record): their passwords, ids, roles, accounts and permissions. */
export const users: Record<string, TestUser> = {
  admin: {
    password: "admin123",
    id: "u-admin",
    role: "admin",
    accounts: [],
    all: true,
    permissions: [
      "account:read",
      "account:write",
      "algorithm:read",
      "algorithm:control",
      "instruction:parse",
      "instruction:execute",
      "market:read",
      "admin",
    ],
  },
  trader1: {
    password: "trader123",
    id: "u-trader1",
    role: "trader",
    accounts: ["account1", "account2"],
    all: false,
    permissions: [
      "account:read",
      "account:write",
      "algorithm:read",
      "algorithm:control",
      "instruction:parse",
      "instruction:execute",
      "market:read",
    ],
  },
  viewer1: {
    password: "viewer123",
    id: "u-viewer1",
    role: "viewer",
    accounts: [],
    all: true,
    permissions: ["account:read", "algorithm:read", "instruction:parse", "market:read"],
  },
};

/** What parse_instructions makes of "双卖 500 当月 万1 的v": a short 500ETF straddle of 10,000 vega. */
export function straddle(text = "双卖 500 当月 万1 的v"): Instruction {
  return {
    type: "straddle",
    text,
    side: "sell",
    structure: "straddle",
    otmSteps: 0,
    underlying: "510500",
    month: "current",
    size: { unit: "vega", value: 10000 },
  };
}

export function account(id: string, enabled = true): Account {
  return {
    id,
    name: `Account ${id}`,
    broker: "sim",
    enabled,
    balance: 1_000_000,
    available: 800_000,
    margin: 200_000,
    dailyPnl: 1234.5,
    totalPnl: 56789,
  };
}

export function algorithm(id: string, accountId: string, status: Algorithm["status"] = "running"): Algorithm {
  return {
    id,
    name: `algo ${id}`,
    kind: "TWAP",
    status,
    progress: 0.5,
    accountId,
    parameters: { slices: 10 },
    targetQuantity: 100,
    filledQuantity: 50,
    createdAt: now(),
    updatedAt: now(),
  };
}

export function execution(id: string, status: Execution["status"], dryRun: boolean): Execution {
  return {
    id,
    status,
    dryRun,
    createdAt: now(),
    updatedAt: now(),
    progress: status === "completed" ? 1 : 0.1,
    legs: [
      {
        legId: `${id}-1`,
        accountId: "account1",
        code: "10004567",
        name: "500ETF购12月6000",
        side: "sell",
        right: "call",
        strike: 6,
        expiry: "2026-12-23",
        targetQuantity: 10,
        filledQuantity: 0,
        avgPrice: null,
        status: "pending",
      },
    ],
    fills: [{ accountId: "account1", legs: 1, targetQuantity: 10, filledQuantity: 0, premium: 0 }],
    error: null,
  };
}

const risk = (accountId: string) => ({
  accountId,
  asOf: now(),
  cashDelta: 1000,
  gamma: 10,
  vega: -10000,
  theta: 500,
  var95: 5000,
  var99: 7000,
  byUnderlying: [],
});

/** An account.<id> event: the account and a small risk figure, numbered `seq`. */
export function accountEvent(seq: number, accountId: string) {
  const ts = now();
  return {
    seq,
    ts,
    accountId,
    account: account(accountId),
    risk: { accountId, asOf: ts, cashDelta: 1, gamma: 1, vega: 1, theta: 1, var95: 1, var99: 2, byUnderlying: [] },
  };
}

export function marketTick(symbol: string, seq: number) {
  return {
    seq,
    ts: now(),
    symbol,
    name: "500ETF",
    last: 6.1,
    bid: 6.099,
    ask: 6.101,
    volume: 1000 + seq,
    change: 0.01,
    kind: "underlying",
  };
}

function defaultHandlers(executions: Map<string, Execution>): Handlers {
  let nextExecution = 1;
  return {
    auth_service: {
      authenticate: ([username, password]) => {
        const u = Object.hasOwn(users, username) ? users[username] : undefined;
        if (!u || u.password !== password)
          throw new Error(formatBackendError("UNAUTHENTICATED", "wrong username or password"));
        return {
          user: { id: u.id, username, displayName: username, role: u.role, active: true },
          permissions: u.permissions,
        };
      },
      verify_user: ([userId]) => ({ userId, exists: true, active: true }),
      change_password: ([, oldPassword]) => {
        if (oldPassword === "wrong")
          throw new Error(formatBackendError("INVALID_ARGUMENT", "old password does not match"));
        return { changed: true };
      },
      get_user_permissions: ([userId]) => {
        const u = Object.values(users).find((x) => x.id === userId);
        if (!u) throw new Error(formatBackendError("NOT_FOUND", `no user ${userId}`));
        return { userId, role: u.role, permissions: u.permissions, accounts: u.accounts, allAccounts: u.all };
      },
    },
    account_service: {
      get_accounts: () => ["account1", "account2", "account3"].map((id) => account(id)),
      get_account: ([id]) => {
        if (!["account1", "account2", "account3"].includes(id))
          throw new Error(formatBackendError("NOT_FOUND", `no account ${id}`));
        return account(id);
      },
      get_positions: ([id]) => [
        {
          accountId: id,
          code: "10004567",
          name: "500ETF购12月6000",
          underlying: "510500",
          right: "call",
          strike: 6,
          expiry: "2026-12-23",
          multiplier: 10000,
          quantity: -10,
          avgPrice: 0.12,
          lastPrice: 0.11,
          pnl: 1000,
          greeks: { delta: -1000, gamma: -10, vega: -5000, theta: 300 },
        },
      ],
      get_risk_metrics: ([id]) => risk(id),
      set_account_enabled: ([id, enabled]) => account(id, enabled),
      verify_positions: ([id]) => ({ accountId: id, matched: true, checkedAt: now(), mismatches: [] }),
    },
    algorithm_service: {
      get_algorithms: () => [algorithm("algo1", "account1"), algorithm("algo3", "account3")],
      get_algorithm: ([id]) => algorithm(id, id === "algo3" ? "account3" : "account1"),
      send_algorithm_command: ([id, command]) => algorithm(id, "account1", command === "pause" ? "paused" : "running"),
      get_algorithm_logs: () => [{ time: now(), level: "info", message: "slice 1 sent" }],
    },
    instruction_service: {
      parse_instructions: ([text, accounts]) => ({ instructions: [straddle(text)], accounts }),
      execute_instructions: ([, , dryRun]) => {
        const ex = execution(`ex-${nextExecution++}`, dryRun ? "completed" : "running", Boolean(dryRun));
        executions.set(ex.id, ex);
        return ex;
      },
      get_execution_status: ([id]) => {
        const ex = executions.get(id);
        if (!ex) throw new Error(formatBackendError("NOT_FOUND", `no execution ${id}`));
        return ex;
      },
      cancel_execution: ([id]) => {
        const ex = executions.get(id);
        if (!ex) throw new Error(formatBackendError("NOT_FOUND", `no execution ${id}`));
        ex.status = "cancelled";
        return ex;
      },
    },
  };
}

export async function startFakeBackend(
  o: { brokerEndpoint?: string; pubEndpoint?: string; heartbeatInterval?: number } = {},
) {
  // 500 ms: every socket shares this test process, and a busy event loop must not expire workers.
  const heartbeatInterval = o.heartbeatInterval ?? 500;
  const executions = new Map<string, Execution>();
  const handlers = defaultHandlers(executions);
  const raw = new Map<string, RawHandler>();
  const broker = new MdpBroker({ heartbeatInterval });
  const brokerUrl = await broker.bind(o.brokerEndpoint ?? "tcp://127.0.0.1:*");
  const pub = new Publisher({ linger: 0 });
  await pub.bind(o.pubEndpoint ?? "tcp://127.0.0.1:*");
  const pubUrl = pub.lastEndpoint!;
  const services: readonly ServiceName[] = serviceNames;
  const newWorker = (service: ServiceName) =>
    new MdpWorker({
      endpoint: brokerUrl,
      service,
      heartbeatInterval,
      reconnect: heartbeatInterval,
      concurrency: 2,
      handler: async (payload) => {
        const [method, args, kwargs] = loads(payload) as [string, unknown[], Kwargs];
        const table = handlers[service] as unknown as Record<string, RawHandler | undefined>;
        const handler = raw.get(`${service}.${method}`) ?? (Object.hasOwn(table, method) ? table[method] : undefined);
        if (!handler) return dumps([false, `NOT_FOUND: no method ${method}`]);
        try {
          return dumps([true, await handler(args, kwargs)]);
        } catch (err) {
          return dumps([false, err instanceof Error ? err.message : String(err)]);
        }
      },
    });
  const workers = services.map(newWorker);
  await Promise.all(workers.map((w) => w.start()));
  let sending = Promise.resolve();
  let seq = 0;
  /** Publishes serially (zeromq.js throws EBUSY on a concurrent send). */
  function publish(topic: string, event: unknown, form: "two-frame" | "vnpy" = "two-frame"): Promise<void> {
    sending = sending.then(() =>
      form === "two-frame" ? pub.send([topic, dumps(event)]) : pub.send(dumps([topic, event])),
    );
    return sending;
  }
  return {
    brokerUrl,
    pubUrl,
    handlers,
    executions,
    /** Answers `service.method` with `handler`, which may break the contract; the typed handler is ignored meanwhile. */
    misbehave<S extends ServiceName>(service: S, method: keyof Handlers[S] & string, handler: RawHandler): void {
      raw.set(`${service}.${method}`, handler);
    },
    publish,
    nextSeq: () => ++seq,
    /** Stops one service's worker (DISCONNECT): the broker then has none for it. */
    stopWorker: (service: ServiceName) => workers[services.indexOf(service)]!.close(),
    /** Starts a fresh worker for a service stopped with stopWorker (a new process would have an empty reply cache too). */
    async startWorker(service: ServiceName): Promise<void> {
      const worker = newWorker(service);
      workers[services.indexOf(service)] = worker;
      await worker.start();
    },
    /** Our broker's counters (queues, joins, withdrawals). */
    brokerStats: () => broker.stats(),
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      pub.close();
      await broker.close();
    },
  };
}

export type FakeBackend = Awaited<ReturnType<typeof startFakeBackend>>;
