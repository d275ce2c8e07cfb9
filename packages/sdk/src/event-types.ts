// The source document's socket.io events: the payload types a frontend names (both the
// main entry and @desk/sdk/events export them; types only, nothing at run time).
export type {
  AccountEvent,
  AlgorithmEvent,
  ClientToServerEvents,
  ExecuteAck,
  Execution,
  MarketTick,
  RealtimeError,
  RealtimeSession,
  RealtimeSubscriptions,
  ServerToClientEvents,
  SubscribeAck,
  TopicSubscribePayload,
} from "@desk/contracts";
