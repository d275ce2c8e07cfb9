/**
 * Builds the SDK's published declarations (dist/<entry>.d.ts and .d.cts) so that
 * they stand alone: the gateway's router type, with every input, output and event
 * type, is written out in full, and nothing of the server is referenced.
 *
 * 1. TypeScript emits the SDK's declarations, with src/router.ts replaced by a
 *    version in which each router type it re-exports is the *inferred* type of a
 *    value. Declaration emit prints an inferred type structurally (procedures,
 *    inputs, outputs), which a type alias re-export would not: `AppRouter =
 *    ReturnType<typeof createAppRouter>` would drag createAppRouter's parameters
 *    (broker client, logger, metrics) along.
 * 2. rollup-plugin-dts bundles each entry into one file, inlining whatever named
 *    types remain (the router's context and meta types) from the packages that
 *    declare them; only the SDK's own dependencies and peers stay imports.
 * 3. The output is checked, and the build fails with the offending lines if an
 *    import other than those, a Node type, or an @desk/* name is left.
 *
 * Generic over the router: nothing here names a procedure; src/router.ts says
 * which types are published and where they come from. test/bundle-types.test.ts
 * runs it on small routers that leak, to see it refuse them.
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type Plugin, rollup } from "rollup";
import { dts } from "rollup-plugin-dts";
import ts from "typescript";

export interface BundleTypesOptions {
  /** The package: its tsconfig.json, src/<entry>.ts and src/router.ts. */
  packageDir: string;
  /** Entry points, as src/<name>.ts; each becomes dist/<name>.d.ts and .d.cts. */
  entries: readonly string[];
}

/** Paths of one run. */
interface Layout {
  packageDir: string;
  scratchDir: string;
  distDir: string;
  routerFile: string;
}

/** Imports the published declarations may keep: the SDK's dependencies and peers. */
const allowedImports = [
  /^@trpc\/(client|server)(\/.*)?$/,
  /^superjson$/,
  /^zod(\/.*)?$/,
  // The events entry's optional peer (@desk/sdk/events only).
  /^socket\.io-client$/,
];
const isAllowed = (specifier: string) => allowedImports.some((pattern) => pattern.test(specifier));

/** Type names a browser app's TypeScript (lib DOM, no @types/node) does not have. */
const nodeOnlyNames: ReadonlyArray<[RegExp, string]> = [
  [/\bNodeJS\./, "the NodeJS namespace"],
  [/\bBuffer\b/, "Buffer"],
  [/\bprocess\.(env|argv|versions)\b/, "process"],
];

export class TypeBundleError extends Error {
  override readonly name = "TypeBundleError";
}

interface RouterReexport {
  names: string[];
  from: string;
  /** The module `from` resolves to (from src/router.ts). */
  resolvedFile: string;
}

/** src/router.ts must be `export type { A, B } from "module"`: the types the SDK publishes. */
function readRouterReexport({ routerFile }: Layout, options: ts.CompilerOptions): RouterReexport {
  const source = readFileSync(routerFile, "utf8");
  const match = /export\s+type\s*\{([^}]+)\}\s*from\s*["']([^"']+)["']/.exec(source);
  if (!match?.[1] || !match[2]) {
    throw new TypeBundleError(`${routerFile} must re-export the router types: export type { AppRouter } from "..."`);
  }
  const names = match[1]
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  const from = match[2];
  const resolved = ts.resolveModuleName(from, routerFile, options, ts.sys).resolvedModule;
  if (!resolved) throw new TypeBundleError(`cannot resolve ${from} from ${routerFile} (built yet?)`);
  return { names, from, resolvedFile: resolved.resolvedFileName };
}

/** The stand-in for src/router.ts: each re-exported type becomes the inferred type of a value. */
function expandedRouterSource({ names, from }: RouterReexport): string {
  const lines = [`import type { ${names.map((n) => `${n} as Server${n}`).join(", ")} } from ${JSON.stringify(from)};`];
  lines.push("declare function inferred<T>(): T;");
  for (const name of names) {
    lines.push(`const ${name}Shape = inferred<Server${name}>();`);
    lines.push(`export type ${name} = typeof ${name}Shape;`);
  }
  return lines.join("\n");
}

function formatDiagnostics(diagnostics: readonly ts.Diagnostic[], packageDir: string): string {
  return ts.formatDiagnosticsWithColorAndContext(diagnostics, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => packageDir,
    getNewLine: () => "\n",
  });
}

/** The package's compiler options, set to emit declarations only, into the scratch folder. */
function compilerOptions({ packageDir, scratchDir }: Layout): ts.CompilerOptions {
  const configPath = path.join(packageDir, "tsconfig.json");
  const parsed = ts.getParsedCommandLineOfConfigFile(
    configPath,
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  );
  if (!parsed) throw new TypeBundleError(`cannot read ${configPath}`);
  return {
    ...parsed.options,
    noEmit: false,
    declaration: true,
    emitDeclarationOnly: true,
    declarationMap: false,
    sourceMap: false,
    rootDir: path.join(packageDir, "src"),
    outDir: scratchDir,
  };
}

