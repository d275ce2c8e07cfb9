import {
  type ArgsOf,
  type Contracts,
  type MethodName,
  type Permission,
  type ResultOf,
  type ServiceName,
  contracts,
  getMethodContract,
} from "@desk/contracts";
import type { AnyTRPCProcedure } from "@trpc/server";
import { z } from "zod";
import type { GatewayRuntime } from "./runtime.js";
import { auditTarget } from "./audit.js";
import { type AuthUser, requireAccounts, requirePermission, requireSelfOrAdmin } from "./authorization.js";
import type { AuditTrail, Backend } from "./middleware/backend.js";
import { guardedProcedure } from "./trpc.js";

/**
 * One declaration per backend method: which contract method a procedure calls,
 * how its input becomes the method's positional args, what the caller must hold
 * (a permission, the accounts involved, or being the user concerned), and its
 * REST route. The backend call validates the result against the contract, once;
 * the procedure returns it as it is (or scoped, for lists of accounts' objects).
 *
 *   get: backendCall("account_service", "get_account", {
 *     permission: "account:read",
 *     args: ["accountId"],                 // input { accountId } -> args [accountId]
 *     accounts: (input) => [input.accountId],
 *   }).query("/accounts/{accountId}"),
 */

/** What a declared call runs with: the context authedProcedure builds. */
export interface CallerContext {
  user: AuthUser;
  backend: Backend;
  audit: AuditTrail;
}

type ArgSchemas<S extends ServiceName, M extends MethodName<S>> = Contracts[S][M] extends {
  args: z.ZodTuple<infer Items extends readonly z.core.SomeType[]>;
}
  ? Items
  : never;

/** The input object of named args: names[i] holds arg i, with arg i's schema. */
type NamedArgsShape<Items extends readonly z.core.SomeType[], Names extends readonly string[]> = {
  [K in keyof Names & `${number}` as Names[K] & string]: K extends keyof Items
    ? Items[K] extends z.core.$ZodType
      ? Items[K]
      : never
    : never;
};
type NamedArgsInput<
  S extends ServiceName,
  M extends MethodName<S>,
  Names extends readonly string[],
> = Names extends readonly [] ? z.ZodVoid : z.ZodObject<NamedArgsShape<ArgSchemas<S, M>, Names>>;

interface Scope<S extends ServiceName, M extends MethodName<S>, I> {
  /** Fixed: checked before the input is parsed (withPermission). A function: checked on the parsed input. */
  permission?: Permission | ((input: I) => Permission);
  /** Accounts the call touches, every one the caller's (a lookup may need ctx.backend). */
  accounts?: (input: I, ctx: CallerContext) => readonly string[] | Promise<readonly string[]>;
  /** The user whose data this is: the caller themself, or the caller is an admin. */
  ofUser?: (input: I, caller: AuthUser) => string;
  /** Scopes the result to the caller (authorization's onlyVisible / ownedBy). */
  result?: (result: ResultOf<S, M>, caller: AuthUser) => ResultOf<S, M>;
  /** A caller-chosen MDP requestId (idempotency key). */
  requestId?: (input: I, caller: AuthUser) => string | undefined;
  /** The caller's own key behind requestId, named in an unknown-outcome error. */
  clientOrderId?: (input: I) => string | undefined;
  /** What a successful call changes in the gateway itself (a password change ends the user's sessions). */
  after?: (result: ResultOf<S, M>, ctx: CallerContext & { gateway: GatewayRuntime }) => void;
}

type NamedSpec<S extends ServiceName, M extends MethodName<S>, Names extends readonly string[]> = Scope<
  S,
  M,
  z.output<NamedArgsInput<S, M, Names>>
> & {
  /** The input is { [names[i]]: arg i }, validated by the contract's own arg schemas. */
  args: Names;
};

type MappedSpec<S extends ServiceName, M extends MethodName<S>, Input extends z.ZodType> = Scope<
  S,
  M,
  z.output<Input>
> & {
  input: Input;
  /** The method's positional args from the input (and the caller, for what comes from the token). */
  args: (input: z.output<Input>, caller: AuthUser) => ArgsOf<S, M>;
};

