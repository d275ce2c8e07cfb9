// The browser side of the console tests: Debian's Chromium driven by playwright-core (no
// browser download), and the console's BUILT files, which the test's gateway serves at `/`
// exactly as in production.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";

// playwright adds --headless itself (headless: true) and a profile dir (launchPersistentContext).
const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Where screenshots go: a gitignored folder, kept after the run for people to look at. */
export const SCREENSHOT_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "artifacts", "screenshots");

/**
 * Debian's Chromium (CHROMIUM_PATH overrides). Missing: under CI the suite fails (CI
 * installs it), elsewhere it is skipped with a visible warning.
 */
export function chromiumForSuite(label: string): string | undefined {
  const path = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (existsSync(path)) return path;
  const reason = `no Chromium at ${path}: apt-get install -y chromium fonts-noto-cjk (or set CHROMIUM_PATH)`;
  if (process.env.CI) throw new Error(`[${label}] CI must run these tests: ${reason}`);
  console.warn(`[${label}] SKIPPED: ${reason}`);
  return undefined;
}

/**
 * apps/console/dist, built by turbo before the tests. The tests' gateway serves it at `/`
 * (CONSOLE_DIR), as in production: same origin for the page, /trpc and its WebSocket.
 */
export function consoleDist(): string {
  const dir = join(dirname(createRequire(import.meta.url).resolve("@desk/console/package.json")), "dist");
  if (!existsSync(join(dir, "index.html"))) {
    throw new Error(`${dir} is missing: build the console first (pnpm --filter @desk/console build)`);
  }
  return dir;
}

export interface Browser {
  context: BrowserContext;
  /** A new tab at 1280×800 (its own sessionStorage, so its own login), with page errors and CSP violations collected. */
  newPage(): Promise<Page & { errors: string[] }>;
  close(): Promise<void>;
}

/** Chromium headless with a fresh profile directory, removed on close. */
export async function launchBrowser(executablePath: string): Promise<Browser> {
  const userDataDir = await mkdtemp(join(tmpdir(), "desk-console-chromium-"));
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 800 },
    locale: "en-GB",
    timezoneId: "Asia/Shanghai",
  });
  context.setDefaultTimeout(20_000);
  return {
    context,
    async newPage() {
      const page = Object.assign(await context.newPage(), { errors: [] as string[] });
      page.on("pageerror", (err) => page.errors.push(err.message));
      page.on("console", (message) => {
        if (message.type() === "error" && /Content Security Policy/i.test(message.text()))
          page.errors.push(message.text());
      });
      return page;
    },
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Logs in through the form, as a person would, and waits for the console. */
export async function logIn(page: Page, url: string, username: string, password: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByTestId("who").waitFor();
}

export async function screenshot(page: Page, name: string): Promise<string> {
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}
