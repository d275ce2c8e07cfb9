import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { serviceNames } from "@desk/contracts";
import { type CurveKeyPair, formatCurveCertificate, generateCurveKeyPair } from "@desk/mdp";

/**
 * `pnpm keys`: a CURVE key set for a dev setup (the broker, the publisher, the gateway,
 * one per mock service) as ZeroMQ certificates (`name.key` public, `name.key_secret`
 * readable by the owner only), and the environment lines each process takes, printed
 * and written to `<dir>/mock.env`, `<dir>/gateway.env`. Refuses to replace an existing
 * set unless --force.
 */
const USAGE = "usage: pnpm keys [--dir .curve] [--worker-port 5557] [--force]";

function main(): number {
  let args: ReturnType<typeof parse>;
  try {
    args = parse();
  } catch (err) {
    process.stderr.write(`keys: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    return 2;
  }
  const dir = resolve(args.dir);
  const workerPort = Number(args["worker-port"]);
  if (!Number.isInteger(workerPort) || workerPort < 1 || workerPort + serviceNames.length - 1 > 65535) {
    process.stderr.write(`keys: --worker-port must be a port with room for ${serviceNames.length} after it\n`);
    return 2;
  }
  if (existsSync(join(dir, "broker.key_secret")) && !args.force) {
    process.stderr.write(
      `keys: ${dir} already holds a key set; --force replaces it (every process then needs the new keys)\n`,
    );
    return 1;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);

  const names = ["broker", "publisher", "gateway", ...serviceNames] as const;
  const pairs = new Map<string, CurveKeyPair>();
  const stamp = `Generated on ${new Date().toISOString()} by pnpm keys`;
  for (const name of names) {
    const pair = generateCurveKeyPair();
    pairs.set(name, pair);
    writeFileSync(join(dir, `${name}.key`), formatCurveCertificate({ publicKey: pair.publicKey }, stamp), {
      mode: 0o644,
    });
    const secretFile = join(dir, `${name}.key_secret`);
    writeFileSync(secretFile, formatCurveCertificate(pair, stamp), { mode: 0o600 });
    chmodSync(secretFile, 0o600);
  }
  const key = (name: string): string => (pairs.get(name) as CurveKeyPair).publicKey;
  // Z85 uses $ & < > ( ) and more: single quotes keep shells and .env readers from touching them.
  const quoted = (value: string): string => `'${value}'`;
  const workerUrls = serviceNames.map((service, i) => `${service}=tcp://localhost:${workerPort + i}`);

  const mock = [
    `ZMQ_CURVE_SECRET_KEY_FILE=${quoted(join(dir, "broker.key_secret"))}`,
    `ZMQ_CURVE_PUBLISHER_SECRET_KEY_FILE=${quoted(join(dir, "publisher.key_secret"))}`,
    `ZMQ_CURVE_CLIENT_KEYS=${quoted(key("gateway"))}`,
    `ZMQ_CURVE_WORKER_KEYS=${quoted(serviceNames.map((service) => `${service}=${key(service)}`).join(","))}`,
    `ZMQ_CURVE_WORKER_URLS=${quoted(workerUrls.join(","))}`,
  ];
  const gateway = [
    // A broker the gateway did not start needs a real signing secret: a fresh one for this dev set.
    `JWT_SECRET=${quoted(randomBytes(32).toString("hex"))}`,
    `ZMQ_CURVE_SERVER_KEY=${quoted(key("broker"))}`,
    `ZMQ_CURVE_PUBLISHER_KEY=${quoted(key("publisher"))}`,
    `ZMQ_CURVE_SECRET_KEY_FILE=${quoted(join(dir, "gateway.key_secret"))}`,
  ];
  writeFileSync(join(dir, "mock.env"), `${mock.join("\n")}\n`, { mode: 0o600 });
  writeFileSync(join(dir, "gateway.env"), `${gateway.join("\n")}\n`, { mode: 0o600 });

  const out = [
    `wrote ${names.length} key pairs to ${dir} (*.key public, *.key_secret owner-only)`,
    "",
    `# the mock trading system (${join(dir, "mock.env")}):`,
    ...mock,
    "",
    `# the gateway (${join(dir, "gateway.env")}):`,
    ...gateway,
    "",
    "# run them (two terminals):",
    `#   set -a; . ${join(dir, "mock.env")}; set +a; pnpm --filter @desk/mock-broker dev`,
    `#   set -a; . ${join(dir, "gateway.env")}; set +a; pnpm dev`,
    "# a Python worker joining auth_service (its key is listed for auth_service only):",
    `#   ZMQ_CURVE_SERVER_KEY=${quoted(key("broker"))} ZMQ_CURVE_SECRET_KEY_FILE=${quoted(join(dir, "auth_service.key_secret"))} \\`,
    `#     /usr/bin/python3 python-scripts/reference_worker.py tcp://localhost:${workerPort} auth_service`,
  ];
  process.stdout.write(`${out.join("\n")}\n`);
  return 0;
}

function parse() {
  return parseArgs({
    options: {
      dir: { type: "string", default: ".curve" },
      "worker-port": { type: "string", default: "5557" },
      force: { type: "boolean", default: false },
    },
    strict: true,
    allowPositionals: false,
  }).values;
}

process.exit(main());