export interface BackendCall<S extends ServiceName, M extends MethodName<S>, Input extends z.ZodType> {
  readonly input: Input;
  /** The call with its checks but the fixed permission (the procedure's), for a procedure or a subscription. */
  run(ctx: CallerContext, input: z.output<Input>): Promise<ResultOf<S, M>>;
  /** As a query, REST GET `path` under /api/v1. */
  query(path: `/${string}`, summary?: string): ReturnType<typeof queryProcedure<Input, ResultOf<S, M>>>;
  /** As a mutation, REST POST `path` under /api/v1. */
  mutation(path: `/${string}`, summary?: string): ReturnType<typeof mutationProcedure<Input, ResultOf<S, M>>>;
}

export function backendCall<S extends ServiceName, M extends MethodName<S>, const Names extends readonly string[]>(
  service: S,
  method: M,
  spec: NamedSpec<S, M, Names>,
): BackendCall<S, M, NamedArgsInput<S, M, Names>>;
export function backendCall<S extends ServiceName, M extends MethodName<S>, Input extends z.ZodType>(
  service: S,
  method: M,
  spec: MappedSpec<S, M, Input>,
): BackendCall<S, M, Input>;
export function backendCall(service: ServiceName, method: string, declared: object): AnyBackendCall {
  const spec = declared as ImplementationSpec;
  const { input, toArgs } =
    typeof spec.args === "function"
      ? { input: spec.input as z.ZodType, toArgs: spec.args }
      : namedArgs(service, method, spec.args);
  const fixedPermission = typeof spec.permission === "string" ? spec.permission : undefined;
  const write = getMethodContract(service, method)?.kind === "write";
  const call: AnyBackendCall = {
    input,
    async run(ctx, value) {
      const requestId = spec.requestId?.(value, ctx.user);
      const clientOrderId = spec.clientOrderId?.(value);
      try {
        // A fixed permission is the procedure's (withPermission), checked before the input is parsed; a
        // subscription reusing run() declares its own. One that depends on the input is checked here.
        if (typeof spec.permission === "function") requirePermission(ctx.user, spec.permission(value));
        if (spec.ofUser) requireSelfOrAdmin(ctx.user, spec.ofUser(value, ctx.user));
        if (spec.accounts) requireAccounts(ctx.user, await spec.accounts(value, ctx));
      } catch (err) {
        // A write refused here never reached the backend: its line says so (backend writes log their own).
        if (write && !ctx.audit.written) {
          const target = auditTarget(service, method, toArgs(value, ctx.user));
          ctx.audit.writeFailure(err, { method: `${service}.${method}`, clientOrderId, target, reachedBackend: false });
        }
        throw err;
      }
      const result = await ctx.backend.call(
        service,
        method as never,
        toArgs(value, ctx.user) as never,
        requestId === undefined ? undefined : { requestId, clientOrderId },
      );
      spec.after?.(result, ctx as CallerContext & { gateway: GatewayRuntime });
      return spec.result ? spec.result(result as never, ctx.user) : result;
    },
    query: (path, summary) =>
      queryProcedure(call, { service, method, path, summary, permission: fixedPermission, write }),
    mutation: (path, summary) =>
      mutationProcedure(call, { service, method, path, summary, permission: fixedPermission, write }),
  };
  return call;
}

/** What the overloads above accept, as the implementation reads it. */
interface ImplementationSpec {
  input?: z.ZodType;
  args: readonly string[] | ((input: unknown, caller: AuthUser) => unknown[]);
  permission?: Permission | ((input: unknown) => Permission);
  accounts?: (input: unknown, ctx: CallerContext) => readonly string[] | Promise<readonly string[]>;
  ofUser?: (input: unknown, caller: AuthUser) => string;
  result?: (result: unknown, caller: AuthUser) => unknown;
  requestId?: (input: unknown, caller: AuthUser) => string | undefined;
  clientOrderId?: (input: unknown) => string | undefined;
  after?: (result: unknown, ctx: CallerContext & { gateway: GatewayRuntime }) => void;
}

interface AnyBackendCall extends Runnable<z.ZodType, unknown> {
  query(path: `/${string}`, summary?: string): unknown;
  mutation(path: `/${string}`, summary?: string): unknown;
}

/** The part of a call a procedure is built from. */
interface Runnable<Input extends z.ZodType, R> {
  readonly input: Input;
  run(ctx: CallerContext, input: z.output<Input>): Promise<R>;
}

