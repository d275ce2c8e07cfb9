// The console keeps working through a gateway restart (it shows the outage, reconnects by
// itself and its market subscription delivers again), renews its short access tokens without
// the trader noticing, sends the trader back to the login form with a clear message when the
// session ends, and a logout ends the session at the gateway.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Browser, chromiumForSuite, consoleDist, launchBrowser, logIn, screenshot } from "../src/browser.js";
import { type Stack, startStack } from "../src/stack.js";

const chromiumPath = chromiumForSuite("console-restart");

let browser: Browser;
const shots: string[] = [];

/** Every connection status the badge shows, recorded in the page (a short outage is easy to miss by polling). */
async function recordConnectionStatuses(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { seenStatuses: string[] }).seenStatuses = seen;
    const note = () => {
      const status = document.querySelector("[data-testid=connection]")?.getAttribute("data-status");
      if (status && seen[seen.length - 1] !== status) seen.push(status);
    };
    note();
    new MutationObserver(note).observe(document.body, { subtree: true, attributes: true, childList: true });
  });
}

const seenStatuses = (page: Page) =>
  page.evaluate(() => (window as unknown as { seenStatuses: string[] }).seenStatuses);

describe.skipIf(!chromiumPath)("the console through a gateway restart and a token expiry", () => {
  beforeAll(async () => {
    browser = await launchBrowser(chromiumPath!);
  });

  afterAll(async () => {
    if (shots.length > 0) console.info(`[console-restart] screenshots:\n  ${shots.join("\n  ")}`);
    await browser?.close();
  });

  describe("a gateway restart", () => {
    let stack: Stack;

    beforeAll(async () => {
      stack = await startStack({ tickMs: 200, consoleDir: consoleDist() });
    });

    afterAll(async () => {
      await stack?.close();
    });

    it("shows the outage, reconnects by itself and receives ticks again", async () => {
      const page = await browser.newPage();
      await logIn(page, `${stack.url}/`, "trader1", "trader123");
      await page.getByRole("link", { name: "Market" }).click();
      const card = page.locator("[data-testid=quote-card][data-symbol='510500']");
      await expect.poll(() => card.getAttribute("data-tick-ts"), { timeout: 15_000 }).toMatch(/^\d{4}-/);
      await recordConnectionStatuses(page);

      await stack.stopGateway();
      const connection = page.getByTestId("connection");
      await expect
        .poll(() => connection.getAttribute("data-status"), { timeout: 20_000 })
        .toMatch(/^(reconnecting|offline)$/);
      await expect.poll(() => card.locator("[data-freshness]").getAttribute("data-freshness")).toBe("stale");
      shots.push(await screenshot(page, "12-gateway-down"));
      const lastBefore = await card.getAttribute("data-tick-ts");

      await stack.startGateway();
      await expect.poll(() => connection.getAttribute("data-status"), { timeout: 30_000 }).toBe("connected");
      // New ticks on the same subscription: the page was not reloaded, nobody logged in again.
      await expect
        .poll(async () => ((await card.getAttribute("data-tick-ts")) ?? "") > (lastBefore ?? ""), { timeout: 30_000 })
        .toBe(true);
      await expect.poll(() => card.locator("[data-freshness]").getAttribute("data-freshness")).toBe("live");
      expect(await page.getByTestId("role").textContent()).toBe("trader");
      const statuses = await seenStatuses(page);
      expect(statuses[0]).toBe("connected");
      expect(statuses.some((s) => s === "reconnecting" || s === "offline")).toBe(true);
      expect(statuses[statuses.length - 1]).toBe("connected");
      shots.push(await screenshot(page, "13-reconnected"));
      expect(page.errors).toEqual([]);
      await page.close();
    });
  });

  describe("short access tokens, then the session's end", () => {
    let stack: Stack;

    beforeAll(async () => {
      // Access tokens of 6 s renewed by the SDK's session (the gateway asks the socket to
      // reconnect 1.5 s before expiry, more than the SDK's 1 s reconnect jitter); the login lasts 20 s.
      stack = await startStack({ tickMs: 200, jwtTtlSeconds: 6, sessionTtlSeconds: 20, consoleDir: consoleDist() });
    });

    afterAll(async () => {
      await stack?.close();
    });

    it("keeps the trader signed in and the feeds live across token renewals, then says the session ended", async () => {
      const page = await browser.newPage();
      await logIn(page, `${stack.url}/`, "trader1", "trader123");
      const stored = () =>
        page.evaluate(() => {
          const raw = sessionStorage.getItem("desk.console.session");
          return raw ? (JSON.parse(raw) as { tokens: { token: string } }).tokens.token : null;
        });
      const first = await stored();
      expect(first).toMatch(/^ey/);
      await page.getByRole("link", { name: "Market" }).click();
      const card = page.locator("[data-testid=quote-card][data-symbol='510500']");
      // Two renewals (the stored pair changes), still signed in, and ticks still arriving after them.
      const tokens = new Set<string>();
      await expect
        .poll(
          async () => {
            const token = await stored();
            if (token) tokens.add(token);
            return tokens.size;
          },
          { timeout: 20_000 },
        )
        .toBeGreaterThanOrEqual(3);
      expect(await page.getByTestId("who").count()).toBe(1);
      const seen = await card.getAttribute("data-tick-ts");
      await expect.poll(() => card.getAttribute("data-tick-ts"), { timeout: 10_000 }).not.toBe(seen);
      expect(await page.getByTestId("signed-out-notice").count()).toBe(0);

      const notice = page.getByTestId("signed-out-notice");
      await notice.waitFor({ timeout: 25_000 });
      expect(await notice.textContent()).toMatch(
        /^Your session expired at \d\d:\d\d:\d\d\. Log in again to continue\.$/,
      );
      expect(await page.getByTestId("who").count()).toBe(0);
      expect(await page.evaluate(() => sessionStorage.getItem("desk.console.session"))).toBeNull();
      expect(page.errors).toEqual([]);
      shots.push(await screenshot(page, "14-session-expired"));
      await page.close();
    });

    it("logs out at the gateway: the token it held is refused afterwards", async () => {
      const page = await browser.newPage();
      await logIn(page, `${stack.url}/`, "trader1", "trader123");
      const token = await page.evaluate(() => {
        const raw = sessionStorage.getItem("desk.console.session");
        return raw ? (JSON.parse(raw) as { tokens: { token: string } }).tokens.token : null;
      });
      await page.getByRole("button", { name: "Log out" }).click();
      await page.getByRole("button", { name: "Log in" }).waitFor();
      await expect
        .poll(async () => {
          const r = await fetch(`${stack.url}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } });
          return `${r.status} ${((await r.json()) as { message: string }).message}`;
        })
        .toBe("401 Token revoked: logged out");
      await page.close();
    });
  });
});
