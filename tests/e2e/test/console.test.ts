// The desk console in a real browser (Debian's Chromium) against a real gateway and mock
// backend: what a trader and a viewer see and may do. Screenshots of each main screen
// land in artifacts/screenshots/ (gitignored).
import { closeGatewayClient, createGatewayClient, type GatewayClient, login, toGatewayError } from "@desk/sdk";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Browser, chromiumForSuite, consoleDist, launchBrowser, logIn, screenshot } from "../src/browser.js";
import { type Stack, startStack } from "../src/stack.js";

const chromiumPath = chromiumForSuite("console");
const NUMBER = /^[+-]?\d{1,3}(,\d{3})*$/;

let stack: Stack;
let browser: Browser;
let trader: Page & { errors: string[] };
let sdk: GatewayClient;
const shots: string[] = [];

describe.skipIf(!chromiumPath)("the desk console in Chromium", () => {
  beforeAll(async () => {
    stack = await startStack({ tickMs: 300, consoleDir: consoleDist() });
    browser = await launchBrowser(chromiumPath!);
    trader = await browser.newPage();
    const { token } = await login(stack.url, "trader1", "trader123");
    sdk = createGatewayClient({ url: stack.url, token });
  });

  afterAll(async () => {
    if (shots.length > 0) console.info(`[console] screenshots:\n  ${shots.join("\n  ")}`);
    if (sdk) await closeGatewayClient(sdk);
    await browser?.close();
    await stack?.close();
  });

  it("shows the login form, refuses a wrong password readably, then logs trader1 in", async () => {
    await trader.goto(`${stack.url}/`);
    await trader.getByTestId("connection").and(trader.locator("[data-status=connected]")).waitFor();
    shots.push(await screenshot(trader, "01-login"));
    await trader.getByLabel("Username").fill("trader1");
    await trader.getByLabel("Password").fill("wrong");
    await trader.getByRole("button", { name: "Log in" }).click();
    await expect.poll(() => trader.getByRole("alert").textContent()).toBe("Wrong username or password");

    await logIn(trader, `${stack.url}/`, "trader1", "trader123");
    expect(await trader.getByTestId("role").textContent()).toBe("trader");
  });

  it("lists account1 and account2 but not account3, with live numbers", async () => {
    const rows = trader.locator("[data-testid=accounts-table] tbody tr[data-account]");
    await rows.nth(1).waitFor();
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-account")))).toEqual([
      "account1",
      "account2",
    ]);
    expect(await trader.locator("[data-account=account3]").count()).toBe(0);
    const balance = await rows.first().locator("td").nth(2).textContent();
    expect(balance).toMatch(NUMBER);
    // account.onUpdate: the "Updated" column fills in from live events.
    await expect
      .poll(() => rows.first().locator("td").last().textContent(), { timeout: 15_000 })
      .toMatch(/^\d+(\.\d)? s$/);
    expect(await trader.getByRole("switch", { name: "Trading on account1" }).isVisible()).toBe(true);
    shots.push(await screenshot(trader, "02-accounts"));
  });

  it("asks before disabling an account, and the toggle goes both ways", async () => {
    const toggle = trader.getByRole("switch", { name: "Trading on account2" });
    await toggle.click();
    const dialog = trader.getByRole("dialog");
    expect(await dialog.getByRole("heading").textContent()).toBe("Disable trading on account2?");
    await dialog.getByRole("button", { name: "Back" }).click();
    expect(await toggle.getAttribute("aria-checked")).toBe("true");

    await toggle.click();
    await trader.getByRole("dialog").getByRole("button", { name: "Disable trading" }).click();
    await expect.poll(() => toggle.getAttribute("aria-checked")).toBe("false");
    expect((await sdk.account.get.query({ accountId: "account2" })).enabled).toBe(false);
    await toggle.click();
    await trader.getByRole("dialog").getByRole("button", { name: "Enable trading" }).click();
    await expect.poll(() => toggle.getAttribute("aria-checked")).toBe("true");
  });

  it("renders positions with greeks and totals, the risk panel, and verify_positions", async () => {
    await trader.getByRole("link", { name: "Positions & risk" }).click();
    const table = trader.getByTestId("positions-table");
    await table.locator("tbody tr[data-code]").first().waitFor();
    const rows = await table.locator("tbody tr[data-code]").count();
    expect(rows).toBeGreaterThan(0);
    const firstRow = table.locator("tbody tr[data-code]").first().locator("td");
    // Qty, P&L and the four greeks are numbers.
    for (const column of [2, 6, 7, 8, 9, 10]) expect(await firstRow.nth(column).textContent()).toMatch(NUMBER);
    const totals = trader.getByTestId("positions-totals").locator("th");
    expect(await totals.first().textContent()).toBe(`Total (${rows})`);
    for (const column of [6, 7, 8, 9, 10]) expect(await totals.nth(column).textContent()).toMatch(NUMBER);

    const risk = trader.getByTestId("risk-panel");
    for (const figure of ["cashDelta", "gamma", "vega", "theta", "var95", "var99"]) {
      expect(await risk.locator(`[data-figure=${figure}] dd`).textContent()).toMatch(NUMBER);
    }
    await trader.getByRole("button", { name: "Verify positions with broker" }).click();
    await expect.poll(() => trader.getByTestId("verify-result").textContent()).toMatch(/^Matches the broker/);
    shots.push(await screenshot(trader, "03-positions"));
  });

  it("receives market ticks: prices, tick age, a chart per underlying", async () => {
    await trader.getByRole("link", { name: "Market" }).click();
    const card = trader.locator("[data-testid=quote-card][data-symbol='510500']");
    await expect.poll(() => card.getAttribute("data-tick-ts"), { timeout: 15_000 }).toMatch(/^\d{4}-/);
    expect(await card.getByTestId("last").textContent()).toMatch(/^\d+\.\d{3}$/);
    const first = await card.getAttribute("data-tick-ts");
    await expect.poll(() => card.getAttribute("data-tick-ts"), { timeout: 15_000 }).not.toBe(first);
    expect(await card.locator("[data-freshness]").getAttribute("data-freshness")).toBe("live");
    expect(await card.getByTestId("tick-age").textContent()).toMatch(/^last tick \d+\.\d s ago$/);
    expect(await trader.locator("[data-testid=quote-card] canvas").count()).toBeGreaterThanOrEqual(4);
    // Held contracts are subscribed too.
    await expect
      .poll(() => trader.locator("[data-testid=contracts-table] [data-freshness=live]").count(), { timeout: 15_000 })
      .toBeGreaterThan(0);
    shots.push(await screenshot(trader, "04-market"));
  });

  it("shows algorithms with live progress, pauses and resumes one, and opens its logs", async () => {
    await trader.getByRole("link", { name: "Algorithms" }).click();
    const row = trader.locator("tr[data-algorithm=algo-001]");
    const progress = row.getByRole("progressbar");
    await progress.waitFor();
    const before = await row.locator("td").nth(5).textContent();
    // Running algorithms fill a few lots per tick: algorithm.onProgress moves the row.
    await expect.poll(() => row.locator("td").nth(5).textContent(), { timeout: 15_000 }).not.toBe(before);

    await row.getByRole("button", { name: "Pause" }).click();
    await expect.poll(() => row.getByTestId("algorithm-status").textContent()).toBe("paused");
    await row.getByRole("button", { name: "Resume" }).click();
    await expect.poll(() => row.getByTestId("algorithm-status").textContent()).toBe("running");
    // A completed algorithm offers no commands (algo-005 is account3's: not visible to trader1).
    expect(await trader.locator("tr[data-algorithm=algo-005]").count()).toBe(0);

    await row.getByRole("button", { name: "Logs" }).click();
    await expect
      .poll(() => trader.getByTestId("algorithm-logs").locator("li").count(), { timeout: 15_000 })
      .toBeGreaterThan(0);
    shots.push(await screenshot(trader, "05-algorithms"));
  });

  it("points a parse error at the part of the text it is about", async () => {
    await trader.getByRole("link", { name: "Instructions" }).click();
    const box = trader.getByTestId("instruction-text");
    await box.fill("双卖 500 当月 万1 的v\n买购 300 下月 xyz 10手");
    await trader.getByRole("button", { name: "Parse" }).click();
    const error = trader.getByTestId("parse-error");
    await expect.poll(() => error.locator("mark").textContent()).toBe("xyz");
    expect(await error.getByRole("alert").textContent()).toContain('cannot read "xyz"');
    // The box selects the same part.
    expect(await box.evaluate((el: HTMLTextAreaElement) => el.value.slice(el.selectionStart, el.selectionEnd))).toBe(
      "xyz",
    );
    shots.push(await screenshot(trader, "06-parse-error"));
  });

  it("parses the shorthand, previews it, executes it once (double click), and follows it to completed", async () => {
    await trader.getByTestId("instruction-text").fill("双卖 500 当月 万1 的v");
    await trader.getByRole("button", { name: "Parse" }).click();
    const legs = trader.getByTestId("parsed-legs").locator("tbody tr");
    await expect.poll(() => legs.count()).toBe(2);
    expect(await legs.first().textContent()).toContain("Sell");

    await trader.getByRole("button", { name: "Preview" }).click();
    const priced = trader.getByTestId("preview-legs").locator("tbody tr");
    await expect.poll(() => priced.count()).toBe(4); // call + put, for account1 and account2
    expect(await priced.first().locator("td").nth(8).textContent()).toMatch(/^\d+\.\d{4}$/);
    shots.push(await screenshot(trader, "07-preview"));
    const previewId = await sdk.instruction.status
      .query({ executionId: "exec-000001" })
      .then((e) => (e.dryRun ? e.id : null))
      .catch(() => null);
    expect(previewId).toBe("exec-000001");

    await trader.getByRole("button", { name: "Execute…" }).click();
    const dialog = trader.getByRole("dialog");
    expect(await dialog.getByRole("heading").textContent()).toBe("Send this order?");
    shots.push(await screenshot(trader, "08-confirm"));
    await dialog.getByRole("button", { name: "Send order" }).dblclick();

    const order = trader.getByTestId("order");
    await expect.poll(() => order.getAttribute("data-status"), { timeout: 30_000 }).toBe("running");
    shots.push(await screenshot(trader, "09-executing"));
    await expect.poll(() => order.getAttribute("data-status"), { timeout: 45_000 }).toBe("completed");
    expect(await order.getByRole("progressbar").getAttribute("aria-valuenow")).toBe("100");
    expect(await order.getByTestId("execution-legs").locator("tbody tr").count()).toBe(4);
    shots.push(await screenshot(trader, "10-completed"));

    // Exactly one real execution was created: the next id does not exist.
    const executionId = (await order.locator("h3 code").textContent()) ?? "";
    expect(executionId).toBe("exec-000002");
    const second = await sdk.instruction.status.query({ executionId: "exec-000003" }).catch(toGatewayError);
    expect(second).toMatchObject({ kind: "not_found" });
    expect(trader.errors).toEqual([]);
  });

  it("gives viewer1 no buttons it cannot use, and the gateway refuses a forced call", async () => {
    const viewer = await browser.newPage();
    try {
      await logIn(viewer, `${stack.url}/`, "viewer1", "viewer123");
      expect(await viewer.getByTestId("role").textContent()).toBe("viewer");
      await viewer.locator("[data-account=account3]").waitFor();
      expect(await viewer.getByRole("switch").count()).toBe(0);

      await viewer.getByRole("link", { name: "Algorithms" }).click();
      await viewer.locator("tr[data-algorithm=algo-001]").waitFor();
      for (const name of ["Pause", "Resume", "Stop", "Start"]) {
        expect(await viewer.getByRole("button", { name, exact: true }).count()).toBe(0);
      }

      await viewer.getByRole("link", { name: "Instructions" }).click();
      await viewer.getByTestId("instructions-readonly").waitFor();
      for (const name of ["Execute…", "Parse", "Preview"]) {
        expect(await viewer.getByRole("button", { name }).count()).toBe(0);
      }
      shots.push(await screenshot(viewer, "11-viewer-instructions"));

      // A viewer who calls the API from the page anyway: the gateway is the authority.
      const forced = await viewer.evaluate(async () => {
        const session = JSON.parse(sessionStorage.getItem("desk.console.session") ?? "{}") as {
          tokens?: { token?: string };
        };
        const response = await fetch("/trpc/instruction.execute", {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${session.tokens?.token}` },
          body: JSON.stringify({
            json: {
              instructions: [
                {
                  type: "close",
                  text: "平仓",
                  underlying: null,
                  month: null,
                },
              ],
              accounts: ["account1"],
              dryRun: false,
            },
          }),
        });
        return { status: response.status, body: await response.text() };
      });
      expect(forced.status).toBe(403);
      expect(forced.body).toContain("lacks the instruction:execute permission");
      expect(viewer.errors).toEqual([]);
    } finally {
      await viewer.close();
    }
  });
});
