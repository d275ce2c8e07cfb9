import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * The repository's python-scripts/pickle_helper.py, found from this file: src/ runs
 * from packages/pickle/src, the build from packages/pickle/dist/src.
 */
export function repositoryHelperScript(): string {
  for (const up of ["../../../", "../../../../"]) {
    const path = fileURLToPath(new URL(`${up}python-scripts/pickle_helper.py`, import.meta.url));
    if (existsSync(path)) return path;
  }
  return fileURLToPath(new URL("../../../python-scripts/pickle_helper.py", import.meta.url));
}
