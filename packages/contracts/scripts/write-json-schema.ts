/**
 * Writes python-scripts/contracts.schema.json from the zod contracts.
 *   tsx scripts/write-json-schema.ts           write it
 *   tsx scripts/write-json-schema.ts --check   exit 1 if the committed file is stale
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { renderJsonSchema } from "../src/json-schema.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const schemaPath = resolve(repoRoot, "python-scripts/contracts.schema.json");

const check = process.argv.includes("--check");
const fresh = renderJsonSchema();
const shown = relative(repoRoot, schemaPath);

if (check) {
  let committed: string | null = null;
  try {
    committed = readFileSync(schemaPath, "utf8");
  } catch {
    committed = null;
  }
  if (committed !== fresh) {
    console.error(
      `${shown} is ${committed === null ? "missing" : "stale"}: it no longer matches packages/contracts/src. ` +
        "Run `pnpm --filter @desk/contracts gen:schema` and commit the result.",
    );
    process.exit(1);
  }
  console.log(`${shown} is up to date.`);
} else {
  writeFileSync(schemaPath, fresh);
  console.log(`wrote ${shown} (${fresh.length} bytes)`);
}
