import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { PickleError, type PickleCodec, createNativeCodec, createPythonCodec, dumps, loads, tuple } from "./exports.js";
import { HELPER, PYTHON, canon } from "./oracle.js";

const CRASHY = fileURLToPath(new URL("./fixtures/crashy_helper.py", import.meta.url));
const open: PickleCodec[] = [];
const codec = (o: Parameters<typeof createPythonCodec>[0] = {}): PickleCodec => {
  const c = createPythonCodec({ pythonPath: PYTHON, scriptPath: HELPER, ...o });
  open.push(c);
  return c;
};
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

const sample = () => [
  true,
  [
    { symbol: "510050", qty: 10, price: 2.512, pnl: -1234.5, opened: new Date("2024-03-01T01:30:00.123Z") },
    {
      symbol: "10005001",
      qty: -3,
      big: 2n ** 70n,
      raw: Buffer.from([1, 2, 3]),
      t: tuple(1, "x"),
      s: new Set([1]),
      m: new Map([[1, "a"]]),
    },
  ],
];

describe("python codec (pickle_helper.py, long-lived)", () => {
  it("encodes what the native decoder reads and decodes like the native codec", async () => {
    const py = codec();
    const native = createNativeCodec();
    const value = sample();
    expect(py.kind).toBe("python");
    expect(canon(loads(await py.encode(value), { tuples: "tuple" }))).toEqual(canon(value));
    expect(canon(await py.decode(dumps(value)))).toEqual(canon(await native.decode(dumps(value))));
  });

  it("pipelines many requests over one process", async () => {
    const py = codec();
    const values = Array.from({ length: 300 }, (_, i) => ({ i, s: "x".repeat(i % 50), when: new Date(i * 1000) }));
    const decoded = await Promise.all(values.map(async (v) => py.decode(await py.encode(v))));
    expect(decoded.map((v) => canon(v))).toEqual(values.map((v) => canon(v)));
  });

  it("refuses forbidden globals with the same typed error", async () => {
    const py = codec();
    const err = await py.decode(Buffer.from("cos\nsystem\n(S'echo pwned'\ntR.", "latin1")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PickleError);
    expect((err as PickleError).code).toBe("FORBIDDEN_GLOBAL");
    expect((err as PickleError).global).toEqual({ module: "os", name: "system" });
    // ...and keeps serving.
    expect(await py.decode(dumps([1, 2]))).toEqual([1, 2]);
  });

  it("fails pending calls with HELPER_FAILED when the helper dies, then restarts it", async () => {
    const py = codec({ scriptPath: CRASHY });
    expect(await py.decode(dumps("warm"))).toBe("warm");
    const results = await Promise.allSettled([
      py.decode(dumps(1)),
      py.decode(Buffer.from("CRASH")),
      py.decode(dumps(2)),
    ]);
    const crash = results[1];
    expect(crash.status).toBe("rejected");
    const reason = (crash as PromiseRejectedResult).reason as PickleError;
    expect(reason.code).toBe("HELPER_FAILED");
    expect(reason.message).toMatch(/exited/);
    // Whatever was still pending failed the same way; new calls get a fresh process.
    for (const r of results) if (r.status === "rejected") expect((r.reason as PickleError).code).toBe("HELPER_FAILED");
    expect(await py.decode(dumps("again"))).toBe("again");
  });

  it("reports a missing interpreter clearly", async () => {
    const py = codec({ pythonPath: "/nonexistent/python3" });
    const err = (await py.encode(1).catch((e: unknown) => e)) as PickleError;
    expect(err.code).toBe("HELPER_FAILED");
    expect(err.message).toMatch(/could not run|exited/);
  });

  it("rejects pending and later calls with CLOSED after close()", async () => {
    const py = codec();
    const pending = py.encode(sample()).catch((e: unknown) => e);
    await py.close();
    const err = (await pending) as PickleError;
    expect(["CLOSED"]).toContain(err.code);
    expect(((await py.decode(dumps(1)).catch((e: unknown) => e)) as PickleError).code).toBe("CLOSED");
  });
});

describe("python codec, one-shot (bench baseline)", () => {
  it("answers one message per process", async () => {
    const py = codec({ mode: "one-shot" });
    const value = sample();
    expect(canon(loads(await py.encode(value), { tuples: "tuple" }))).toEqual(canon(value));
    expect(canon(await py.decode(dumps(value)))).toEqual(canon(loads(dumps(value))));
  });
});
