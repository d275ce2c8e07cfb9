import { PickleError, forbiddenGlobal } from "./errors.js";
import { asFrozenSet } from "./frozenset.js";
import { PyGlobal, PyTimezone, datetimeFromState } from "./globals.js";
import { type LoadOptions, type ResolvedLoadOptions, resolveLoadOptions } from "./options.js";
import { decodeQuotedString, decodeRawUnicodeEscape, decodeUtf8 } from "./text.js";
import { asTuple } from "./tuple.js";
import { patchAndMeasure } from "./walk.js";

// Opcodes (pickletools names). Protocols 0-1 text forms are read where they are cheap.
const MARK = 0x28,
  STOP = 0x2e,
  POP = 0x30,
  POP_MARK = 0x31,
  DUP = 0x32,
  FLOAT = 0x46,
  INT = 0x49,
  BININT = 0x4a,
  BININT1 = 0x4b,
  LONG = 0x4c,
  BININT2 = 0x4d,
  NONE = 0x4e,
  PERSID = 0x50,
  BINPERSID = 0x51,
  REDUCE = 0x52,
  STRING = 0x53,
  BINSTRING = 0x54,
  SHORT_BINSTRING = 0x55,
  UNICODE = 0x56,
  BINUNICODE = 0x58,
  APPEND = 0x61,
  BUILD = 0x62,
  GLOBAL = 0x63,
  DICT = 0x64,
  EMPTY_DICT = 0x7d,
  APPENDS = 0x65,
  GET = 0x67,
  BINGET = 0x68,
  INST = 0x69,
  LONG_BINGET = 0x6a,
  LIST = 0x6c,
  EMPTY_LIST = 0x5d,
  OBJ = 0x6f,
  PUT = 0x70,
  BINPUT = 0x71,
  LONG_BINPUT = 0x72,
  SETITEM = 0x73,
  TUPLE = 0x74,
  EMPTY_TUPLE = 0x29,
  SETITEMS = 0x75,
  BINFLOAT = 0x47,
  PROTO = 0x80,
  NEWOBJ = 0x81,
  EXT1 = 0x82,
  EXT2 = 0x83,
  EXT4 = 0x84,
  TUPLE1 = 0x85,
  TUPLE2 = 0x86,
  TUPLE3 = 0x87,
  NEWTRUE = 0x88,
  NEWFALSE = 0x89,
  LONG1 = 0x8a,
  LONG4 = 0x8b,
  BINBYTES = 0x42,
  SHORT_BINBYTES = 0x43,
  SHORT_BINUNICODE = 0x8c,
  BINUNICODE8 = 0x8d,
  BINBYTES8 = 0x8e,
  EMPTY_SET = 0x8f,
  ADDITEMS = 0x90,
  FROZENSET = 0x91,
  NEWOBJ_EX = 0x92,
  STACK_GLOBAL = 0x93,
  MEMOIZE = 0x94,
  FRAME = 0x95,
  BYTEARRAY8 = 0x96,
  NEXT_BUFFER = 0x97,
  READONLY_BUFFER = 0x98;

const TWO32 = 4294967296;

/**
 * Nesting is tracked per stack slot as a height: 0 for a scalar, 1 for an empty
 * container, 1 + the highest child otherwise. FROM_MEMO marks a slot whose value came
 * back through the memo (GET, DUP): its recorded height may be stale if the stream
 * then adds to it, so such a stream gets the exact second pass (walk.ts).
 */
const FROM_MEMO = 0x40000000;
const HEIGHT = 0x3fffffff;
/**
 * CPython writes at most 1,000 items per APPENDS/SETITEMS/ADDITEMS: more untouched
 * containers opened in a row than that plus maxDepth can only be nesting deeper than
 * maxDepth, refused before it is all on the stack.
 */
const BATCH = 1000;

type Dict = Record<string, unknown>;

function isDictObject(v: unknown): v is Dict {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === null;
}

/**
 * Decode a pickle (protocols 0 to 5) into plain JavaScript values.
 * One pass over the bytes, an explicit stack (no recursion), every length checked
 * against what is left before anything is allocated, globals only via the allow-list.
 */
export function loads(data: Uint8Array, options?: LoadOptions): unknown {
  if (!(data instanceof Uint8Array)) throw new PickleError("MALFORMED", "loads expects a Uint8Array or Buffer");
  const o = resolveLoadOptions(options);
  if (data.length > o.maxBytes) {
    throw new PickleError("LIMIT_EXCEEDED", `input is ${data.length} bytes, maxBytes is ${o.maxBytes}`);
  }
  // A handler run during decoding could call loads again: it then gets its own stacks.
  const stacks = idle ?? new Stacks();
  idle = undefined;
  try {
    return run(data, o, stacks);
  } finally {
    // Drop the references the stack still holds (the slots this call used are the
    // leading defined ones), keep it for the next call unless a big input grew it.
    const stack = stacks.values;
    if (stack.length <= KEEP_STACK_MAX) {
      for (let i = 0; i < stack.length && stack[i] !== undefined; i++) stack[i] = undefined;
      if (stacks.heights.length > KEEP_STACK_MAX) stacks.heights = new Int32Array(1024);
      // A 2,000-position reply memoizes ~8,000 values: keep room for that (256 KiB at most).
      if (stacks.memoHeights.length > KEEP_MEMO_MAX) stacks.memoHeights = new Int32Array(1024);
      if (stacks.deferredAt.length > KEEP_MEMO_MAX) {
        stacks.deferredAt = new Int32Array(256);
        stacks.deferredZone = new Int32Array(256);
      }
      idle = stacks;
    }
  }
}

const KEEP_STACK_MAX = 4096;
const KEEP_MEMO_MAX = 65536;

/** The decoder's reusable arrays: values, their heights, the heights of memo entries. */
class Stacks {
  values: unknown[] = [];
  marks: Int32Array<ArrayBuffer> = new Int32Array(256);
  /** For memo entries left DEFERRED by the datetime fast path: where the 10 state bytes are. */
  deferredAt: Int32Array<ArrayBuffer> = new Int32Array(256);
  deferredZone: Int32Array<ArrayBuffer> = new Int32Array(256);
  heights: Int32Array<ArrayBuffer> = new Int32Array(1024);
  memoHeights: Int32Array<ArrayBuffer> = new Int32Array(1024);
}

let idle: Stacks | undefined;

function grown(a: Int32Array, need: number): Int32Array<ArrayBuffer> {
  const next = new Int32Array(Math.max(a.length * 2, need + 2));
  next.set(a);
  return next;
}

function fail(at: number, code: PickleError["code"], message: string): PickleError {
  return new PickleError(code, `${message} (at byte ${at})`, { offset: at });
}

function truncated(at: number): PickleError {
  return fail(at, "TRUNCATED", "stream ends inside an opcode argument");
}

function underflow(at: number): PickleError {
  return fail(at, "MALFORMED", "unpickling stack underflow");
}

