import { z } from "zod";
import {
  Account,
  AccountIdArgs,
  GetAccountsArgs,
  Position,
  RiskMetrics,
  SetAccountEnabledArgs,
  VerifyPositionsResult,
} from "./account.js";
import { Algorithm, AlgorithmIdArgs, AlgorithmLog, GetAlgorithmsArgs, SendAlgorithmCommandArgs } from "./algorithm.js";
import {
  AuthenticateArgs,
  AuthenticateResult,
  ChangePasswordArgs,
  ChangePasswordResult,
  GetUserPermissionsArgs,
  UserPermissions,
  VerifyUserArgs,
  VerifyUserResult,
} from "./auth.js";
import { AccountEvent, AlgorithmEvent, ExecutionEvent, MarketTick } from "./events.js";
import {
  ExecuteInstructionsArgs,
  Execution,
  ExecutionIdArgs,
  executionAccounts,
  ParseInstructionsArgs,
  ParseInstructionsResult,
} from "./instruction.js";

/**
 * The registry: every service's methods and every pub/sub topic family. A new
 * service adds its schemas in a file of its own and its entries here; the rest of
 * the workspace (gateway, mock, test backends, JSON Schema) follows from these two objects.
 */

export type MethodKind = "read" | "write";

/** One method of a service: its positional args (as Python takes them), its result, read or write. */
export interface MethodContract<
  A extends z.ZodTuple = z.ZodTuple,
  R extends z.ZodType = z.ZodType,
  K extends MethodKind = MethodKind,
> {
  readonly args: A;
  readonly result: R;
  readonly kind: K;
}

/** Keeps each method's precise tuple/result types (a plain object literal would widen `kind`). */
function method<A extends z.ZodTuple, R extends z.ZodType, K extends MethodKind>(
  args: A,
  result: R,
  kind: K,
): MethodContract<A, R, K> {
  return { args, result, kind };
}

/** The four services of the trading system and their 18 methods. */
export const contracts = {
  auth_service: {
    authenticate: method(AuthenticateArgs, AuthenticateResult, "read"),
    verify_user: method(VerifyUserArgs, VerifyUserResult, "read"),
    change_password: method(ChangePasswordArgs, ChangePasswordResult, "write"),
    get_user_permissions: method(GetUserPermissionsArgs, UserPermissions, "read"),
  },
  account_service: {
    get_accounts: method(GetAccountsArgs, z.array(Account), "read"),
    get_account: method(AccountIdArgs, Account, "read"),
    get_positions: method(AccountIdArgs, z.array(Position), "read"),
    get_risk_metrics: method(AccountIdArgs, RiskMetrics, "read"),
    set_account_enabled: method(SetAccountEnabledArgs, Account, "write"),
    verify_positions: method(AccountIdArgs, VerifyPositionsResult, "read"),
  },
  algorithm_service: {
    get_algorithms: method(GetAlgorithmsArgs, z.array(Algorithm), "read"),
    get_algorithm: method(AlgorithmIdArgs, Algorithm, "read"),
    send_algorithm_command: method(SendAlgorithmCommandArgs, Algorithm, "write"),
    get_algorithm_logs: method(AlgorithmIdArgs, z.array(AlgorithmLog), "read"),
  },
  instruction_service: {
    parse_instructions: method(ParseInstructionsArgs, ParseInstructionsResult, "read"),
    execute_instructions: method(ExecuteInstructionsArgs, Execution, "write"),
    get_execution_status: method(ExecutionIdArgs, Execution, "read"),
    cancel_execution: method(ExecutionIdArgs, Execution, "write"),
  },
} as const;

/**
 * One topic family: its prefix, its event, and the accounts an event concerns,
 * which the gateway checks per event and per subscriber (absent: the events
 * concern no account, e.g. market ticks).
 */
export interface TopicContract<P extends string = string, E extends z.ZodType = z.ZodType> {
  readonly prefix: P;
  readonly event: E;
  readonly accountsOf?: (event: z.output<E>) => readonly string[];
}

function topic<P extends string, E extends z.ZodType>(
  prefix: P,
  event: E,
  accountsOf?: (event: z.output<E>) => readonly string[],
): TopicContract<P, E> {
  return accountsOf ? { prefix, event, accountsOf } : { prefix, event };
}

