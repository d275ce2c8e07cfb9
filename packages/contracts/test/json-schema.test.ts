import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pythonForSuite } from "@desk/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { buildJsonSchema, methodList, renderJsonSchema, topicKinds } from "../src/index.js";
import { account1, eventExamples, methodExamples, optionTick, sellStraddle, shortCall, twap } from "./fixtures.js";

const committedPath = resolve(import.meta.dirname, "../../../python-scripts/contracts.schema.json");

describe("python-scripts/contracts.schema.json", () => {
  it("equals the freshly generated document (run `pnpm --filter @desk/contracts gen:schema` if not)", () => {
    expect(existsSync(committedPath), `${committedPath} is missing`).toBe(true);
    const committed = readFileSync(committedPath, "utf8");
    expect(
      committed === renderJsonSchema(),
      "contracts.schema.json is stale: run `pnpm --filter @desk/contracts gen:schema`",
    ).toBe(true);
  });

  it("indexes every method and topic, and every $ref resolves", () => {
    const doc = buildJsonSchema();
    for (const { service, method, contract } of methodList) {
      const entry = doc.services[service]?.[method];
      expect(entry?.kind).toBe(contract.kind);
    }
    expect(Object.keys(doc.topics)).toEqual(topicKinds);
    const refs = JSON.stringify(doc).match(/"\$ref":"#\/\$defs\/[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(50);
    for (const r of refs) {
      const id = r.slice('"$ref":"#/$defs/'.length, -1);
      expect(doc.$defs[id], `dangling ${r}`).toBeDefined();
    }
  });

  it("lets the Python side add fields to results (no additionalProperties: false on objects)", () => {
    const text = renderJsonSchema();
    expect(text).not.toContain('"additionalProperties": false');
  });
});

// The same examples through Python's jsonschema: both sides must agree on what is valid.
// Debian's python3-jsonschema (CI installs it); outside CI a missing one skips visibly.
const python = pythonForSuite("contracts jsonschema", ["jsonschema"]) ?? "";

describe.skipIf(python === "")("Python jsonschema agrees with zod", () => {
  const dir = mkdtempSync(join(tmpdir(), "contracts-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("accepts every example and rejects typical mistakes", () => {
    const cases: { def: string; value: unknown; valid: boolean }[] = [];
    for (const [service, methods] of Object.entries(methodExamples)) {
      for (const [method, ex] of Object.entries(methods as Record<string, { args: unknown; result: unknown }>)) {
        cases.push({ def: `${service}.${method}.args`, value: ex.args, valid: true });
        cases.push({ def: `${service}.${method}.result`, value: ex.result, valid: true });
      }
    }
    for (const [kind, examples] of Object.entries(eventExamples)) {
      for (const value of examples) cases.push({ def: `${kind}.event`, value, valid: true });
    }
    cases.push(
      { def: "Account", value: { ...account1, extraFromPython: 1 }, valid: true },
      { def: "Account", value: { ...account1, balance: "5234567.89" }, valid: false },
      { def: "Position", value: { ...shortCall, quantity: 1.5 }, valid: false },
      { def: "Position", value: { ...shortCall, underlying: "500" }, valid: false },
      { def: "Position", value: { ...shortCall, expiry: "2025/12/24" }, valid: false },
      { def: "Algorithm", value: { ...twap, progress: 40 }, valid: false },
      { def: "Algorithm", value: { ...twap, kind: "twap" }, valid: false },
      { def: "Instruction", value: { ...sellStraddle, month: "this_month" }, valid: false },
      { def: "Instruction", value: { type: "spread", text: "x" }, valid: false },
      { def: "market.event", value: { ...optionTick, ts: "2025-11-24T14:30:00" }, valid: false },
      { def: "account_service.get_positions.args", value: [], valid: false },
      {
        def: "instruction_service.execute_instructions.args",
        value: [[sellStraddle], ["account1"], true, 1],
        valid: false,
      },
      { def: "error", value: { code: "NOT_FOUND", message: "x" }, valid: true },
      { def: "error", value: { code: "TEAPOT", message: "x" }, valid: false },
    );
    const casesPath = join(dir, "cases.json");
    writeFileSync(casesPath, JSON.stringify(cases));
    const script = `
import json, sys
from jsonschema import Draft202012Validator
doc = json.load(open(sys.argv[1], encoding="utf-8"))
cases = json.load(open(sys.argv[2], encoding="utf-8"))
Draft202012Validator.check_schema(doc)
bad = []
for i, c in enumerate(cases):
    v = Draft202012Validator({"$ref": "#/$defs/" + c["def"], "$defs": doc["$defs"]})
    errors = list(v.iter_errors(c["value"]))
    if (not errors) != c["valid"]:
        bad.append({"case": i, "def": c["def"], "expected": c["valid"], "errors": [e.message for e in errors][:3]})
print(json.dumps({"checked": len(cases), "bad": bad}, ensure_ascii=False))
`;
    const run = spawnSync(python, ["-c", script, committedPath, casesPath], { encoding: "utf8" });
    expect(run.stderr).toBe("");
    const out = JSON.parse(run.stdout) as { checked: number; bad: unknown[] };
    expect(out.bad).toEqual([]);
    expect(out.checked).toBe(cases.length);
  });
});
