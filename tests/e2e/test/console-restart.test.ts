// The console keeps working through a gateway restart (it shows the outage, reconnects by
// itself and its market subscription delivers again), and a token that expires sends the
// trader back to the login form with a clear message.
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

  describe("a token that expires", () => {
    let stack: Stack;

    beforeAll(async () => {
      stack = await startStack({ tickMs: 500, jwtTtlSeconds: 3, consoleDir: consoleDist() });
    });

    afterAll(async () => {
      await stack?.close();
    });

    it("sends the trader back to the login form and says why", async () => {
      const page = await browser.newPage();
      await logIn(page, `${stack.url}/`, "trader1", "trader123");
      const notice = page.getByTestId("signed-out-notice");
      await notice.waitFor({ timeout: 15_000 });
      expect(await notice.textContent()).toMatch(
        /^Your session expired at \d\d:\d\d:\d\d\. Log in again to continue\.$/,
      );
      expect(await page.getByTestId("who").count()).toBe(0);
      expect(await page.evaluate(() => sessionStorage.getItem("desk.console.session"))).toBeNull();
      shots.push(await screenshot(page, "14-session-expired"));
      await page.close();
    });
  });
});
