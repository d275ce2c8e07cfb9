import type { AnyTRPCRouter } from "@trpc/server";

/**
 * trpc-to-openapi's REST handler calls `coerceSchema` on every request: it sets
 * `_def.coerce = true` on each number/boolean/bigint/date reachable from the
 * procedure's input object (through optional/nullable/default/array/lazy and
 * nested objects). That mutates the schema objects themselves, which are the
 * @desk/contracts instances shared with the tRPC path and with backend result
 * validation, and it coerces JSON bodies too: `{"enabled":"false"}` became
 * `true` and `{"dryRun":null}` became `false` (a real execution). The library has
 * no switch for it, so the defs are locked here: `coerce` keeps the value the
 * schema was built with (true only for an explicit z.coerce.*) and writes are
 * ignored. A query parameter that must be a number is then declared with
 * z.coerce.number() explicitly (today every path/query parameter is a string).
 */

interface ZodLike {
  _zod: { def: Record<string, unknown> & { type?: string } };
}

function isZod(v: unknown): v is ZodLike {
  return typeof v === "object" && v !== null && "_zod" in v && typeof (v as ZodLike)._zod?.def?.type === "string";
}

const locked = new WeakSet<object>();

function lockCoerce(def: Record<string, unknown>): void {
  if (locked.has(def)) return;
  locked.add(def);
  const original = def.coerce === true;
  Object.defineProperty(def, "coerce", {
    configurable: true,
    enumerable: true,
    get: () => original,
    set: () => {
      // trpc-to-openapi's coerceSchema: ignored on purpose (see above).
    },
  });
}

/** Walks a schema the way coerceSchema does (and a little further) and locks every coercible leaf. */
function lockSchema(schema: unknown, seen: Set<object>): void {
  if (!isZod(schema) || seen.has(schema)) return;
  seen.add(schema);
  const def = schema._zod.def;
  switch (def.type) {
    case "number":
    case "boolean":
    case "bigint":
    case "date":
      lockCoerce(def);
      return;
    case "object":
      for (const field of Object.values(def.shape as Record<string, unknown>)) lockSchema(field, seen);
      return;
    case "array":
      lockSchema(def.element, seen);
      return;
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "nonoptional":
    case "readonly":
    case "catch":
      lockSchema(def.innerType, seen);
      return;
    case "lazy":
      lockSchema((def.getter as () => unknown)(), seen);
      return;
    case "pipe":
      lockSchema(def.in, seen);
      lockSchema(def.out, seen);
      return;
    case "union":
      for (const option of def.options as unknown[]) lockSchema(option, seen);
      return;
    case "intersection":
      lockSchema(def.left, seen);
      lockSchema(def.right, seen);
      return;
    case "tuple":
      for (const item of def.items as unknown[]) lockSchema(item, seen);
      lockSchema(def.rest, seen);
      return;
    case "record":
      lockSchema(def.valueType, seen);
      return;
    default:
      return;
  }
}

/** Locks the input schemas of every procedure of `router` against trpc-to-openapi's in-place coercion. */
export function preventInputCoercion(router: AnyTRPCRouter): void {
  const seen = new Set<object>();
  const procedures = router._def.procedures as Record<string, { _def: { inputs?: unknown[] } }>;
  for (const procedure of Object.values(procedures)) {
    for (const input of procedure._def.inputs ?? []) lockSchema(input, seen);
  }
}
