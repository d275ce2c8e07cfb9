import { z } from "zod";
import * as account from "./account.js";
import * as algorithm from "./algorithm.js";
import * as auth from "./auth.js";
import * as common from "./common.js";
import * as events from "./events.js";
import * as instruction from "./instruction.js";
import * as rpc from "./rpc.js";
import { methodList, topicKinds, topics as topicRegistry } from "./services.js";

/**
 * The JSON Schema document the Python side validates against: one $def per
 * named domain type, per method's args and result, and per topic's event.
 *
 * Python:  Draft202012Validator({"$ref": "#/$defs/account_service.get_positions.result",
 *                                "$defs": doc["$defs"]}).validate(value)
 */

/** Named types that become `#/$defs/<Name>` instead of being inlined at each use. */
const named: Record<string, z.ZodType> = {
  Timestamp: common.Timestamp,
  IsoDate: common.IsoDate,
  UnderlyingCode: common.UnderlyingCode,
  Side: common.Side,
  Right: common.Right,
  Month: common.Month,
  Size: common.Size,
  Greeks: common.Greeks,
  ErrorCode: common.ErrorCode,
  Role: auth.Role,
  Permission: auth.Permission,
  User: auth.User,
  Account: account.Account,
  Position: account.Position,
  RiskMetrics: account.RiskMetrics,
  UnderlyingRisk: account.UnderlyingRisk,
  Algorithm: algorithm.Algorithm,
  AlgorithmLog: algorithm.AlgorithmLog,
  AlgorithmCommand: algorithm.AlgorithmCommand,
  StrikeSelector: instruction.StrikeSelector,
  Instruction: instruction.Instruction,
  Execution: instruction.Execution,
  ExecutionLeg: instruction.ExecutionLeg,
  AccountFillSummary: instruction.AccountFillSummary,
  MarketTick: events.MarketTick,
  AccountEvent: events.AccountEvent,
  AlgorithmEvent: events.AlgorithmEvent,
  ExecutionEvent: events.ExecutionEvent,
  RpcContext: rpc.RpcContext,
  BackendError: rpc.BackendError,
};

type JsonObject = { [key: string]: unknown };

export interface ContractsJsonSchema extends JsonObject {
  $schema: string;
  title: string;
  $defs: Record<string, JsonObject>;
  services: Record<
    string,
    Record<string, { kind: "read" | "write"; args: { $ref: string }; result: { $ref: string } }>
  >;
  topics: Record<string, { prefix: string; event: { $ref: string } }>;
  errorCodes: readonly string[];
}

const ref = (id: string) => ({ $ref: `#/$defs/${id}` });

export function buildJsonSchema(): ContractsJsonSchema {
  // A private registry: ids in zod's global registry would leak into every other
  // package's JSON/OpenAPI output and clash on duplicates.
  const registry = z.registry<{ id: string; description?: string }>();
  for (const [id, schema] of Object.entries(named)) {
    const description = z.globalRegistry.get(schema)?.description;
    registry.add(schema, description === undefined ? { id } : { id, description });
  }

  // One root object holding every method's args/result and every event, converted
  // in a single pass so the named types are emitted once into $defs.
  const shape: Record<string, z.ZodType> = {};
  const services: ContractsJsonSchema["services"] = {};
  for (const { service, method, contract } of methodList) {
    shape[`${service}.${method}.args`] = contract.args;
    shape[`${service}.${method}.result`] = contract.result;
    services[service] ??= {};
    services[service][method] = {
      kind: contract.kind,
      args: ref(`${service}.${method}.args`),
      result: ref(`${service}.${method}.result`),
    };
  }
  const topics: ContractsJsonSchema["topics"] = {};
  for (const kind of topicKinds) {
    const { prefix, event } = topicRegistry[kind];
    const id = `${kind}.event`;
    shape[id] = event;
    topics[kind] = { prefix, event: ref(id) };
  }
  shape.error = rpc.BackendError;

  const generated = z.toJSONSchema(z.object(shape), {
    metadata: registry,
    // "input": plain objects get no additionalProperties:false, so the Python side
    // may add fields to results without breaking validation (zod strips them here).
    io: "input",
    target: "draft-2020-12",
    // Field descriptions live in zod's global registry, which the private registry hides.
    override: ({ zodSchema, jsonSchema }) => {
      const meta = z.globalRegistry.get(zodSchema);
      const description = meta?.description;
      if (description !== undefined && jsonSchema.description === undefined) jsonSchema.description = description;
      // distinctList's lists: a repeated account or instruction is refused on both sides.
      if (meta?.uniqueItems === true) jsonSchema.uniqueItems = true;
      // zod writes `prefixItems: []` for a no-argument tuple, which the 2020-12
      // metaschema forbids (minItems 1); `items: false` already says "no elements".
      if (Array.isArray(jsonSchema.prefixItems) && jsonSchema.prefixItems.length === 0) {
        delete jsonSchema.prefixItems;
        jsonSchema.items = false;
        jsonSchema.maxItems = 0;
      }
    },
  }) as JsonObject;

  const properties = generated.properties as Record<string, JsonObject>;
  const namedDefs = (generated.$defs ?? {}) as Record<string, JsonObject>;
  const $defs: Record<string, JsonObject> = {};
  for (const key of Object.keys(namedDefs).sort()) $defs[key] = namedDefs[key]!;
  for (const key of Object.keys(properties)) $defs[key] = properties[key]!;

  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: "@desk/contracts",
    description:
      "GENERATED by `pnpm --filter @desk/contracts gen:schema` from packages/contracts/src: do not edit. " +
      'Validate a value with {"$ref": "#/$defs/<service>.<method>.result", "$defs": doc["$defs"]}.',
    services,
    topics,
    errorCodes: common.ErrorCode.options,
    $defs,
  };
}

/** The exact text of python-scripts/contracts.schema.json. */
export function renderJsonSchema(): string {
  return `${JSON.stringify(buildJsonSchema(), null, 2)}\n`;
}