/** The four topic families the trading system publishes, keyed by kind. */
export const topics = {
  market: topic("market.", MarketTick),
  account: topic("account.", AccountEvent, (e) => [e.accountId]),
  algorithm: topic("algorithm.", AlgorithmEvent, (e) => [e.algorithm.accountId]),
  execution: topic("execution.", ExecutionEvent, (e) => executionAccounts(e.execution)),
} as const;

export type Contracts = typeof contracts;
export type ServiceName = keyof Contracts;
export type MethodName<S extends ServiceName> = keyof Contracts[S] & string;
type ContractOf<S extends ServiceName, M extends MethodName<S>> = Contracts[S][M] extends MethodContract
  ? Contracts[S][M]
  : never;
/** Positional args after parsing (z.output of the tuple). */
export type ArgsOf<S extends ServiceName, M extends MethodName<S>> = z.output<ContractOf<S, M>["args"]>;
/** Positional args as a caller may write them (z.input: optional trailing args may be left out). */
export type ArgsInputOf<S extends ServiceName, M extends MethodName<S>> = z.input<ContractOf<S, M>["args"]>;
export type ResultOf<S extends ServiceName, M extends MethodName<S>> = z.output<ContractOf<S, M>["result"]>;
export type KindOf<S extends ServiceName, M extends MethodName<S>> = ContractOf<S, M>["kind"];

export type TopicKind = keyof typeof topics;
export type EventOf<K extends TopicKind> = z.infer<(typeof topics)[K]["event"]>;
export type Topic<K extends TopicKind = TopicKind> = `${(typeof topics)[K]["prefix"]}${string}`;

export const serviceNames = Object.keys(contracts) as ServiceName[];
export const topicKinds = Object.keys(topics) as TopicKind[];

/** Every method, flat, for iteration (routers, docs, the JSON schema). */
export const methodList: ReadonlyArray<{
  service: ServiceName;
  method: string;
  contract: MethodContract;
}> = serviceNames.flatMap((service) =>
  Object.entries(contracts[service] as Record<string, MethodContract>).map(([method, contract]) => ({
    service,
    method,
    contract,
  })),
);

/**
 * Names of the methods that change state. Method names are unique across the
 * four services, so the bare name is enough; a write keeps its requestId on retry.
 */
export const writeMethods: ReadonlySet<string> = new Set(
  methodList.filter((m) => m.contract.kind === "write").map((m) => m.method),
);

/** Looks up a method's contract by untrusted names (e.g. from a URL or a frame); undefined if unknown. */
export function getMethodContract(service: string, methodName: string): MethodContract | undefined {
  if (!Object.hasOwn(contracts, service)) return undefined;
  const methods = contracts[service as ServiceName] as Record<string, MethodContract>;
  return Object.hasOwn(methods, methodName) ? methods[methodName] : undefined;
}

/** topicOf("account", "account1") === "account.account1" */
export function topicOf<K extends TopicKind>(kind: K, id: string): Topic<K> {
  if (id.length === 0) throw new TypeError(`topicOf(${kind}): id must not be empty`);
  return `${topics[kind].prefix}${id}` as Topic<K>;
}

/** parseTopic("market.10004567") -> { kind: "market", id: "10004567" }; unknown or empty -> null. */
export function parseTopic(topic: string): { kind: TopicKind; id: string } | null {
  for (const kind of topicKinds) {
    const { prefix } = topics[kind];
    if (topic.startsWith(prefix) && topic.length > prefix.length) {
      return { kind, id: topic.slice(prefix.length) };
    }
  }
  return null;
}

/**
 * One function per method of service S, from its parsed positional args to its
 * result: what a worker for S implements (the mock, a test backend). A method left
 * out is a compile error, so a method added here points at every implementation.
 * C is what the implementation hands each call (caller, logger, ...).
 */
export type ServiceHandlers<S extends ServiceName, C = void> = {
  [M in MethodName<S>]: (args: ArgsOf<S, M>, ctx: C) => ResultOf<S, M> | Promise<ResultOf<S, M>>;
};

/** Handlers for every service. */
export type BackendHandlers<C = void> = { [S in ServiceName]: ServiceHandlers<S, C> };
