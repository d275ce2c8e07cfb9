import type { AccountEvent, AlgorithmEvent, MarketTick } from "./events.js";
import type { ExecuteInstructionsInput } from "./inputs.js";
import type { Execution, ExecutionStatus } from "./instruction.js";

/*
 * The source document's WebSocket API (its "WebSocket Events" section), as the
 * gateway serves it over socket.io beside tRPC: the event names, their payloads
 * and their tRPC equivalents. Types only (plus the names): the gateway validates
 * every payload with the same schemas as the tRPC procedures.
 */

/** Topic subscriptions: the subscribe/unsubscribe events, the event updates arrive on, the payload's id field. */
export const realtimeTopics = {
  account: {
    subscribe: "account:subscribe",
    unsubscribe: "account:unsubscribe",
    update: "account:update",
    field: "accountIds",
    trpc: "account.onUpdate",
  },
  algorithm: {
    subscribe: "algorithm:subscribe",
    unsubscribe: "algorithm:unsubscribe",
    update: "algorithm:update",
    field: "algorithmIds",
    trpc: "algorithm.onProgress",
  },
  market: {
    subscribe: "market:subscribe",
    unsubscribe: "market:unsubscribe",
    update: "market:tick",
    field: "symbols",
    trpc: "market.onTick",
  },
} as const;

/** Executing with live updates (tRPC instruction.executeLive). */
export const realtimeExecution = {
  execute: "instruction:execute",
  update: "instruction:execution:update",
  trpc: "instruction.executeLive",
} as const;

export type RealtimeTopicKind = keyof typeof realtimeTopics;

/**
 * What the gateway reports on the `error` event and in a failed ack: the same
 * code (tRPC's: UNAUTHORIZED, FORBIDDEN, BAD_REQUEST, ...) and message as tRPC and
 * REST give for the same refusal, and the event it answers.
 */
export interface RealtimeError {
  code: string;
  message: string;
  /** The event this answers (`account:subscribe`, ...), or `session` for the connection's own stream. */
  event: string;
  /** For BAD_REQUEST: each invalid field. */
  issues?: Array<{ path: string[]; message: string }>;
  /** A write whose outcome is unknown (it may have run): the ids to look it up with, as tRPC and REST give them. */
  outcome?: "unknown";
  service?: string;
  method?: string;
  requestId?: string;
  clientOrderId?: string;
}

export type SubscribeAck = { ok: true; topics: string[] } | { ok: false; error: RealtimeError };
export type ExecuteAck =
  | { ok: true; executionId: string; status: ExecutionStatus }
  | { ok: false; error: RealtimeError };

/** What a connection follows, as `session` reports it. */
export interface RealtimeSubscriptions {
  accountIds: string[];
  algorithmIds: string[];
  symbols: string[];
  executionIds: string[];
}

/**
 * Sent on every connect: whether the subscriptions were resumed (after a dropped
 * connection, or a gateway restart announced with `closing`) and what is followed.
 */
export interface RealtimeSession {
  resumed: boolean;
  /** The gateway is shutting down: socket.io-client reconnects by itself, and the subscriptions resume. */
  closing: boolean;
  subscriptions: RealtimeSubscriptions;
}

/** The id field of a subscription payload; lastEventId resumes after that event where the gateway still has it. */
export type TopicSubscribePayload<K extends RealtimeTopicKind> = {
  [F in (typeof realtimeTopics)[K]["field"]]: string[];
} & { lastEventId?: string | null };

/**
 * Events the gateway emits. The second argument is the event's id (the
 * connection's resume point: socket.io-client sends the last one back when it
 * reconnects, and the gateway resumes every subscription after it).
 */
export interface ServerToClientEvents {
  "account:update": (update: AccountEvent, eventId: string) => void;
  "algorithm:update": (update: AlgorithmEvent, eventId: string) => void;
  "market:tick": (tick: MarketTick, eventId: string) => void;
  "instruction:execution:update": (execution: Execution, eventId: string) => void;
  error: (error: RealtimeError) => void;
  session: (session: RealtimeSession, resumeFrom: string) => void;
}

/** Events a client emits; each may take an ack callback. */
export interface ClientToServerEvents {
  "account:subscribe": (payload: TopicSubscribePayload<"account">, ack?: (reply: SubscribeAck) => void) => void;
  "account:unsubscribe": (payload: TopicSubscribePayload<"account">, ack?: (reply: SubscribeAck) => void) => void;
  "algorithm:subscribe": (payload: TopicSubscribePayload<"algorithm">, ack?: (reply: SubscribeAck) => void) => void;
  "algorithm:unsubscribe": (payload: TopicSubscribePayload<"algorithm">, ack?: (reply: SubscribeAck) => void) => void;
  "market:subscribe": (payload: TopicSubscribePayload<"market">, ack?: (reply: SubscribeAck) => void) => void;
  "market:unsubscribe": (payload: TopicSubscribePayload<"market">, ack?: (reply: SubscribeAck) => void) => void;
  /** Starts an execution (dryRun: priced, nothing sent) and streams it on instruction:execution:update until it ends. */
  "instruction:execute": (payload: ExecuteInstructionsInput, ack?: (reply: ExecuteAck) => void) => void;
}