/** Step 1: the package's declarations, one file per source file, router types written out. */
function emitDeclarations(
  layout: Layout,
  entries: readonly string[],
  router: RouterReexport,
  options: ts.CompilerOptions,
): void {
  const { packageDir, routerFile } = layout;
  const host = ts.createCompilerHost(options);
  const routerText = expandedRouterSource(router);
  const readSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) =>
    path.resolve(fileName) === routerFile
      ? ts.createSourceFile(fileName, routerText, languageVersion, true)
      : readSourceFile(fileName, languageVersion, onError, shouldCreate);

  const rootNames = entries.map((entry) => path.join(packageDir, "src", `${entry}.ts`));
  const program = ts.createProgram({ rootNames, options, host });
  const result = program.emit();
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...result.diagnostics];
  if (diagnostics.length > 0) {
    // TS4023 & co: a type inside the router's type is declared but not exported, so
    // the declarations cannot refer to it by name.
    const unnamed =
      diagnostics.some((d) => d.code >= 4000 && d.code < 5000) || diagnostics.some((d) => d.code === 2742);
    const hint = unnamed
      ? "\nEvery named type the router's type uses (its context, meta, ...) must be exported where it is declared."
      : "";
    throw new TypeBundleError(`declaration emit failed:\n${formatDiagnostics(diagnostics, packageDir)}${hint}`);
  }
}

