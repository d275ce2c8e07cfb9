/**
 * Realistic values for every method and event, as the Python trading system
 * would send them. Shared by the zod tests and the Python cross-check.
 */
import type {
  Account,
  AccountEvent,
  Algorithm,
  AlgorithmEvent,
  AlgorithmLog,
  ArgsInputOf,
  Execution,
  ExecutionEvent,
  Instruction,
  MarketTick,
  MethodName,
  Position,
  ResultOf,
  RiskMetrics,
  ServiceName,
  TopicKind,
  EventOf,
} from "../src/index.js";

export const account1: Account = {
  id: "account1",
  name: "波动率账户一",
  broker: "华泰证券",
  enabled: true,
  balance: 5_234_567.89,
  available: 3_120_000.5,
  margin: 2_114_567.39,
  dailyPnl: -12_345.6,
  totalPnl: 456_789.01,
};

export const shortCall: Position = {
  accountId: "account1",
  code: "10008547",
  name: "500ETF购12月6000",
  underlying: "510500",
  right: "call",
  strike: 6.0,
  expiry: "2025-12-24",
  multiplier: 10000,
  quantity: -30,
  avgPrice: 0.1523,
  lastPrice: 0.1311,
  pnl: 6360,
  greeks: { delta: -812_000, gamma: -95_000, vega: -21_300, theta: 4_100 },
};

export const adjustedPut: Position = {
  ...shortCall,
  code: "10007210",
  name: "500ETF沽12月5750A",
  right: "put",
  strike: 5.75,
  multiplier: 10153,
  quantity: -30,
  greeks: { delta: 640_000, gamma: -88_000, vega: -19_800, theta: 3_900 },
};

export const risk1: RiskMetrics = {
  accountId: "account1",
  asOf: "2025-11-24T14:30:00+08:00",
  cashDelta: -172_000,
  gamma: -183_000,
  vega: -41_100,
  theta: 8_000,
  var95: 98_500,
  var99: 139_300,
  byUnderlying: [{ underlying: "510500", cashDelta: -172_000, gamma: -183_000, vega: -41_100, theta: 8_000 }],
};

export const twap: Algorithm = {
  id: "algo-20251124-001",
  name: "TWAP sell 500ETF购12月6000",
  kind: "TWAP",
  status: "running",
  progress: 0.4,
  accountId: "account1",
  parameters: { code: "10008547", side: "sell", durationMinutes: 30, sliceSeconds: 60, passive: true },
  targetQuantity: 50,
  filledQuantity: 20,
  createdAt: "2025-11-24T06:00:00.000Z",
  updatedAt: "2025-11-24T06:12:00.000Z",
};

export const algoLog: AlgorithmLog = {
  time: "2025-11-24T06:12:00.123Z",
  level: "info",
  message: "slice 12/30 filled 2 @ 0.1310",
};

export const sellStraddle: Instruction = {
  type: "straddle",
  text: "双卖 500 当月 万1 的v",
  side: "sell",
  structure: "straddle",
  otmSteps: 0,
  underlying: "510500",
  month: "current",
  size: { unit: "vega", value: 10000 },
};

export const buyStrangle: Instruction = {
  type: "straddle",
  text: "双买 300 下月 虚2档 10手",
  side: "buy",
  structure: "strangle",
  otmSteps: 2,
  underlying: "510300",
  month: "next",
  size: { unit: "lots", value: 10 },
};

export const sellPut: Instruction = {
  type: "single",
  text: "卖沽 500 当季 虚1档 5千的v",
  side: "sell",
  right: "put",
  underlying: "510500",
  month: "current_quarter",
  strike: { kind: "otm", steps: 1 },
  size: { unit: "vega", value: 5000 },
};

export const buyCallAtPrice: Instruction = {
  type: "single",
  text: "买购 300 下季 4.0 delta 50万",
  side: "buy",
  right: "call",
  underlying: "510300",
  month: "next_quarter",
  strike: { kind: "price", price: 4.0 },
  size: { unit: "delta", value: 500_000 },
};

export const closeAll: Instruction = { type: "close", text: "平仓" };
export const close500Current: Instruction = {
  type: "close",
  text: "平 500 当月",
  underlying: "510500",
  month: "current",
};
export const rollCurrentToNext: Instruction = { type: "roll", text: "移仓 当月 到 下月", from: "current", to: "next" };

export const allInstructions: Instruction[] = [
  sellStraddle,
  buyStrangle,
  sellPut,
  buyCallAtPrice,
  closeAll,
  close500Current,
  rollCurrentToNext,
];

