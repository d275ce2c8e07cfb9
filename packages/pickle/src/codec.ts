import { dumps, type DumpOptions } from "./dumps.js";
import { loads } from "./loads.js";
import type { LoadOptions } from "./options.js";

/** What the gateway holds: the same calls whether pickling runs here or in Python. */
export interface PickleCodec {
  readonly kind: "native" | "python";
  encode(value: unknown): Promise<Buffer>;
  decode(data: Uint8Array): Promise<unknown>;
  close(): Promise<void>;
}

/** The in-process codec (dumps/loads); options are fixed at creation. */
export function createNativeCodec(o: LoadOptions & DumpOptions = {}): PickleCodec {
  const loadOptions: LoadOptions = { ...o };
  const dumpOptions: DumpOptions = { ...o };
  return {
    kind: "native",
    encode: async (value) => dumps(value, dumpOptions),
    decode: async (data) => loads(data, loadOptions),
    close: async () => {},
  };
}
