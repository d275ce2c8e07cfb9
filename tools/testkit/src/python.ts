import { spawnSync } from "node:child_process";

export interface PythonLookup {
  /** The first interpreter that imports every module asked for, if any. */
  python?: string;
  /** Why none was found, naming what was tried: the reason a skip prints. */
  reason?: string;
}

/**
 * PYTHON_PATH if it imports the modules, else `python3`, else `/usr/bin/python3`.
 * The order matters on Debian machines with pyenv: the `python3` first on PATH is
 * often not the one that has Debian's python3-zmq.
 */
export function findPython(modules: readonly string[]): PythonLookup {
  const candidates = [process.env.PYTHON_PATH, "python3", "/usr/bin/python3"].filter(
    (c): c is string => typeof c === "string" && c.length > 0,
  );
  const probe = modules.length > 0 ? `import ${modules.join(", ")}` : "pass";
  const tried: string[] = [];
  for (const c of [...new Set(candidates)]) {
    if (spawnSync(c, ["-c", probe], { stdio: "ignore", timeout: 15_000 }).status === 0) return { python: c };
    tried.push(c);
  }
  return {
    reason: `no Python that can \`${probe}\` (tried ${tried.join(", ")}); install Debian's python3-${modules[0] ?? "minimal"} or set PYTHON_PATH`,
  };
}

/**
 * For suites that need Python: outside CI a missing interpreter skips the suite with
 * a visible warning; under CI it throws, so the suite fails instead of silently not
 * running (CI installs what these tests need).
 */
export function pythonForSuite(label: string, modules: readonly string[]): string | undefined {
  const { python, reason } = findPython(modules);
  if (python !== undefined) return python;
  if (process.env.CI) throw new Error(`[${label}] CI must run these tests: ${reason}`);
  console.warn(`[${label}] SKIPPED: ${reason}`);
  return undefined;
}
