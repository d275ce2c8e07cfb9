import { CurveConfigError, readCurveKeyPairVariables, readCurveKeyVariable } from "@desk/mdp";

/**
 * The gateway's CURVE settings (README, "Security"): its own key pair, and the broker's
 * and the publisher's public keys it pins. CURVE is on when ZMQ_CURVE_SERVER_KEY (or
 * its _FILE) is set; then every part is required.
 */
export interface GatewayCurve {
  /** The broker's public key, one per ZMQ_BROKER_URL endpoint (the same key repeated when one was given). */
  serverKeys: string[];
  /** The publisher's public key (ZMQ_CURVE_PUBLISHER_KEY, default the broker's first). */
  publisherKey: string;
  publicKey: string;
  secretKey: string;
}

const SERVER = "ZMQ_CURVE_SERVER_KEY";

/** Throws @desk/mdp's CurveConfigError (the variable and a reason, never a key) for a bad setting. */
export function loadCurveConfig(env: NodeJS.ProcessEnv, brokerEndpoints: number): GatewayCurve | undefined {
  const serverKeys = serverKeyList(env, brokerEndpoints);
  const pair = readCurveKeyPairVariables(env);
  const publisherKey = readCurveKeyVariable(env, "ZMQ_CURVE_PUBLISHER_KEY", "public");
  if (serverKeys === undefined) {
    if (pair !== undefined || publisherKey !== undefined) {
      throw new CurveConfigError(
        SERVER,
        "the broker's public key is required when other ZMQ_CURVE_* variables are set",
      );
    }
    return undefined;
  }
  if (pair === undefined) {
    throw new CurveConfigError(
      "ZMQ_CURVE_SECRET_KEY",
      `the gateway's own secret key is required when ${SERVER} is set (ZMQ_CURVE_SECRET_KEY or ZMQ_CURVE_SECRET_KEY_FILE)`,
    );
  }
  return { serverKeys, publisherKey: publisherKey ?? (serverKeys[0] as string), ...pair };
}

/** One key for every broker, or one per endpoint of ZMQ_BROKER_URL in the same order (comma-separated). */
function serverKeyList(env: NodeJS.ProcessEnv, brokerEndpoints: number): string[] | undefined {
  const raw = env[SERVER]?.trim() ?? "";
  if (raw.includes(",")) {
    const keys = raw.split(",").map((k, i) => {
      const key = readCurveKeyVariable({ [SERVER]: k }, SERVER, "public");
      if (key === undefined) throw new CurveConfigError(SERVER, `key ${i + 1} of the list is empty`);
      return key;
    });
    if (keys.length !== brokerEndpoints) {
      throw new CurveConfigError(
        SERVER,
        `lists ${keys.length} keys for ${brokerEndpoints} ZMQ_BROKER_URL endpoints: give one key, or one per endpoint`,
      );
    }
    return keys;
  }
  const key = readCurveKeyVariable(env, SERVER, "public");
  return key === undefined ? undefined : Array.from({ length: brokerEndpoints }, () => key);
}
