/**
 * The narrow slices of @desk/mdp and @desk/pickle the gateway relies on,
 * so the call path can be read (and reasoned about) without those packages' internals.
 */
export interface BrokerClient {
  nextRequestId(): string;
  request(
    service: string,
    payload: Uint8Array,
    o?: { requestId?: string; timeout?: number; retries?: number; signal?: AbortSignal },
  ): Promise<Buffer>;
  mmi(service: string, o?: { timeout?: number }): Promise<"200" | "404" | "501">;
  stats(): {
    inFlight: number;
    sent: number;
    replies: number;
    timeouts: number;
    retries: number;
    reconnects: number;
    lateReplies: number;
    brokerErrors: number;
    endpoint: string;
  };
  close(): Promise<void>;
}

export interface Codec {
  readonly kind: "native" | "python";
  encode(value: unknown): Promise<Buffer>;
  decode(data: Uint8Array): Promise<unknown>;
  close(): Promise<void>;
}
