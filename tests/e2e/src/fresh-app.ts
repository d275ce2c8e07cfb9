// A project outside this repository that installs the SDK the way a new user does: from
// the tarball `pnpm pack` makes, with npm, everything else from the registry. The app's
// sources are fresh-app/ beside this folder; the project lives in the OS temp folder,
// so nothing of the workspace (its node_modules, its tsconfig) can leak into it.
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const fixtureDir = fileURLToPath(new URL("../fresh-app/", import.meta.url));

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment a user's shell would give npm, tsc and vite: this machine's PATH,
 * HOME and proxy settings, without what pnpm, turbo and vitest add for their own
 * children (npm_config_*, NODE_ENV=test, VITEST*), which would change what npm
 * installs and how Vite builds.
 */
function userEnv(): NodeJS.ProcessEnv {
  const keep = /^(PATH|HOME|TMPDIR|LANG|(HTTPS?|NO|ALL)_PROXY)$/i;
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => keep.test(name)));
}

/** Runs a command to completion (bounded by `timeoutMs`), output collected. */
export function command(
  file: string,
  args: readonly string[],
  cwd: string,
  timeoutMs = 120_000,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, env: userEnv(), stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Fails with the command's output when it did not exit 0. */
export async function mustSucceed(file: string, args: readonly string[], cwd: string): Promise<CommandResult> {
  const result = await command(file, args, cwd);
  if (result.code !== 0) {
    throw new Error(`${file} ${args.join(" ")} exited ${result.code}\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

export interface FreshApp {
  dir: string;
  tarball: string;
  /** Runs a package's bin script from the app's node_modules with node (tsc, vite). */
  node(args: readonly string[]): Promise<CommandResult>;
  npmInstall(specs: readonly string[]): Promise<CommandResult>;
  remove(): void;
}

/** `pnpm pack` of the built SDK into a new temp folder, and the app's sources beside it. */
export async function freshApp(): Promise<FreshApp> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "desk-fresh-app-"));
  try {
    const sdkDir = path.dirname(createRequire(import.meta.url).resolve("@desk/sdk/package.json"));
    const packed = await mustSucceed("pnpm", ["pack", "--pack-destination", dir], sdkDir);
    const tarball = readdirSync(dir).find((name) => name.endsWith(".tgz"));
    if (!tarball) throw new Error(`pnpm pack wrote no tarball:\n${packed.stdout}`);
    cpSync(fixtureDir, dir, { recursive: true });
    writeFileSync(
      path.join(dir, "package.json"),
      `${JSON.stringify({ name: "fresh-app", private: true, type: "module" })}\n`,
    );
    return {
      dir,
      tarball: path.join(dir, tarball),
      node: (args) => command(process.execPath, args, dir),
      npmInstall: (specs) =>
        mustSucceed(
          "npm",
          ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error", ...specs],
          dir,
        ),
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Bytes under a folder (files only, symlinks not followed). */
export function folderBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += statSync(path.join(entry.parentPath, entry.name)).size;
  }
  return total;
}

export interface InstalledPackage {
  name: string;
  version: string;
  dir: string;
}

interface NpmTreeNode {
  version?: string;
  path?: string;
  dependencies?: Record<string, NpmTreeNode>;
}

/**
 * Every package npm installed for `root`, itself included, from `npm ls --all --json`
 * (optional peers that are not installed have no path and are left out).
 */
export async function installedTree(appDir: string, root: string): Promise<InstalledPackage[]> {
  // No package argument: with one, npm prunes the tree below it.
  const listed = await mustSucceed("npm", ["ls", "--all", "--json", "--long"], appDir);
  const tree = JSON.parse(listed.stdout) as NpmTreeNode;
  const found = new Map<string, InstalledPackage>();
  const visit = (name: string, node: NpmTreeNode) => {
    if (!node.path || !node.version || found.has(node.path)) return;
    found.set(node.path, { name, version: node.version, dir: node.path });
    for (const [child, childNode] of Object.entries(node.dependencies ?? {})) visit(child, childNode);
  };
  const top = tree.dependencies?.[root];
  if (!top) throw new Error(`${root} is not installed in ${appDir}`);
  visit(root, top);
  return [...found.values()];
}
