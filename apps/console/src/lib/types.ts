import type { RouterInputs, RouterOutputs } from "@desk/sdk";

// Everything the console shows is typed from the gateway's API itself (through the SDK),
// so a contract change is a compile error here, not a blank cell.

export type Me = RouterOutputs["auth"]["me"];
export type LoginResult = RouterOutputs["auth"]["login"];
export type Permission = Me["permissions"][number];
export type Role = Me["role"];

export type Account = RouterOutputs["account"]["list"][number];
export type Position = RouterOutputs["account"]["positions"][number];
export type RiskMetrics = RouterOutputs["account"]["riskMetrics"];
export type VerifyPositionsResult = RouterOutputs["account"]["verifyPositions"];

export type Algorithm = RouterOutputs["algorithm"]["list"][number];
export type AlgorithmLog = RouterOutputs["algorithm"]["logs"][number];
export type AlgorithmCommand = RouterInputs["algorithm"]["command"]["command"];
export type AlgorithmStatus = Algorithm["status"];

export type ParseResult = RouterOutputs["instruction"]["parse"];
export type Instruction = ParseResult["instructions"][number];
export type Execution = RouterOutputs["instruction"]["execute"];
export type ExecutionLeg = Execution["legs"][number];
export type ExecuteInput = RouterInputs["instruction"]["execute"];

export type HealthReport = RouterOutputs["system"]["health"];

/** What a tRPC subscription yields: `{ id, data }` (tracked events). */
type Yielded<T> = T extends AsyncIterable<infer E> ? E : never;
type TrackedData<T> = Yielded<T> extends { data: infer D } ? D : never;

export type MarketTick = TrackedData<RouterOutputs["market"]["onTick"]>;
export type AccountEvent = TrackedData<RouterOutputs["account"]["onUpdate"]>;
export type AlgorithmEvent = TrackedData<RouterOutputs["algorithm"]["onProgress"]>;
export type ExecutionUpdate = TrackedData<RouterOutputs["instruction"]["executeLive"]>;
export type Size = Extract<Instruction, { type: "straddle" }>["size"];
export type Strike = Extract<Instruction, { type: "single" }>["strike"];
