import type { MdpClient } from "@desk/mdp";
import type { PickleCodec } from "@desk/pickle";

/**
 * The narrow slice of MdpClient the gateway relies on, so the call path can be
 * read (and tested) without the client's internals.
 */
export type BrokerClient = Pick<MdpClient, "nextRequestId" | "request" | "mmi" | "stats" | "close">;

export type Codec = PickleCodec;