function namedArgs(service: ServiceName, method: string, names: readonly string[]) {
  const items = (contracts[service] as Record<string, { args: z.ZodTuple }>)[method]!.args.def.items;
  if (names.length !== items.length)
    throw new TypeError(`${service}.${method}: ${names.length} names for ${items.length} args`);
  const input = names.length === 0 ? z.void() : z.object(Object.fromEntries(names.map((n, i) => [n, items[i]!])));
  const toArgs = (value: unknown) => names.map((n) => (value as Record<string, unknown>)[n]);
  return { input, toArgs };
}

interface Route {
  service: ServiceName;
  method: string;
  path: `/${string}`;
  summary: string | undefined;
  permission: Permission | undefined;
  /** A write: audited, and its REST route may answer 504 (outcome unknown). */
  write: boolean;
}

function meta(route: Route, httpMethod: "GET" | "POST") {
  return routeMeta({
    method: httpMethod,
    path: route.path,
    // account_service -> "account": the REST document groups routes by service.
    tag: route.service.replace(/_service$/, ""),
    summary: route.summary,
    write: route.write,
  });
}

/**
 * A REST route's entry in the OpenAPI document, backend methods' and the gateway's own
 * (login, health) alike: its statuses follow from its method, path and protection.
 */
export function routeMeta(o: {
  method: "GET" | "POST";
  path: `/${string}`;
  tag: string;
  summary?: string | undefined;
  /** false for public routes (no bearer token, no 401/403 from the guard). */
  protect?: boolean;
  write?: boolean;
  /** Statuses of this route's own, over the common ones. */
  errors?: Record<number, string>;
}) {
  const protect = o.protect ?? true;
  return {
    openapi: {
      method: o.method,
      path: o.path,
      tags: [o.tag],
      protect,
      errorResponses: {
        ...errorStatuses({ path: o.path, write: o.write ?? false }, o.method, { protect }),
        ...o.errors,
      },
      ...(o.summary !== undefined ? { summary: o.summary } : {}),
    },
  };
}

/**
 * The statuses a route may answer besides 200, for the REST document: every
 * protected route can be refused (401, 403, 429) and can meet a backend that is
 * down, slow or broken (503, 408, 502); a body can be malformed or too large (400,
 * 413, 415), a path id unknown (404), a write's outcome unknown (504).
 */
function errorStatuses(
  route: Pick<Route, "path" | "write">,
  httpMethod: "GET" | "POST",
  o: { protect?: boolean } = {},
): Record<number, string> {
  const statuses: Record<number, string> = { 400: "Invalid input (the message names the field)" };
  if (o.protect !== false) {
    statuses[401] = "Missing, invalid, expired or revoked token";
    statuses[403] = "Missing permission or account";
  }
  if (route.path.includes("{")) statuses[404] = "Not found";
  if (httpMethod === "POST") {
    statuses[413] = "Body over 1 MB";
    statuses[415] = "Body is not application/json";
  }
  statuses[408] = "The backend did not answer in time";
  statuses[429] = "Rate limited (see Retry-After)";
  statuses[500] = "Internal server error";
  statuses[502] = "The backend's reply broke its contract";
  statuses[503] = "The backend (or the gateway) is unavailable";
  if (route.write) statuses[504] = "The write's outcome is unknown: check before sending it again";
  return statuses;
}

function routed<Input extends z.ZodType>(input: Input, route: Route, httpMethod: "GET" | "POST") {
  const base = guardedProcedure({ permission: route.permission, audit: route.write });
  return base.meta(meta(route, httpMethod)).input(input);
}

function queryProcedure<Input extends z.ZodType, R>(call: Runnable<Input, R>, route: Route) {
  const procedure = routed(call.input, route, "GET").query(({ ctx, input }) => call.run(ctx, input as z.output<Input>));
  return documentResult(procedure, route);
}

function mutationProcedure<Input extends z.ZodType, R>(call: Runnable<Input, R>, route: Route) {
  const procedure = routed(call.input, route, "POST").mutation(({ ctx, input }) =>
    call.run(ctx, input as z.output<Input>),
  );
  return documentResult(procedure, route);
}

/**
 * The REST document describes the response with the contract's result schema,
 * which trpc-to-openapi reads from the procedure's output parser. Set there
 * directly rather than with .output(): that would parse every result a second
 * time (the backend call has just validated it against the same schema).
 */
function documentResult<P extends AnyTRPCProcedure>(procedure: P, route: Route): P {
  const contract = (contracts[route.service] as Record<string, { result: z.ZodType }>)[route.method]!;
  (procedure._def as { output?: unknown }).output = contract.result;
  return procedure;
}
