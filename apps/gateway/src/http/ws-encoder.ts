import { jsonEncoder } from "@trpc/server/adapters/ws";
import { noteEncodedReply } from "./call-clock.js";
import { noteSubscriptionAddresses } from "./direct-subscriptions.js";

/*
 * tRPC's ws encoder, JSON in text frames, with two notes taken on the way: each
 * reply's write time for the call clock (call-clock.ts), and each subscription
 * request's JSON-RPC address, so a feed's stream can write its frames itself
 * (direct-subscriptions.ts).
 */
export const wsEncoder = {
  encode(message: unknown): string {
    noteEncodedReply(message);
    return JSON.stringify(message);
  },
  decode(data: unknown): unknown {
    const message: unknown = jsonEncoder.decode(data as Parameters<typeof jsonEncoder.decode>[0]);
    noteSubscriptionAddresses(message);
    return message;
  },
};
