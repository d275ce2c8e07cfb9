// tRPC's declarations (which every tRPC client's types load) use Disposable and
// AsyncDisposable, and tRPC defines Symbol.dispose / Symbol.asyncDispose at run time
// where the platform lacks them. A browser project whose lib stops at ES2022 would
// not know those names with skipLibCheck off, so the SDK's declarations bring the lib.
/// <reference lib="esnext.disposable" preserve="true" />
export { createGatewayClient, closeGatewayClient } from "./client.js";
export type { GatewayClient, GatewayClientOptions, GatewayConnectionState } from "./client.js";
export { login } from "./login.js";
export { createSession } from "./session.js";
export type { GatewaySession, SessionOptions, SessionTokens } from "./session.js";
export { newClientOrderId } from "./client-order-id.js";
export type { LoginResult } from "./login.js";
export { GatewayError, toGatewayError, isGatewayError } from "./errors.js";
export type { GatewayErrorKind, GatewayErrorInit, UnknownOutcome } from "./errors.js";
export { reconnectDelay } from "./reconnect.js";
export type { ReconnectOptions } from "./reconnect.js";
export type { TokenSource } from "./token.js";
export type { WebSocketConstructor } from "./websocket.js";
export type { AppRouter } from "./router.js";
export type { RouterInputs, RouterOutputs } from "./types.js";
// The source document's socket.io events: their payload types (connectEvents is in @desk/sdk/events).
export type * from "./event-types.js";
