import type { ArgsOf, MethodName, ResultOf, ServiceName } from "@desk/contracts";
import { type DestinationStream, pino } from "pino";
import type { Logger } from "./logger.js";

/**
 * The audit trail: one JSON line per write the gateway was asked for (login,
 * logout, refresh, password change, account enable, algorithm command, execute,
 * cancel) and per refusal of one, on a pino logger of its own, written to its own
 * file when AUDIT_LOG names one (synchronously: a line is on disk before the caller
 * gets its answer). No secret reaches it: entries carry ids, never passwords or
 * tokens, and the logger redacts those fields should one ever be added.
 * The format is documented in the gateway README ("Audit trail").
 */

/** How a write ended: done, refused before it was sent, failed (certainly not done), or unknown. */
export type AuditOutcome = "ok" | "refused" | "failed" | "unknown";

export interface AuditEntry {
  /** What was asked: the procedure (`instruction.execute`, `auth.login`, ...). */
  action: string;
  /** The backend method it became, `service.method`, when it reached the backend. */
  method?: string | undefined;
  /** Who: the user id and name from the token, or for a login the name it claims. */
  userId: string | undefined;
  username: string | undefined;
  /** From where: the client address and the transport. */
  ip: string;
  transport: "http" | "ws" | "socket.io";
  /** The session (login) it belongs to, when known. */
  sessionId?: string | undefined;
  requestId?: string | undefined;
  clientOrderId?: string | undefined;
  /** The objects concerned (ids, the command, the accounts, counts): never secrets. */
  target?: Record<string, unknown> | undefined;
  /** What the call produced (an execution's id and status, ...), when it succeeded. */
  result?: Record<string, unknown> | undefined;
  outcome: AuditOutcome;
  /** The error code the caller got (tRPC's, e.g. FORBIDDEN, TOO_MANY_REQUESTS, TIMEOUT). */
  code?: string | undefined;
  message?: string | undefined;
  durationMs: number;
}

export interface AuditLog {
  record(entry: AuditEntry): void;
  close(): void;
}

/** Fields that hold secrets, should an entry ever carry one. */
const REDACT = [
  "password",
  "oldPassword",
  "newPassword",
  "token",
  "refreshToken",
  "authorization",
  "*.password",
  "*.oldPassword",
  "*.newPassword",
  "*.token",
  "*.refreshToken",
  "*.authorization",
];

/**
 * The audit logger: a file of its own (`path`), always on whatever LOG_LEVEL says,
 * or without a path a child of the main logger (its destination and level).
 */
export function createAuditLog(o: { path: string | null; logger: Logger }): AuditLog {
  if (o.path === null) {
    const child = o.logger.child({ log: "audit" });
    return { record: (entry) => child.info(entry, "audit"), close: () => undefined };
  }
  const destination: DestinationStream & { flushSync?: () => void; end?: () => void } = pino.destination({
    dest: o.path,
    append: true,
    mkdir: true,
    sync: true,
  });
  const audit = pino(
    {
      level: "info",
      base: { app: "gateway", log: "audit" },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT, censor: "[redacted]" },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  return {
    record: (entry) => audit.info(entry, "audit"),
    close: () => destination.end?.(),
  };
}

type Summary<S extends ServiceName, M extends MethodName<S>> = {
  target: (args: ArgsOf<S, M>) => Record<string, unknown>;
  result?: (result: ResultOf<S, M>) => Record<string, unknown>;
};

/** What each write's line says about its args and result: ids and counts, never a password. */
const summaries: { [S in ServiceName]?: { [M in MethodName<S>]?: Summary<S, M> } } = {
  auth_service: {
    change_password: { target: ([userId]) => ({ userId }) },
  },
  account_service: {
    set_account_enabled: {
      target: ([accountId, enabled]) => ({ accountId, enabled }),
      result: (account) => ({ enabled: account.enabled }),
    },
  },
  algorithm_service: {
    send_algorithm_command: {
      target: ([algorithmId, command]) => ({ algorithmId, command }),
      result: (algorithm) => ({ status: algorithm.status }),
    },
  },
  instruction_service: {
    execute_instructions: {
      target: ([instructions, accounts, dryRun]) => ({
        accounts,
        instructions: instructions.length,
        types: instructions.map((i) => i.type),
        dryRun: dryRun === true,
      }),
      result: (execution) => ({ executionId: execution.id, status: execution.status, legs: execution.legs.length }),
    },
    cancel_execution: {
      target: ([executionId]) => ({ executionId }),
      result: (execution) => ({ status: execution.status }),
    },
  },
};

/** The target of a write's audit line (undefined for a method without a summary). */
export function auditTarget(service: ServiceName, method: string, args: unknown): Record<string, unknown> | undefined {
  const summary = (summaries[service] as Record<string, Summary<ServiceName, never>> | undefined)?.[method];
  return summary?.target(args as never);
}

/** The result part of a write's audit line. */
export function auditResult(
  service: ServiceName,
  method: string,
  result: unknown,
): Record<string, unknown> | undefined {
  const summary = (summaries[service] as Record<string, Summary<ServiceName, never>> | undefined)?.[method];
  return summary?.result?.(result as never);
}

/** A failed call's outcome: unknown when the error says the write may have run (issue 9's OutcomeUnknown). */
export function failureOutcome(err: unknown, reachedBackend: boolean): AuditOutcome {
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  if (cause instanceof Error && cause.name === "OutcomeUnknown") return "unknown";
  return reachedBackend ? "failed" : "refused";
}
