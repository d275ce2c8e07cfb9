import { randomInt } from "node:crypto";
import { describe, expect, it } from "vitest";
import { dumps, loads } from "./exports.js";
import { frame, runPython, unframe } from "./oracle.js";

/**
 * CPython -> loads -> dumps -> CPython, on random values CPython builds itself (see
 * test/python/oracle_values.py: strings with U+FEFF, astral characters and lone
 * surrogates; frozensets in sets and as keys; zone-aware datetimes in years 1-9999;
 * inf/-inf/nan/-0.0; mixed-key dicts; shared and recursive lists, dicts and sets), each
 * written at every protocol 0 to 5. CPython compares what it reads from its own stream
 * with what it reads from ours, with the README's documented conversions applied.
 *
 * A new seed every run (printed; PICKLE_ROUNDTRIP_SEED replays one), so CI explores.
 */
const SEED = Number(process.env.PICKLE_ROUNDTRIP_SEED ?? randomInt(2 ** 31));
const VALUES = Number(process.env.PICKLE_ROUNDTRIP_VALUES ?? 5000);
const PROTOCOLS = 6;

const WRITE = `
import random
from oracle_values import random_value
seed, count = int(sys.argv[1]), int(sys.argv[2])
rnd = random.Random(seed)
for _ in range(count):
    v = random_value(rnd)
    for proto in range(6):
        emit(pickle.dumps(v, protocol=proto))
`;

/** Pairs (CPython's stream, ours): compares what CPython reads from each. */
const COMPARE = `
import json
from oracle_values import comparable
streams = list(frames())
mismatches, compared = [], 0
for i in range(0, len(streams), 2):
    want = comparable(pickle.loads(streams[i]))
    try:
        got = comparable(pickle.loads(streams[i + 1]))
    except Exception as e:
        got = "CPython cannot load our stream: %s: %s" % (type(e).__name__, e)
    compared += 1
    if got != want:
        mismatches.append({"pair": i // 2, "want": repr(want)[:2000], "got": repr(got)[:2000],
                           "stream": streams[i].hex()[:4000]})
print(json.dumps({"compared": compared, "mismatches": mismatches[:20], "mismatchCount": len(mismatches)}))
`;

interface Report {
  compared: number;
  mismatchCount: number;
  mismatches: { pair: number; want: string; got: string; stream: string }[];
}

describe(`CPython -> loads -> dumps -> CPython (seed ${SEED})`, () => {
  it(`brings ${VALUES} random values back at protocols 0 to 5, seed printed on failure`, () => {
    const streams = unframe(runPython(`sys.argv = ["x", "${SEED}", "${VALUES}"]\n${WRITE}`));
    expect(streams.length).toBe(VALUES * PROTOCOLS);
    const pairs: Buffer[] = [];
    const failures: string[] = [];
    for (let i = 0; i < streams.length; i++) {
      let ours: Buffer;
      try {
        ours = dumps(loads(streams[i]!, { tuples: "tuple" }));
      } catch (e) {
        failures.push(`value ${Math.floor(i / PROTOCOLS)} protocol ${i % PROTOCOLS}: ${String(e)}`);
        ours = Buffer.from([0x80, 4, 0x4e, 0x2e]); // None: CPython reports it as a mismatch too
      }
      pairs.push(streams[i]!, ours);
    }
    const report = JSON.parse(runPython(COMPARE, frame(pairs)).toString("utf8")) as Report;
    const replay = `PICKLE_ROUNDTRIP_SEED=${SEED} PICKLE_ROUNDTRIP_VALUES=${VALUES}`;
    console.log(
      `round trip: seed ${SEED}, ${VALUES} values x ${PROTOCOLS} protocols, ${report.compared} compared, ${report.mismatchCount} mismatches`,
    );
    const described = report.mismatches.map(
      (m) =>
        `value ${Math.floor(m.pair / PROTOCOLS)} protocol ${m.pair % PROTOCOLS}\n  want ${m.want}\n  got  ${m.got}\n  stream ${m.stream}`,
    );
    expect({ replay, failures, mismatches: described }).toEqual({ replay, failures: [], mismatches: [] });
    expect(report.compared).toBe(VALUES * PROTOCOLS);
  });
});