function lengthPastEnd(at: number, n: number, left: number): PickleError {
  return fail(at, "TRUNCATED", `declared length ${n} exceeds the ${left} bytes left`);
}

function tooDeep(at: number, maxDepth: number): PickleError {
  return fail(at, "LIMIT_EXCEEDED", `containers nest deeper than maxDepth ${maxDepth}`);
}

/**
 * What only unusual streams need (objects built by globals, dicts reached through the
 * memo before they were complete, dicts that turned into Maps, call-only globals);
 * created per call, filled on first use, so a plain reply never pays for it.
 */
class Rare {
  /** Objects returned by allow-listed globals: BUILD may only touch those. */
  made: Map<object, PyGlobal> | undefined;
  /** Object-dicts that reached a memo GET (or DUP) before they were complete. */
  escaped: Set<object> | undefined;
  /** Object-dicts turned into Maps (a non-str key came late): old -> new, for GET. */
  forward: Map<object, Map<unknown, unknown>> | undefined;
  /** Python's key order of object-dicts that got an integer-like key (JS puts those first). */
  order: Map<object, string[]> | undefined;
  /** A dict handed out before it became a Map: references to it are patched at STOP. */
  patch = false;
  /** A container from the memo was added to: its nesting is measured again at STOP. */
  depthUnsure = false;
  /** References to call-only globals (getattr) not consumed by a call yet. */
  callOnlyRefs = 0;
  callOnly: PyGlobal | undefined;

  markEscaped(v: object): void {
    this.escaped ??= new Set();
    this.escaped.add(v);
  }

  referCallOnly(g: PyGlobal): void {
    this.callOnlyRefs++;
    this.callOnly = g;
  }
}

/** An integer-like str key ("1", "42"), which a JS object orders before the others. */
function mayBeIndexKey(k: string): boolean {
  const c = k.charCodeAt(0);
  return c >= 0x30 && c <= 0x39;
}

/**
 * SETITEM(S)/DICT: the items stack[target+1..to) go into the dict at stack[target].
 * Str keys go on a null-prototype object; the first other key turns the dict into a
 * Map (in Python's key order), put in the object's place (references handed out
 * before, through the memo, are patched at STOP). Also updates the dict's height, in
 * the same pass over the items; refuses nesting past maxDepth.
 */
function fillDict(
  at: number,
  stack: unknown[],
  heights: Int32Array,
  target: number,
  to: number,
  mapDicts: boolean,
  rare: Rare,
  maxDepth: number,
): void {
  const d = stack[target];
  let h = 0;
  let i = target + 1;
  if (!(d instanceof Map)) {
    if (!isDictObject(d)) throw fail(at, "MALFORMED", "SETITEMS target is not a dict");
    let order = rare.order === undefined ? undefined : rare.order.get(d);
    for (; i < to; i += 2) {
      const k = stack[i];
      if (typeof k !== "string" || mapDicts) break;
      const v = stack[i + 1];
      if (typeof v === "object" && v !== null) {
        const x = heights[i + 1]! & HEIGHT;
        if (x > h) h = x;
      }
      if (order !== undefined) {
        if (!(k in d)) order.push(k);
      } else if (mayBeIndexKey(k) && !(k in d)) {
        // Every key so far was non-numeric, so Object.keys still has Python's order.
        order = Object.keys(d);
        order.push(k);
        rare.order ??= new Map();
        rare.order.set(d, order);
      }
      d[k] = v;
    }
    if (i < to) {
      // A key that is not a str: from here on the dict is a Map.
      const m = new Map<unknown, unknown>();
      for (const key of order ?? Object.keys(d)) m.set(key, d[key]);
      rare.forward ??= new Map();
      rare.forward.set(d, m);
      if (rare.escaped?.has(d)) rare.patch = true;
      stack[target] = m;
      fillMap(m, stack, i, to);
    }
  } else {
    fillMap(d, stack, i, to);
  }
  h = Math.max(h, maxHeight(stack, heights, i, to)) + 1;
  if (h > maxDepth) throw tooDeep(at, maxDepth);
  const t = heights[target]!;
  if ((t & FROM_MEMO) !== 0) rare.depthUnsure = true;
  if (h > (t & HEIGHT)) heights[target] = h | (t & FROM_MEMO);
}

function fillMap(m: Map<unknown, unknown>, stack: unknown[], from: number, to: number): void {
  for (let i = from; i < to; i += 2) m.set(stack[i], stack[i + 1]);
}

/**
 * A dict decodes to an object without a prototype ("__proto__" is an ordinary key).
 * Object.create(null) makes a hash-table ("dictionary mode") object in V8, slow to fill
 * and to read; an empty literal whose prototype is then set to null stays a fast,
 * shape-sharing object, which makes filling a reply's dicts about 1.5x faster.
 */
function nullProtoObject(): Dict {
  const d = {};
  Object.setPrototypeOf(d, null);
  return d as Dict;
}