/** Bare module specifiers a declaration file imports (`from "x"`, `import("x")`). */
function importedModules(code: string): string[] {
  const found = [...code.matchAll(/(?:\bfrom\s+|\bimport\(\s*)["']([^"'.][^"']*)["']/g)].map((m) => m[1] ?? "");
  return [...new Set(found)];
}

/**
 * Which packages' declarations get inlined: the workspace's (@desk/*), and any other
 * package our own emitted declarations name in an `import("pkg").Type` that is not a
 * dependency of the SDK (the router's tRPC meta type, say). Everything else stays
 * external and is dropped by tree-shaking when unused; if it is used, check() fails.
 */
function inlinedPackages({ scratchDir }: Layout): Set<string> {
  const inline = new Set<string>();
  for (const file of ts.sys.readDirectory(scratchDir, [".d.ts"])) {
    for (const specifier of importedModules(readFileSync(file, "utf8"))) {
      if (!isAllowed(specifier) && !isBuiltin(specifier)) inline.add(specifier);
    }
  }
  return inline;
}

const isWorkspacePackage = (specifier: string) => specifier.startsWith("@desk/");

/**
 * Resolves inlined packages to their declaration files. TypeScript writes
 * `import("pkg").Type` for names the router's type reaches through the router
 * package's own dependencies, which the SDK does not depend on: those resolve from
 * the router package.
 */
function resolveInlined(router: RouterReexport, options: ts.CompilerOptions, inline: Set<string>): Plugin {
  return {
    name: "resolve-inlined-packages",
    resolveId(source, importer) {
      if (!importer || source.startsWith(".") || path.isAbsolute(source)) return null;
      if (!isWorkspacePackage(source) && !inline.has(source)) return { id: source, external: true };
      const resolved =
        ts.resolveModuleName(source, importer, options, ts.sys).resolvedModule ??
        ts.resolveModuleName(source, router.resolvedFile, options, ts.sys).resolvedModule;
      if (!resolved)
        throw new TypeBundleError(`cannot resolve the declarations of ${source} (imported by ${importer})`);
      return resolved.resolvedFileName;
    },
  };
}

/** Step 2: one self-contained declaration file per entry. */
async function bundle(
  { scratchDir }: Layout,
  entry: string,
  router: RouterReexport,
  options: ts.CompilerOptions,
  inline: Set<string>,
): Promise<string> {
  let output: Awaited<ReturnType<Awaited<ReturnType<typeof rollup>>["generate"]>>["output"];
  try {
    const build = await rollup({
      input: path.join(scratchDir, `${entry}.d.ts`),
      plugins: [resolveInlined(router, options, inline), dts({ respectExternal: true })],
    });
    ({ output } = await build.generate({ format: "es" }));
    await build.close();
  } catch (err) {
    if (err instanceof TypeBundleError) throw err;
    const inlined = [...inline].join(", ") || "nothing but @desk/*";
    const message = err instanceof Error ? err.message : String(err);
    throw new TypeBundleError(`${entry}.d.ts: bundling failed (inlining ${inlined}): ${message}`);
  }
  const [chunk] = output;
  if (!chunk || chunk.type !== "chunk" || output.length !== 1)
    throw new TypeBundleError(`${entry}.d.ts: expected one file`);
  return libReferences(path.join(scratchDir, `${entry}.d.ts`)) + exportInlinedNames(chunk.code);
}

/**
 * rollup-plugin-dts keeps inlined declarations (the router's context interface, its meta
 * type) private to the file. An app whose own declarations mention them, e.g. a module
 * exporting tRPC's React hooks for AppRouter with `declaration` on, then fails with
 * TS4023 ("has or is using name 'GatewayContext' ... but cannot be named"). Exporting
 * them as types gives TypeScript a name to write.
 */
function exportInlinedNames(code: string): string {
  const file = ts.createSourceFile("bundle.d.ts", code, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const exported = new Set<string>();
  const unexported: string[] = [];
  for (const statement of file.statements) {
    if (ts.isExportDeclaration(statement) && statement.exportClause && ts.isNamedExports(statement.exportClause)) {
      for (const element of statement.exportClause.elements) exported.add((element.propertyName ?? element.name).text);
      continue;
    }
    const isExported = ts.canHaveModifiers(statement)
      ? (ts.getModifiers(statement) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword)
      : false;
    if (isExported) continue;
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) {
        if (ts.isIdentifier(declaration.name)) unexported.push(declaration.name.text);
      }
    } else if (
      (ts.isInterfaceDeclaration(statement) ||
        ts.isTypeAliasDeclaration(statement) ||
        ts.isClassDeclaration(statement) ||
        ts.isFunctionDeclaration(statement) ||
        ts.isEnumDeclaration(statement)) &&
      statement.name
    ) {
      unexported.push(statement.name.text);
    }
  }
  const names = [...new Set(unexported)].filter((name) => !exported.has(name));
  return names.length === 0 ? code : `${code.trimEnd()}\nexport type { ${names.join(", ")} };\n`;
}

/**
 * `/// <reference lib="..." preserve="true" />` lines of an entry's source, which
 * rollup-plugin-dts does not carry over: the libs its declarations need from the
 * consumer's TypeScript (see src/index.ts).
 */
function libReferences(emittedEntry: string): string {
  const libs = [...readFileSync(emittedEntry, "utf8").matchAll(/^\/\/\/\s*<reference\s+lib="([^"]+)"/gm)];
  return libs.map((match) => `/// <reference lib="${match[1]}" />\n`).join("");
}

/** Step 3: what a browser app's TypeScript would trip over, or a package it would have to install. */
function check(entry: string, code: string): void {
  const problems: string[] = [];
  code.split("\n").forEach((line, index) => {
    const at = `  line ${index + 1}:`;
    const text = line.trim();
    if (/^\/\/\/\s*<reference\s+types="node"/.test(text)) problems.push(`${at} references Node's types: ${text}`);
    // Names in comments are prose; only declarations are checked.
    const isComment = text.startsWith("*") || text.startsWith("/*") || text.startsWith("//");
    if (!isComment && /@desk\//.test(text)) problems.push(`${at} names a workspace package: ${text}`);
    for (const [pattern, what] of nodeOnlyNames) {
      if (!isComment && pattern.test(text)) problems.push(`${at} uses ${what} (Node's types): ${text}`);
    }
    for (const specifier of importedModules(line)) {
      if (isBuiltin(specifier)) problems.push(`${at} imports Node's built-in module ${specifier}`);
      else if (!isAllowed(specifier))
        problems.push(`${at} imports ${specifier}, which is not a dependency or peer of the SDK`);
    }
  });
  if (problems.length > 0) {
    throw new TypeBundleError(
      `dist/${entry}.d.ts would not stand alone in a browser app:\n${[...new Set(problems)].join("\n")}\n` +
        "The router's root types (context, meta) and every input and output must be browser-safe; see packages/sdk/README.md.",
    );
  }
}

/** Builds dist/<entry>.d.ts and .d.cts for every entry; throws TypeBundleError on a leak. */
export async function bundleTypes({ packageDir, entries }: BundleTypesOptions): Promise<Map<string, string>> {
  const layout: Layout = {
    packageDir,
    scratchDir: path.join(packageDir, ".types"),
    distDir: path.join(packageDir, "dist"),
    routerFile: path.join(packageDir, "src", "router.ts"),
  };
  const written = new Map<string, string>();
  rmSync(layout.scratchDir, { recursive: true, force: true });
  try {
    const options = compilerOptions(layout);
    const router = readRouterReexport(layout, options);
    emitDeclarations(layout, entries, router, options);
    const inline = inlinedPackages(layout);
    const bundled = new Map<string, string>();
    // Every entry is checked before any is written: a failed build leaves no declarations behind.
    for (const entry of entries) {
      const code = await bundle(layout, entry, router, options, inline);
      check(entry, code);
      bundled.set(entry, code);
    }
    mkdirSync(layout.distDir, { recursive: true });
    for (const [entry, code] of bundled) {
      const target = path.join(layout.distDir, `${entry}.d.ts`);
      writeFileSync(target, code);
      // The same declarations for require(): they only describe types.
      copyFileSync(target, path.join(layout.distDir, `${entry}.d.cts`));
      written.set(target, code);
    }
    return written;
  } finally {
    rmSync(layout.scratchDir, { recursive: true, force: true });
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  bundleTypes({ packageDir, entries: ["index", "schemas", "events"] })
    .then((written) => {
      for (const [file, code] of written) {
        console.log(`DTS ${path.relative(packageDir, file)} ${(code.length / 1024).toFixed(2)} KB, self-contained`);
      }
    })
    .catch((err: unknown) => {
      console.error(err instanceof TypeBundleError ? `bundle-types: ${err.message}` : err);
      process.exit(1);
    });
}
