import { join, resolve } from "node:path";
import { createNativeCodec, createPythonCodec } from "@desk/pickle";
import type { GatewayConfig } from "../config.js";
import type { Codec } from "./types.js";

/** A value with the shapes replies carry (dict, list, str, float, bool, None), round-tripped at start. */
const PROBE = { probe: "gateway", values: [1, 2.5, true, null, "é"] };

/** Where pickle_helper.py is: undefined lets @desk/pickle use the repository's own copy. */
export function helperScript(configured: string | undefined, cwd = process.cwd()): string | undefined {
  if (configured === undefined) return undefined;
  const absolute = resolve(cwd, configured);
  return absolute.endsWith(".py") ? absolute : join(absolute, "pickle_helper.py");
}

/**
 * The pickle codec PICKLE_CODEC asks for. The python one is tried once here
 * (encode + decode of a probe value), so a missing interpreter or helper stops
 * the gateway at start with one line instead of failing every backend call later.
 */
export async function createCodec(
  config: Pick<GatewayConfig, "pickleCodec" | "pythonPath" | "pythonScriptPath">,
): Promise<Codec> {
  if (config.pickleCodec !== "python") return createNativeCodec();
  const scriptPath = helperScript(config.pythonScriptPath);
  const codec = createPythonCodec({
    pythonPath: config.pythonPath,
    ...(scriptPath !== undefined ? { scriptPath } : {}),
  });
  try {
    const back = await codec.decode(await codec.encode(PROBE));
    // JSON text, not deep equality: decoded dicts may be null-prototype objects.
    if (JSON.stringify(back) !== JSON.stringify(PROBE))
      throw new Error(`the probe value came back as ${JSON.stringify(back)}`);
  } catch (err) {
    await codec.close().catch(() => undefined);
    const why = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, " | ");
    throw new Error(
      `PICKLE_CODEC=python does not work (PYTHON_PATH=${config.pythonPath}, script ${scriptPath ?? "the default pickle_helper.py"}): ${why}`,
    );
  }
  return codec;
}
