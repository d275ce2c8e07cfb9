/** Pure domain logic of the mock trading system: no sockets, deterministic for a seed. */
export * from "./black-scholes.js";
export * from "./calendar.js";
export * from "./chain.js";
export * from "./legs.js";
export * from "./market.js";
export * from "./parser.js";
export * from "./random.js";
export * from "./risk.js";
export * from "./types.js";
export * from "./underlyings.js";