export const execution: Execution = {
  id: "exec-7f3a",
  status: "running",
  dryRun: false,
  createdAt: "2025-11-24T06:00:00Z",
  updatedAt: "2025-11-24T06:00:05Z",
  progress: 0.5,
  legs: [
    {
      legId: "exec-7f3a-1",
      accountId: "account1",
      code: "10008547",
      name: "500ETF购12月6000",
      side: "sell",
      right: "call",
      strike: 6.0,
      expiry: "2025-12-24",
      targetQuantity: 24,
      filledQuantity: 24,
      avgPrice: 0.1305,
      status: "filled",
    },
    {
      legId: "exec-7f3a-2",
      accountId: "account1",
      code: "10007210",
      name: "500ETF沽12月5750A",
      side: "sell",
      right: "put",
      strike: 5.75,
      expiry: "2025-12-24",
      targetQuantity: 24,
      filledQuantity: 0,
      avgPrice: null,
      status: "working",
    },
  ],
  fills: [{ accountId: "account1", legs: 2, targetQuantity: 48, filledQuantity: 24, premium: 31_320 }],
  error: null,
};

export const optionTick: MarketTick = {
  seq: 1042,
  ts: "2025-11-24T06:30:00.250Z",
  symbol: "10008547",
  kind: "option",
  name: "500ETF购12月6000",
  last: 0.1311,
  bid: 0.1309,
  ask: 0.1313,
  volume: 18_234,
  change: -0.032,
  underlying: "510500",
  right: "call",
  strike: 6.0,
  expiry: "2025-12-24",
  multiplier: 10000,
  iv: 0.2135,
  greeks: { delta: 0.45, gamma: 1.9, vega: 0.0071, theta: -0.0014 },
};

export const underlyingTick: MarketTick = {
  seq: 77,
  ts: "2025-11-24T06:30:00.250Z",
  symbol: "510500",
  kind: "underlying",
  name: "中证500ETF",
  last: 5.912,
  bid: 5.911,
  ask: 5.912,
  volume: 48_123_400,
  change: 0.0041,
};

export const accountEvent: AccountEvent = {
  seq: 5,
  ts: "2025-11-24T06:30:01Z",
  accountId: "account1",
  account: account1,
  risk: risk1,
};
export const algorithmEvent: AlgorithmEvent = {
  seq: 9,
  ts: "2025-11-24T06:30:01Z",
  algorithmId: twap.id,
  algorithm: twap,
  log: algoLog,
};
export const executionEvent: ExecutionEvent = {
  seq: 2,
  ts: "2025-11-24T06:30:01Z",
  executionId: execution.id,
  execution,
};

type Examples = { [S in ServiceName]: { [M in MethodName<S>]: { args: ArgsInputOf<S, M>; result: ResultOf<S, M> } } };

/** One valid call (args) and reply (result) per method: the type forces all 18 to be present. */
export const methodExamples: Examples = {
  auth_service: {
    authenticate: {
      args: ["trader1", "trader123"],
      result: {
        user: { id: "u-trader1", username: "trader1", displayName: "交易员一", role: "trader", active: true },
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
    },
    verify_user: { args: ["u-trader1"], result: { userId: "u-trader1", exists: true, active: true } },
    change_password: { args: ["u-trader1", "trader123", "n3w-Passw0rd"], result: { changed: true } },
    get_user_permissions: {
      args: ["u-trader1"],
      result: {
        userId: "u-trader1",
        role: "trader",
        permissions: ["account:read", "instruction:parse", "market:read"],
        accounts: ["account1", "account2"],
        allAccounts: false,
      },
    },
  },
  account_service: {
    get_accounts: { args: [], result: [account1, { ...account1, id: "account2", name: "趋势账户", enabled: false }] },
    get_account: { args: ["account1"], result: account1 },
    get_positions: { args: ["account1"], result: [shortCall, adjustedPut] },
    get_risk_metrics: { args: ["account1"], result: risk1 },
    set_account_enabled: { args: ["account1", false], result: { ...account1, enabled: false } },
    verify_positions: {
      args: ["account1"],
      result: {
        accountId: "account1",
        matched: false,
        checkedAt: "2025-11-24T07:00:00Z",
        mismatches: [{ code: "10008547", local: -30, broker: -28 }],
      },
    },
  },
  algorithm_service: {
    get_algorithms: {
      args: [],
      result: [
        twap,
        { ...twap, id: "algo-2", kind: "DELTA_HEDGER", status: "paused", targetQuantity: 0, filledQuantity: 0 },
      ],
    },
    get_algorithm: { args: [twap.id], result: twap },
    send_algorithm_command: { args: [twap.id, "pause"], result: { ...twap, status: "paused" } },
    get_algorithm_logs: {
      args: [twap.id],
      result: [algoLog, { ...algoLog, level: "warn", message: "spread wide, waiting" }],
    },
  },
  instruction_service: {
    parse_instructions: {
      args: ["双卖 500 当月 万1 的v", ["account1", "account2"]],
      result: { instructions: [sellStraddle], accounts: ["account1", "account2"] },
    },
    execute_instructions: { args: [[sellStraddle], ["account1"], true], result: { ...execution, dryRun: true } },
    get_execution_status: { args: [execution.id], result: execution },
    cancel_execution: { args: [execution.id], result: { ...execution, status: "cancelled" } },
  },
};

export const eventExamples: { [K in TopicKind]: EventOf<K>[] } = {
  market: [optionTick, underlyingTick],
  account: [accountEvent],
  algorithm: [algorithmEvent, { ...algorithmEvent, log: null }],
  execution: [executionEvent],
};