/** Little-endian two's complement int of n bytes at p: number when safe, else bigint. */
function long(data: Uint8Array, p: number, n: number): number | bigint {
  if (n === 0) return 0;
  if (n <= 6) {
    let v = 0;
    for (let i = n - 1; i >= 0; i--) v = v * 256 + data[p + i]!;
    if (data[p + n - 1]! >= 0x80) v -= 2 ** (8 * n);
    return v;
  }
  let hex = "";
  for (let i = n - 1; i >= 0; i--) hex += (data[p + i]! < 16 ? "0" : "") + data[p + i]!.toString(16);
  let v = BigInt(`0x${hex}`);
  if (data[p + n - 1]! >= 0x80) v -= 1n << BigInt(8 * n);
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

function copyBytes(data: Uint8Array, p: number, n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  if (n <= 32) for (let i = 0; i < n; i++) out[i] = data[p + i]!;
  else out.set(data.subarray(p, p + n));
  return out;
}

function globalOf(at: number, o: ResolvedLoadOptions, module: unknown, name: unknown): PyGlobal {
  if (typeof module !== "string" || typeof name !== "string") {
    throw fail(at, "MALFORMED", "STACK_GLOBAL needs two str");
  }
  return o.resolveGlobal(module, name);
}

/**
 * What an allow-listed global produced: BUILD is allowed later on objects of handlers
 * that have `build` (only those are remembered); a call-only global it returned is
 * counted like any other reference to one.
 */
function remember(rare: Rare, g: PyGlobal, v: unknown): unknown {
  if (typeof v === "object" && v !== null) {
    if (v instanceof PyGlobal) {
      if (v.callOnly) rare.referCallOnly(v);
    } else if (g.handler?.build !== undefined) {
      rare.made ??= new Map();
      rare.made.set(v, g);
    }
  }
  return v;
}

/** A handler that throws anything but a PickleError still yields a typed error. */
function handlerFailed(at: number, g: PyGlobal, e: unknown): PickleError {
  if (e instanceof PickleError) return e;
  return new PickleError("MALFORMED", `${g.module}.${g.name}: ${e instanceof Error ? e.message : String(e)}`, {
    cause: e,
    offset: at,
  });
}

function call(at: number, rare: Rare, callable: unknown, args: unknown): unknown {
  if (!(callable instanceof PyGlobal)) throw fail(at, "MALFORMED", "REDUCE on a value that is not a global");
  if (!Array.isArray(args)) throw fail(at, "MALFORMED", "REDUCE arguments are not a tuple");
  const handler = callable.handler;
  if (handler?.call === undefined) {
    throw forbiddenGlobal(callable.module, callable.name, "is allowed but not callable (REDUCE)");
  }
  let result: unknown;
  try {
    result = handler.call(args);
  } catch (e) {
    throw handlerFailed(at, callable, e);
  }
  if (callable.callOnly) rare.callOnlyRefs--; // used as it may be: called
  return remember(rare, callable, result);
}

function create(at: number, rare: Rare, cls: unknown, args: unknown, kwargs: unknown): unknown {
  if (!(cls instanceof PyGlobal)) throw fail(at, "MALFORMED", "NEWOBJ on a value that is not a global");
  if (!Array.isArray(args)) throw fail(at, "MALFORMED", "NEWOBJ arguments are not a tuple");
  if (kwargs !== undefined && !isDictObject(kwargs)) throw fail(at, "MALFORMED", "NEWOBJ_EX kwargs are not a str dict");
  const handler = cls.handler;
  if (handler?.create === undefined) {
    throw forbiddenGlobal(cls.module, cls.name, "is allowed but not constructible (NEWOBJ)");
  }
  let made: unknown;
  try {
    made = handler.create(args, kwargs as Record<string, unknown> | undefined);
  } catch (e) {
    throw handlerFailed(at, cls, e);
  }
  return remember(rare, cls, made);
}

function build(at: number, rare: Rare, obj: unknown, state: unknown): void {
  const g = typeof obj === "object" && obj !== null ? rare.made?.get(obj) : undefined;
  if (g === undefined) throw fail(at, "MALFORMED", "BUILD on a value no allow-listed global created");
  const handler = g.handler;
  if (handler?.build === undefined) throw forbiddenGlobal(g.module, g.name, "is allowed but takes no state (BUILD)");
  try {
    handler.build(obj, state);
  } catch (e) {
    throw handlerFailed(at, g, e);
  }
}

const SAFE = 9007199254740991n;

function bigToValue(v: bigint): number | bigint {
  return v >= -SAFE && v <= SAFE ? Number(v) : v;
}

/**
 * Protocol 0/1 INT and LONG text, as CPython reads it: optional sign and surrounding
 * whitespace, decimal, or 0x/0o/0b prefixed; INT also takes C's leading-0 octal.
 */
function textInt(at: number, o: ResolvedLoadOptions, text: string, octal: boolean): number | bigint {
  const s = text.trim();
  if (s.length > o.maxIntBytes * 3)
    throw fail(at, "LIMIT_EXCEEDED", `INT/LONG text exceeds maxIntBytes ${o.maxIntBytes}`);
  const m = /^([-+]?)(?:0([xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)|([1-9]\d*|0+)|0([0-7]+))$/.exec(s);
  if (m === null || (m[4] !== undefined && !octal)) throw fail(at, "MALFORMED", "bad INT/LONG text");
  const digits = m[2] !== undefined ? `0${m[2]}` : m[3] !== undefined ? m[3] : `0o${m[4]}`;
  const v = BigInt(digits);
  return bigToValue(m[1] === "-" ? -v : v);
}

const FLOAT_TEXT = /^[-+]?(?:inf(?:inity)?|nan|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)$/i;

/** Protocol 0 FLOAT text, as CPython's float parser reads repr(): "1.5", "-0.0", "inf", "nan". */
function textFloat(at: number, s: string): number {
  if (!FLOAT_TEXT.test(s)) throw fail(at, "MALFORMED", "bad FLOAT text");
  const lower = s.toLowerCase();
  const negative = lower.charCodeAt(0) === 0x2d;
  const bare = lower.replace(/^[-+]/, "");
  if (bare === "nan") return Number.NaN;
  if (bare === "inf" || bare === "infinity") return negative ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  const v = Number(s);
  // CPython raises OverflowError rather than read a finite literal as infinity.
  if (!Number.isFinite(v)) throw fail(at, "MALFORMED", "FLOAT text out of range");
  return v;
}

/** Where the argument wideMemoIndex read ends. */
let argEnd = 0;

/** The memo index of LONG_BINGET/LONG_BINPUT (4 bytes) or GET/PUT (a text line) at pos; sets argEnd. */
function wideMemoIndex(data: Uint8Array, fourBytes: boolean, pos: number, end: number, at: number): number {
  if (fourBytes) {
    argEnd = pos + 4;
    return u32At(data, pos, end, at);
  }
  const textEnd = lineEnd(data, pos, at);
  argEnd = textEnd + 1;
  return textIndex(at, decodeUtf8(data, pos, textEnd));
}

function textIndex(at: number, s: string): number {
  if (!/^\d{1,10}$/.test(s)) throw fail(at, "MALFORMED", "bad memo index text");
  return Number(s);
}

function noMark(at: number): PickleError {
  return fail(at, "MALFORMED", "no MARK to close");
}

/** End of the text line starting at pos (protocol 0/1 arguments). */
function lineEnd(data: Uint8Array, pos: number, at: number): number {
  const nl = data.indexOf(0x0a, pos);
  if (nl < 0) throw fail(at, "TRUNCATED", "stream ends inside a text line");
  return nl;
}

function u32At(data: Uint8Array, p: number, end: number, at: number): number {
  if (end - p < 4) throw truncated(at);
  return (data[p]! | (data[p + 1]! << 8) | (data[p + 2]! << 16)) + data[p + 3]! * 0x1000000;
}

function i32At(data: Uint8Array, p: number, end: number, at: number): number {
  if (end - p < 4) throw truncated(at);
  return data[p]! | (data[p + 1]! << 8) | (data[p + 2]! << 16) | (data[p + 3]! << 24);
}

/** 8-byte length: anything past what is left is a truncation, whatever its size. */
function u64LengthAt(data: Uint8Array, p: number, end: number, at: number): number {
  if (end - p < 8) throw truncated(at);
  const lo = u32At(data, p, end, at);
  const hi = u32At(data, p + 4, end, at);
  if (hi >= 0x200000) throw fail(at, "TRUNCATED", "declared length exceeds the stream");
  return hi * TWO32 + lo;
}

/** A payload of n bytes must fit in what is left. */
function checkLength(n: number, left: number, at: number): void {
  if (n < 0 || n > left) throw lengthPastEnd(at, n, left);
}

function checkIntBytes(n: number, o: ResolvedLoadOptions, at: number): void {
  if (n > o.maxIntBytes) throw fail(at, "LIMIT_EXCEEDED", `int of ${n} bytes exceeds maxIntBytes ${o.maxIntBytes}`);
}

function memoLimit(index: number, maxMemo: number, at: number): PickleError {
  return fail(at, "LIMIT_EXCEEDED", `memo index ${index} exceeds maxMemo ${maxMemo}`);
}

function checkMemoIndex(index: number, maxMemo: number, at: number): void {
  if (index >= maxMemo) throw memoLimit(index, maxMemo, at);
}

function tooManyContainers(at: number, maxContainers: number): PickleError {
  return fail(at, "LIMIT_EXCEEDED", `more than maxContainers ${maxContainers} containers`);
}

/**
 * The datetime fast path (see SHORT_BINBYTES) builds no Buffer for a datetime's state
 * and no tuple for its arguments; the memo entries CPython wrote for them hold these
 * markers, made into the real Buffer / [Buffer, tzinfo] if a stream ever asks for them.
 */
const DEFERRED_STATE = Symbol("deferred datetime state");
const DEFERRED_ARGS = Symbol("deferred datetime arguments");

function materialize(
  memo: unknown[],
  index: number,
  data: Uint8Array,
  stacks: Stacks,
  zones: readonly PyTimezone[] | undefined,
  markTuples: boolean,
): unknown {
  const state = copyBytes(data, stacks.deferredAt[index]!, 10);
  if (memo[index] === DEFERRED_STATE) {
    memo[index] = state;
  } else {
    const zone = stacks.deferredZone[index]!;
    const args = zone < 0 ? [state] : [state, zones![zone]];
    memo[index] = markTuples ? asTuple(args) : args;
  }
  return memo[index];
}

/** What fuseDatetime found besides the position after REDUCE (module state: no allocation). */
let fusedTz: PyTimezone | undefined;
let fusedStatePut = -1;
let fusedArgsPut = -1;

/**
 * After a datetime's 10 state bytes (at q): one optional memo put, TUPLE1 or a memo get
 * of a tzinfo then TUPLE2, one optional put, REDUCE. Returns the position after REDUCE
 * (fusedTz, fusedStatePut, fusedArgsPut set), or -1 when the stream is anything else.
 */
function fuseDatetime(data: Uint8Array, q: number, end: number, memo: unknown[], roomForTuple: boolean): number {
  if (!roomForTuple) return -1;
  let length = memo.length;
  fusedStatePut = memoPut(data, q, end, length);
  if (fusedStatePut !== -1) {
    q += putSize;
    if (fusedStatePut >= length) length = fusedStatePut + 1;
  }
  const c = data[q];
  fusedTz = undefined;
  if (c === TUPLE1) {
    q += 1;
  } else {
    let index = -1;
    if (c === BINGET && end - q > 2) {
      index = data[q + 1]!;
      q += 2;
    } else if (c === LONG_BINGET && end - q > 5) {
      index = u32At(data, q + 1, end, q);
      q += 5;
    }
    const tz = index === -1 ? undefined : memo[index];
    if (!(tz instanceof PyTimezone) || data[q] !== TUPLE2) return -1;
    fusedTz = tz;
    q += 1;
  }
  fusedArgsPut = memoPut(data, q, end, length);
  if (fusedArgsPut !== -1) q += putSize;
  return data[q] === REDUCE ? q + 1 : -1;
}

let putSize = 0;

/** A memo put at q (MEMOIZE, BINPUT, LONG_BINPUT): the index it writes (putSize = its length), else -1. */
function memoPut(data: Uint8Array, q: number, end: number, length: number): number {
  const c = data[q];
  if (c === MEMOIZE) {
    putSize = 1;
    return length;
  }
  if (c === BINPUT && end - q > 1) {
    putSize = 2;
    return data[q + 1]!;
  }
  if (c === LONG_BINPUT && end - q > 4) {
    putSize = 5;
    return u32At(data, q + 1, end, q);
  }
  return -1;
}

function memoGet(memo: unknown[], index: number, at: number, mapDicts: boolean, rare: Rare): unknown {
  let v = memo[index];
  if (v === undefined) throw fail(at, "MALFORMED", `memo key ${index} not found`);
  if (typeof v === "object" && v !== null) {
    if (rare.forward !== undefined) {
      const fwd = rare.forward.get(v);
      if (fwd !== undefined) v = fwd;
    }
    if (v instanceof PyGlobal) {
      if (v.callOnly) rare.referCallOnly(v);
    } else if (!mapDicts && isDictObject(v)) rare.markEscaped(v);
  }
  return v;
}

/** Highest height among the objects in stack[from..to) (scalars are 0). */
function maxHeight(stack: unknown[], heights: Int32Array, from: number, to: number): number {
  let h = 0;
  for (let i = from; i < to; i++) {
    const v = stack[i];
    if (typeof v === "object" && v !== null) {
      const x = heights[i]! & HEIGHT;
      if (x > h) h = x;
    }
  }
  return h;
}

/**
 * The decoder: one function, its state in locals (position, stack pointer, innermost
 * MARK) so the JIT keeps them in registers, one switch per opcode. The stack is an
 * array with an explicit pointer; entries above it are garbage until overwritten.
 * `heights[i]` is the nesting height of an object at stack[i] (see FROM_MEMO); it is
 * written only for objects and read only for objects.
 */
function run(data: Uint8Array, o: ResolvedLoadOptions, stacks: Stacks): unknown {
  const end = data.length;
  const maxStack = o.maxStack;
  const maxMemo = o.maxMemo;
  const maxContainers = o.maxContainers;
  const maxDepth = o.maxDepth;
  const mapDicts = o.mapDicts;
  const markTuples = o.markTuples;
  const stack = stacks.values;
  let heights = stacks.heights;
  let memoHeights = stacks.memoHeights;
  // The slot count checked once per opcode: no opcode pushes more than one value.
  let room = Math.min(heights.length - 2, maxStack);
  let marks = stacks.marks;
  let markTop = 0; // marks[0..markTop) are the stack indexes where open MARKs begin
  const memo: unknown[] = [];
  const rare = new Rare();
  let view: DataView | undefined;
  const datetimeClass = o.datetimeClass;
  // Tzinfo of each memo entry the datetime fast path deferred (see materialize).
  let fusedZones: PyTimezone[] | undefined;
  let pos = 0;
  let at = 0; // offset of the opcode being run, for error messages
  let sp = 0; // stack[0..sp) is the stack
  let base = 0; // stack index where the innermost MARK's items begin
  let containers = 0;
  // Empty containers opened since the last value was added anywhere (see BATCH).
  let opened = 0;
  let openedAtMark = 0;
  const maxOpened = maxDepth + BATCH;
  const maxMarks = 2 * maxDepth + 2;
  // A tuple may be one level over while it is only a call's argument tuple (protocols
  // 0-3 write frozenset(list) as REDUCE of (list,)); wherever a value lands (a
  // container, a call's result, STOP) the bound is maxDepth.
  const maxArgs = maxDepth + 1;

  for (;;) {
    if (sp > room) {
      // The previous opcode pushed at most one value: the stack never holds more than
      // maxStack, as if every push were checked.
      if (sp > maxStack) throw fail(at, "LIMIT_EXCEEDED", `stack exceeds maxStack ${maxStack}`);
      heights = stacks.heights = grown(heights, sp);
      room = Math.min(heights.length - 2, maxStack);
    }
    at = pos;
    // Past the end this reads undefined, which only `default` matches: no bounds check here.
    const op = data[pos++] as number;
    switch (op) {
      case SHORT_BINUNICODE: {
        if (pos >= end) throw truncated(at);
        const n = data[pos]!;
        const p = pos + 1;
        if (n > end - p) throw lengthPastEnd(at, n, end - p);
        pos = p + n;
        const str = decodeUtf8(data, p, pos);
        stack[sp++] = str;
        // CPython memoizes every new str: take its MEMOIZE in the same step.
        if (data[pos] === MEMOIZE && memo.length < maxMemo) {
          memo.push(str);
          pos++;
        }
        break;
      }
      case BININT1:
        if (pos >= end) throw truncated(at);
        stack[sp++] = data[pos++]!;
        break;
      case BINFLOAT: {
        if (end - pos < 8) throw truncated(at);
        // One big-endian load (TurboFan inlines DataView reads); made on the first float.
        view ??= new DataView(data.buffer, data.byteOffset, data.byteLength);
        stack[sp++] = view.getFloat64(pos, false);
        pos += 8;
        break;
      }
      case MARK:
        // Protocols 0/1 open up to two MARKs per level (a REDUCE's argument tuple and a
        // list batch), so a value maxDepth deep may need twice as many.
        if (markTop >= maxMarks) throw fail(at, "LIMIT_EXCEEDED", `MARK nesting exceeds 2 x maxDepth ${maxDepth}`);
        if (markTop >= marks.length) marks = stacks.marks = grown(marks, markTop);
        marks[markTop++] = sp;
        base = sp;
        openedAtMark = opened;
        opened = 0;
        break;
      case MEMOIZE: {
        const index = memo.length;
        if (index >= maxMemo) throw memoLimit(index, maxMemo, at);
        if (sp <= base) throw underflow(at);
        const v = stack[sp - 1];
        memo.push(v);
        if (typeof v === "object" && v !== null) {
          if (index >= memoHeights.length) memoHeights = stacks.memoHeights = grown(memoHeights, index);
          memoHeights[index] = heights[sp - 1]! & HEIGHT;
        }
        break;
      }
      case EMPTY_DICT: {
        if (++containers > maxContainers) throw tooManyContainers(at, maxContainers);
        if (++opened > maxOpened) throw tooDeep(at, maxDepth);
        heights[sp] = 1;
        const d = mapDicts ? new Map() : nullProtoObject();
        stack[sp++] = d;
        // CPython opens every dict with EMPTY_DICT MEMOIZE [MARK]: one step for all three.
        if (data[pos] === MEMOIZE && memo.length < maxMemo) {
          const index = memo.length;
          memo.push(d);
          if (index >= memoHeights.length) memoHeights = stacks.memoHeights = grown(memoHeights, index);
          memoHeights[index] = 1;
          pos++;
          if (data[pos] === MARK && markTop < maxMarks && markTop < marks.length) {
            marks[markTop++] = sp;
            base = sp;
            openedAtMark = opened;
            opened = 0;
            pos++;
          }
        }
        break;
      }
      case SETITEMS: {
        if (markTop === 0) throw noMark(at);
        const m = base;
        base = --markTop === 0 ? 0 : marks[markTop - 1]!;
        if (m <= base) throw fail(at, "MALFORMED", "SETITEMS without a dict");
        if ((sp - m) % 2 !== 0) throw fail(at, "MALFORMED", "SETITEMS with an odd number of items");
        fillDict(at, stack, heights, m - 1, sp, mapDicts, rare, maxDepth);
        sp = m;
        opened = 0;
        break;
      }
      case SETITEM: {
        if (sp - base < 3) throw underflow(at);
        fillDict(at, stack, heights, sp - 3, sp, mapDicts, rare, maxDepth);
        sp -= 2;
        opened = 0;
        break;
      }
      case EMPTY_LIST:
        if (++containers > maxContainers) throw tooManyContainers(at, maxContainers);
        if (++opened > maxOpened) throw tooDeep(at, maxDepth);
        heights[sp] = 1;
        stack[sp++] = [];
        break;
      case APPENDS: {
        if (markTop === 0) throw noMark(at);
        const m = base;
        base = --markTop === 0 ? 0 : marks[markTop - 1]!;
        if (m <= base) throw fail(at, "MALFORMED", "APPENDS without a list");
        const list = stack[m - 1];
        if (!Array.isArray(list)) throw fail(at, "MALFORMED", "APPENDS target is not a list");
        const h = maxHeight(stack, heights, m, sp) + 1;
        if (h > maxDepth) throw tooDeep(at, maxDepth);
        for (let i = m; i < sp; i++) list.push(stack[i]);
        const t = heights[m - 1]!;
        if ((t & FROM_MEMO) !== 0) rare.depthUnsure = true;
        if (h > (t & HEIGHT)) heights[m - 1] = h | (t & FROM_MEMO);
        sp = m;
        opened = 0;
        break;
      }
      case APPEND: {
        if (sp - base < 2) throw underflow(at);
        const list = stack[sp - 2];
        if (!Array.isArray(list)) throw fail(at, "MALFORMED", "APPEND target is not a list");
        const v = stack[--sp];
        list.push(v);
        const t = heights[sp - 1]!;
        if ((t & FROM_MEMO) !== 0) rare.depthUnsure = true;
        if (typeof v === "object" && v !== null) {
          const h = (heights[sp]! & HEIGHT) + 1;
          if (h > maxDepth) throw tooDeep(at, maxDepth);
          if (h > (t & HEIGHT)) heights[sp - 1] = h | (t & FROM_MEMO);
        }
        opened = 0;
        break;
      }
      case NEWTRUE:
        stack[sp++] = true;
        break;
      case NEWFALSE:
        stack[sp++] = false;
        break;
      case NONE:
        stack[sp++] = null;
        break;
      case BININT2:
        if (end - pos < 2) throw truncated(at);
        stack[sp++] = data[pos]! | (data[pos + 1]! << 8);
        pos += 2;
        break;
      case BININT:
        stack[sp++] = i32At(data, pos, end, at);
        pos += 4;
        break;
      case BINGET:
      case LONG_BINGET:
      case GET: {
        let index: number;
        if (op === BINGET) {
          if (pos >= end) throw truncated(at);
          index = data[pos++]!;
        } else {
          index = wideMemoIndex(data, op === LONG_BINGET, pos, end, at);
          pos = argEnd;
        }
        const hit = memo[index];
        if (typeof hit === "string") {
          stack[sp++] = hit; // a repeated dict key, the common case
          // ...and its value is mostly a float, a small int or a repeated str: read it in
          // the same step (one dispatch less; the loop-top check allows two pushes).
          const next = data[pos];
          if (next === BINFLOAT && end - pos > 8) {
            view ??= new DataView(data.buffer, data.byteOffset, data.byteLength);
            stack[sp++] = view.getFloat64(pos + 1, false);
            pos += 9;
          } else if (next === BININT1 && end - pos > 1) {
            stack[sp++] = data[pos + 1]!;
            pos += 2;
          } else if (next === BININT2 && end - pos > 2) {
            stack[sp++] = data[pos + 1]! | (data[pos + 2]! << 8);
            pos += 3;
          } else if (next === BINGET && end - pos > 1) {
            const value = memo[data[pos + 1]!];
            if (typeof value === "string") {
              stack[sp++] = value;
              pos += 2;
            }
          }
          break;
        }
        const v =
          hit === DEFERRED_STATE || hit === DEFERRED_ARGS
            ? materialize(memo, index, data, stacks, fusedZones, markTuples)
            : memoGet(memo, index, at, mapDicts, rare);
        if (typeof v === "object" && v !== null) {
          heights[sp] = (index < memoHeights.length ? memoHeights[index]! : 0) | FROM_MEMO;
        }
        stack[sp++] = v;
        break;
      }
      case BINPUT:
      case LONG_BINPUT:
      case PUT: {
        let index: number;
        if (op === BINPUT) {
          if (pos >= end) throw truncated(at);
          index = data[pos++]!;
        } else {
          index = wideMemoIndex(data, op === LONG_BINPUT, pos, end, at);
          pos = argEnd;
        }
        checkMemoIndex(index, maxMemo, at);
        if (sp <= base) throw underflow(at);
        const v = stack[sp - 1];
        memo[index] = v;
        if (typeof v === "object" && v !== null) {
          if (index >= memoHeights.length) memoHeights = stacks.memoHeights = grown(memoHeights, index);
          memoHeights[index] = heights[sp - 1]! & HEIGHT;
        }
        break;
      }
      case TUPLE1: {
        if (sp - base < 1) throw underflow(at);
        if (++containers > maxContainers) throw tooManyContainers(at, maxContainers);
        const h = maxHeight(stack, heights, sp - 1, sp) + 1;
        if (h > maxArgs) throw tooDeep(at, maxDepth);
        const t = [stack[sp - 1]];
        stack[sp - 1] = markTuples ? asTuple(t) : t;
        heights[sp - 1] = h;
        opened = 0;
        break;
      }
      case TUPLE2: {
        if (sp - base < 2) throw underflow(at);
        if (++containers > maxContainers) throw tooManyContainers(at, maxContainers);
        const h = maxHeight(stack, heights, sp - 2, sp) + 1;
        if (h > maxArgs) throw tooDeep(at, maxDepth);
        sp -= 1;
        const t = [stack[sp - 1], stack[sp]];
        stack[sp - 1] = markTuples ? asTuple(t) : t;
        heights[sp - 1] = h;
        opened = 0;
        break;
      }
      case TUPLE3: {
        if (sp - base < 3) throw underflow(at);
        if (++containers > maxContainers) throw tooManyContainers(at, maxContainers);
        const h = maxHeight(stack, heights, sp - 3, sp) + 1;
        if (h > maxArgs) throw tooDeep(at, maxDepth);
        sp -= 2;
        const t = [stack[sp - 1], stack[sp], stack[sp + 1]];
        stack[sp - 1] = markTuples ? asTuple(t) : t;
        heights[sp - 1] = h;
        opened = 0;
        break;
      }
      case EMPTY_TUPLE: {
        if (++containers > maxContainers) throw tooManyContainers(at, maxContainers);
        const t: unknown[] = [];
        heights[sp] = 1;
        stack[sp++] = markTuples ? asTuple(t) : t;
        break;
      }
      case TUPLE:
      case LIST:
      case FROZENSET: {
        if (markTop === 0) throw noMark(at);
        const m = base;
        base = --markTop === 0 ? 0 : marks[markTop - 1]!;
        if (++containers > maxContainers) throw tooManyContainers(at, maxContainers);
        if (m === sp && op === LIST) {
          // protocol 0/1 "MARK LIST" is how an empty list opens there.
          opened = openedAtMark + 1;
          if (opened > maxOpened) throw tooDeep(at, maxDepth);
        } else opened = 0;
        const h = maxHeight(stack, heights, m, sp) + 1;
        if (h > (op === TUPLE ? maxArgs : maxDepth)) throw tooDeep(at, maxDepth);
        const items = stack.slice(m, sp);
        stack[m] =
          op === LIST ? items : op === TUPLE ? (markTuples ? asTuple(items) : items) : asFrozenSet(new Set(items));
        heights[m] = h;
        sp = m + 1;
        break;
      }
      case EMPTY_SET:
        if (++containers > maxContainers) throw tooManyContainers(at, maxContainers);
        if (++opened > maxOpened) throw tooDeep(at, maxDepth);
        heights[sp] = 1;
        stack[sp++] = new Set();
        break;
      case ADDITEMS: {
        if (markTop === 0) throw noMark(at);
        const m = base;
        base = --markTop === 0 ? 0 : marks[markTop - 1]!;
        if (m <= base) throw fail(at, "MALFORMED", "ADDITEMS without a set");
        const set = stack[m - 1];
        if (!(set instanceof Set)) throw fail(at, "MALFORMED", "ADDITEMS target is not a set");
        const h = maxHeight(stack, heights, m, sp) + 1;
        if (h > maxDepth) throw tooDeep(at, maxDepth);
        for (let i = m; i < sp; i++) set.add(stack[i]);
        const t = heights[m - 1]!;
        if ((t & FROM_MEMO) !== 0) rare.depthUnsure = true;
        if (h > (t & HEIGHT)) heights[m - 1] = h | (t & FROM_MEMO);
        sp = m;
        opened = 0;
        break;
      }
      case DICT: {
        if (markTop === 0) throw noMark(at);
        const m = base;
        base = --markTop === 0 ? 0 : marks[markTop - 1]!;
        if ((sp - m) % 2 !== 0) throw fail(at, "MALFORMED", "DICT with an odd number of items");
        if (++containers > maxContainers) throw tooManyContainers(at, maxContainers);
        if (m === sp) {
          // protocol 0 "MARK DICT" is how an empty dict opens there.
          opened = openedAtMark + 1;
          if (opened > maxOpened) throw tooDeep(at, maxDepth);
        } else opened = 0;
        // The new dict takes the slot below its items: shift them up one.
        for (let i = sp; i > m; i--) {
          stack[i] = stack[i - 1];
          heights[i] = heights[i - 1]!;
        }
        stack[m] = mapDicts ? new Map() : nullProtoObject();
        heights[m] = 1;
        fillDict(at, stack, heights, m, sp + 1, mapDicts, rare, maxDepth);
        sp = m + 1;
        break;
      }
      case PROTO: {
        if (pos >= end) throw truncated(at);
        const v = data[pos++]!;
        if (v > 5) throw fail(at, "UNSUPPORTED", `pickle protocol ${v}`);
        break;
      }
      case FRAME: {
        // The whole stream is in memory: a frame only has to fit in it.
        const n = u64LengthAt(data, pos, end, at);
        pos += 8;
        if (n > end - pos) throw fail(at, "TRUNCATED", `frame of ${n} bytes exceeds the stream`);
        break;
      }
      case STOP: {
        if (markTop !== 0 || sp !== 1) {
          throw fail(at, "MALFORMED", `STOP with ${sp} values and ${markTop} open MARKs`);
        }
        if (rare.callOnlyRefs !== 0) {
          const g = rare.callOnly!;
          throw forbiddenGlobal(
            g.module,
            g.name,
            "may only be called, as in getattr(zoneinfo.ZoneInfo, '_unpickle')(key): the stream left it in the value",
          );
        }
        if (maxHeight(stack, heights, 0, 1) > maxDepth) throw tooDeep(at, maxDepth);
        if (rare.patch || rare.depthUnsure) {
          return patchAndMeasure(stack[0], rare.forward, rare.depthUnsure ? maxDepth : undefined);
        }
        return stack[0];
      }
      case POP:
        if (sp > base) sp--;
        else {
          if (markTop === 0) throw noMark(at);
          sp = base;
          base = --markTop === 0 ? 0 : marks[markTop - 1]!;
        }
        opened = 0;
        break;
      case POP_MARK:
        if (markTop === 0) throw noMark(at);
        sp = base;
        base = --markTop === 0 ? 0 : marks[markTop - 1]!;
        opened = 0;
        break;
      case DUP: {
        if (sp <= base) throw underflow(at);
        const v = stack[sp - 1];
        if (typeof v === "object" && v !== null) {
          if (v instanceof PyGlobal && v.callOnly) rare.referCallOnly(v);
          else if (isDictObject(v)) rare.markEscaped(v);
          heights[sp] = heights[sp - 1]! | FROM_MEMO;
        }
        stack[sp++] = v;
        break;
      }
      case LONG1: {
        if (pos >= end) throw truncated(at);
        const n = data[pos++]!;
        checkIntBytes(n, o, at);
        checkLength(n, end - pos, at);
        stack[sp++] = long(data, pos, n);
        pos += n;
        break;
      }
      case LONG4: {
        const n = i32At(data, pos, end, at);
        pos += 4;
        if (n < 0) throw fail(at, "MALFORMED", "LONG4 with negative length");
        checkIntBytes(n, o, at);
        checkLength(n, end - pos, at);
        stack[sp++] = long(data, pos, n);
        pos += n;
        break;
      }
      case FLOAT: {
        const textEnd = lineEnd(data, pos, at);
        const text = decodeUtf8(data, pos, textEnd);
        pos = textEnd + 1;
        stack[sp++] = textFloat(at, text);
        break;
      }
      case INT: {
        const textEnd = lineEnd(data, pos, at);
        const text = decodeUtf8(data, pos, textEnd);
        pos = textEnd + 1;
        const v = textInt(at, o, text, true);
        // CPython: two characters that read as 0 or 1 ("00", "01") are False and True.
        stack[sp++] = text.length === 2 && (v === 0 || v === 1) ? v === 1 : v;
        break;
      }
      case LONG: {
        const textEnd = lineEnd(data, pos, at);
        const text = decodeUtf8(data, pos, textEnd);
        pos = textEnd + 1;
        stack[sp++] = textInt(at, o, text.endsWith("L") ? text.slice(0, -1) : text, false);
        break;
      }
      case BINUNICODE: {
        const n = u32At(data, pos, end, at);
        pos += 4;
        checkLength(n, end - pos, at);
        stack[sp++] = decodeUtf8(data, pos, pos + n);
        pos += n;
        break;
      }
      case BINUNICODE8: {
        const n = u64LengthAt(data, pos, end, at);
        pos += 8;
        checkLength(n, end - pos, at);
        stack[sp++] = decodeUtf8(data, pos, pos + n);
        pos += n;
        break;
      }
      case UNICODE:
      case STRING: {
        // Protocol 0 text: raw-unicode-escape (str) or a quoted Python 2 str literal.
        const textEnd = lineEnd(data, pos, at);
        try {
          stack[sp++] = (op === UNICODE ? decodeRawUnicodeEscape : decodeQuotedString)(data, pos, textEnd);
        } catch (e) {
          throw e instanceof PickleError ? fail(at, e.code, e.message) : e;
        }
        pos = textEnd + 1;
        break;
      }
      case SHORT_BINBYTES: {
        if (pos >= end) throw truncated(at);
        const n = data[pos++]!;
        checkLength(n, end - pos, at);
        if (n === 10 && sp > base && stack[sp - 1] === datetimeClass && datetimeClass !== undefined) {
          // CPython's datetime: class, state, [put], (TUPLE1 | get tz, TUPLE2), [put], REDUCE.
          // Read straight from the bytes when the stream is exactly that.
          const fused = fuseDatetime(data, pos + 10, end, memo, containers < maxContainers);
          if (fused > 0) {
            containers++; // the argument tuple it did not build
            stack[sp - 1] = datetimeFromState(data, pos, fusedTz);
            heights[sp - 1] = 0;
            for (let k = 0; k < 2; k++) {
              const index = k === 0 ? fusedStatePut : fusedArgsPut;
              if (index < 0) continue;
              if (index >= maxMemo) throw memoLimit(index, maxMemo, at);
              if (index === memo.length) memo.push(k === 0 ? DEFERRED_STATE : DEFERRED_ARGS);
              else memo[index] = k === 0 ? DEFERRED_STATE : DEFERRED_ARGS;
              if (index >= memoHeights.length) memoHeights = stacks.memoHeights = grown(memoHeights, index);
              memoHeights[index] = k;
              if (index >= stacks.deferredAt.length) {
                stacks.deferredAt = grown(stacks.deferredAt, index);
                stacks.deferredZone = grown(stacks.deferredZone, index);
              }
              stacks.deferredAt[index] = pos;
              if (k === 1) {
                // Which tzinfo (a reply has one or two): an index into fusedZones, -1 for naive.
                let zone = -1;
                if (fusedTz !== undefined) {
                  fusedZones ??= [];
                  zone = fusedZones[0] === fusedTz ? 0 : fusedZones.indexOf(fusedTz);
                  if (zone < 0) zone = fusedZones.push(fusedTz) - 1;
                }
                stacks.deferredZone[index] = zone;
              }
            }
            pos = fused;
            opened = 0;
            // The datetime CPython memoizes right after.
            if (data[pos] === MEMOIZE && memo.length < maxMemo) {
              const index = memo.length;
              memo.push(stack[sp - 1]);
              if (index >= memoHeights.length) memoHeights = stacks.memoHeights = grown(memoHeights, index);
              memoHeights[index] = 0;
              pos++;
            }
            break;
          }
        }
        heights[sp] = 0;
        stack[sp++] = copyBytes(data, pos, n);
        pos += n;
        break;
      }
      case BINBYTES: {
        const n = u32At(data, pos, end, at);
        pos += 4;
        checkLength(n, end - pos, at);
        heights[sp] = 0;
        stack[sp++] = copyBytes(data, pos, n);
        pos += n;
        break;
      }
      case BINBYTES8:
      case BYTEARRAY8: {
        const n = u64LengthAt(data, pos, end, at);
        pos += 8;
        checkLength(n, end - pos, at);
        heights[sp] = 0;
        stack[sp++] = copyBytes(data, pos, n);
        pos += n;
        break;
      }
      case SHORT_BINSTRING: {
        // Python 2 str, read as latin-1 (see the README).
        if (pos >= end) throw truncated(at);
        const n = data[pos++]!;
        checkLength(n, end - pos, at);
        const p = pos;
        pos += n;
        stack[sp++] = Buffer.from(data.buffer, data.byteOffset + p, n).toString("latin1");
        break;
      }
      case BINSTRING: {
        const n = i32At(data, pos, end, at);
        pos += 4;
        if (n < 0) throw fail(at, "MALFORMED", "BINSTRING with negative length");
        checkLength(n, end - pos, at);
        const p = pos;
        pos += n;
        stack[sp++] = Buffer.from(data.buffer, data.byteOffset + p, n).toString("latin1");
        break;
      }
      case GLOBAL: {
        const moduleEnd = lineEnd(data, pos, at);
        const module = decodeUtf8(data, pos, moduleEnd);
        pos = moduleEnd + 1;
        const nameEnd = lineEnd(data, pos, at);
        const name = decodeUtf8(data, pos, nameEnd);
        pos = nameEnd + 1;
        const g = globalOf(at, o, module, name);
        if (g.callOnly) rare.referCallOnly(g);
        heights[sp] = 0;
        stack[sp++] = g;
        break;
      }
      case STACK_GLOBAL: {
        if (sp - base < 2) throw underflow(at);
        sp -= 1;
        const g = globalOf(at, o, stack[sp - 1], stack[sp]);
        if (g.callOnly) rare.referCallOnly(g);
        heights[sp - 1] = 0;
        stack[sp - 1] = g;
        break;
      }
      case REDUCE: {
        if (sp - base < 2) throw underflow(at);
        sp -= 1;
        // What a call builds nests as deeply as its arguments' items.
        const h = Math.max(0, maxHeight(stack, heights, sp, sp + 1) - 1);
        if (h > maxDepth) throw tooDeep(at, maxDepth);
        stack[sp - 1] = call(at, rare, stack[sp - 1], stack[sp]);
        heights[sp - 1] = h;
        opened = 0;
        break;
      }
      case NEWOBJ: {
        if (sp - base < 2) throw underflow(at);
        sp -= 1;
        const h = Math.max(0, maxHeight(stack, heights, sp, sp + 1) - 1);
        if (h > maxDepth) throw tooDeep(at, maxDepth);
        stack[sp - 1] = create(at, rare, stack[sp - 1], stack[sp], undefined);
        heights[sp - 1] = h;
        opened = 0;
        break;
      }
      case NEWOBJ_EX: {
        if (sp - base < 3) throw underflow(at);
        sp -= 2;
        const h = Math.max(0, maxHeight(stack, heights, sp, sp + 2) - 1);
        if (h > maxDepth) throw tooDeep(at, maxDepth);
        stack[sp - 1] = create(at, rare, stack[sp - 1], stack[sp], stack[sp + 1]);
        heights[sp - 1] = h;
        opened = 0;
        break;
      }
      case BUILD: {
        if (sp - base < 2) throw underflow(at);
        sp -= 1;
        // The state's fields become the object's: it nests as deeply as the state.
        const h = maxHeight(stack, heights, sp, sp + 1);
        if (h > maxDepth) throw tooDeep(at, maxDepth);
        build(at, rare, stack[sp - 1], stack[sp]);
        const t = heights[sp - 1]!;
        if ((t & FROM_MEMO) !== 0) rare.depthUnsure = true;
        if (h > (t & HEIGHT)) heights[sp - 1] = h | (t & FROM_MEMO);
        opened = 0;
        break;
      }
      case INST: {
        const moduleEnd = lineEnd(data, pos, at);
        const module = decodeUtf8(data, pos, moduleEnd);
        pos = moduleEnd + 1;
        const nameEnd = lineEnd(data, pos, at);
        const name = decodeUtf8(data, pos, nameEnd);
        pos = nameEnd + 1;
        const g = globalOf(at, o, module, name);
        if (markTop === 0) throw noMark(at);
        const m = base;
        base = --markTop === 0 ? 0 : marks[markTop - 1]!;
        const h = maxHeight(stack, heights, m, sp);
        if (h > maxDepth) throw tooDeep(at, maxDepth);
        const args = stack.slice(m, sp);
        if (g.callOnly) rare.referCallOnly(g); // call() counts it as used
        stack[m] = call(at, rare, g, args);
        heights[m] = h;
        sp = m + 1;
        opened = 0;
        break;
      }
      case OBJ: {
        if (markTop === 0) throw noMark(at);
        const m = base;
        base = --markTop === 0 ? 0 : marks[markTop - 1]!;
        if (sp === m) throw fail(at, "MALFORMED", "OBJ without a class");
        const h = maxHeight(stack, heights, m + 1, sp);
        if (h > maxDepth) throw tooDeep(at, maxDepth);
        const args = stack.slice(m + 1, sp);
        stack[m] = call(at, rare, stack[m], args);
        heights[m] = h;
        sp = m + 1;
        opened = 0;
        break;
      }
      case READONLY_BUFFER:
        if (sp <= base) throw underflow(at);
        break;
      case PERSID:
      case BINPERSID:
        throw fail(at, "UNSUPPORTED", "persistent ids");
      case EXT1:
      case EXT2:
      case EXT4:
        throw fail(at, "UNSUPPORTED", "copyreg extension codes");
      case NEXT_BUFFER:
        throw fail(at, "UNSUPPORTED", "out-of-band buffers");
      default:
        if (op === undefined) throw fail(at, "TRUNCATED", "stream ends before STOP");
        throw fail(at, "BAD_OPCODE", `unknown opcode 0x${op.toString(16).padStart(2, "0")}`);
    }
  }
}
