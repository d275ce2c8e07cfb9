import { describe, expect, it } from "vitest";
import {
  expiryOf,
  fourthWednesday,
  listedMonthByNumber,
  listedMonths,
  shanghaiToday,
  tradingDaysBetween,
} from "../../src/domain/index.js";

const months = (today: string) => listedMonths(today).map((m) => `${m.which}:${m.year}-${m.month}:${m.expiry}`);

describe("calendar", () => {
  it("puts expiry on the fourth Wednesday", () => {
    expect(fourthWednesday(2025, 1)).toBe("2025-01-22"); // the 1st is a Wednesday
    expect(fourthWednesday(2025, 10)).toBe("2025-10-22");
    expect(fourthWednesday(2025, 11)).toBe("2025-11-26"); // the 1st is a Saturday
    expect(fourthWednesday(2025, 12)).toBe("2025-12-24");
    expect(fourthWednesday(2026, 2)).toBe("2026-02-25"); // the 1st is a Sunday
    expect(fourthWednesday(2024, 6)).toBe("2024-06-26");
    expect(fourthWednesday(2026, 4)).toBe("2026-04-22"); // the 1st is a Wednesday
    expect(fourthWednesday(2025, 9)).toBe("2025-09-24");
  });

  it("lists 当月, 下月 and the next two quarterly months", () => {
    expect(months("2025-11-25")).toEqual([
      "current:2025-11:2025-11-26",
      "next:2025-12:2025-12-24",
      "current_quarter:2026-3:2026-03-25",
      "next_quarter:2026-6:2026-06-24",
    ]);
  });

  it("rolls 当月 forward on the expiry day and after it", () => {
    expect(months("2025-11-26")[0]).toBe("current:2025-12:2025-12-24");
    expect(months("2025-11-27")[0]).toBe("current:2025-12:2025-12-24");
    expect(months("2025-12-25").slice(0, 2)).toEqual(["current:2026-1:2026-01-28", "next:2026-2:2026-02-25"]);
  });

  it("takes quarterly months strictly after 下月, across year ends", () => {
    // 下月 is March, so 当季 is June.
    expect(months("2026-02-10").map((m) => m.split(":")[1])).toEqual(["2026-2", "2026-3", "2026-6", "2026-9"]);
    // 当月 is March itself: 当季 is still the next quarter month after 下月 (April).
    expect(months("2026-03-02").map((m) => m.split(":")[1])).toEqual(["2026-3", "2026-4", "2026-6", "2026-9"]);
    // After September's expiry: Oct, Nov, Dec, then March of next year.
    expect(months("2025-09-30").map((m) => m.split(":")[1])).toEqual(["2025-10", "2025-11", "2025-12", "2026-3"]);
  });

  it("resolves months and month numbers", () => {
    expect(expiryOf("next", "2025-11-25")).toBe("2025-12-24");
    expect(listedMonthByNumber(12, "2025-11-25")?.which).toBe("next");
    expect(listedMonthByNumber(3, "2025-11-25")?.which).toBe("current_quarter");
    expect(listedMonthByNumber(1, "2025-11-25")).toBeUndefined();
  });

  it("counts trading days (weekdays after `from` through `to`)", () => {
    expect(tradingDaysBetween("2025-11-21", "2025-11-24")).toBe(1); // Fri -> Mon
    expect(tradingDaysBetween("2025-11-25", "2025-11-26")).toBe(1);
    expect(tradingDaysBetween("2025-11-24", "2025-12-01")).toBe(5);
    expect(tradingDaysBetween("2025-11-25", "2025-12-24")).toBe(21);
    expect(tradingDaysBetween("2025-11-25", "2025-11-25")).toBe(0);
    expect(tradingDaysBetween("2025-11-26", "2025-11-25")).toBe(0);
  });

  it("takes today's date in Shanghai (UTC+8)", () => {
    expect(shanghaiToday(new Date("2025-11-25T15:59:00Z"))).toBe("2025-11-25");
    expect(shanghaiToday(new Date("2025-11-25T16:00:00Z"))).toBe("2025-11-26");
  });

  it("rejects malformed dates", () => {
    expect(() => tradingDaysBetween("2025-13-01", "2025-12-01")).toThrow(/date/);
    expect(() => listedMonths("25-11-2025")).toThrow(/ISO date/);
  });
});
