import { describe, expect, it } from "vitest";
import { createRng } from "../../src/domain/index.js";

describe("seeded PRNG", () => {
  it("repeats for a seed and differs across seeds", () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const seqA = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(seqA);
  });

  it("draws uniforms in [0, 1) and standard normals with the right moments", () => {
    const r = createRng(1);
    let sum = 0;
    let sumSq = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const u = r.next();
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      const g = r.gaussian();
      sum += g;
      sumSq += g * g;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.05);
    expect(Math.abs(sumSq / n - 1)).toBeLessThan(0.05);
    for (let i = 0; i < 100; i++) {
      const k = r.int(1, 3);
      expect([1, 2, 3]).toContain(k);
    }
  });
});
