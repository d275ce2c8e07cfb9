import { PickleError, forbiddenGlobal } from "./errors.js";
import { PyGlobal } from "./globals.js";
import { type LoadOptions, type ResolvedLoadOptions, resolveLoadOptions } from "./options.js";
import { decodeUtf8 } from "./text.js";
import { asTuple } from "./tuple.js";

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

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const TWO32 = 4294967296;

type Dict = Record<string, unknown>;

function isDictObject(v: unknown): v is Dict {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === null;
}

/**
 * Decode a pickle (protocols 2 to 5, most of 0 and 1) into plain JavaScript values.
 * One pass over the bytes, an explicit stack (no recursion), every length checked
 * against what is left before anything is allocated, globals only via the allow-list.
 */
export function loads(data: Uint8Array, options?: LoadOptions): unknown {
  if (!(data instanceof Uint8Array)) throw new PickleError("MALFORMED", "loads expects a Uint8Array or Buffer");
  const o = resolveLoadOptions(options);
  if (data.length > o.maxBytes) {
    throw new PickleError("LIMIT_EXCEEDED", `input is ${data.length} bytes, maxBytes is ${o.maxBytes}`);
  }
  // A handler run during decoding could call loads again: it then gets its own stack.
  const stack = idleStack ?? [];
  idleStack = undefined;
  try {
    return run(data, o, stack);
  } finally {
    // Drop the references the stack still holds; keep it for the next call unless a
    // big input grew it.
    if (stack.length <= KEEP_STACK_MAX) {
      stack.fill(undefined);
      idleStack = stack;
    }
  }
}

const KEEP_STACK_MAX = 4096;
let idleStack: unknown[] | undefined;

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

/**
 * What only unusual streams need (objects built by globals, dicts reached through the
 * memo before they were complete, dicts that turned into Maps); created on first use
 * so a plain reply never pays for it.
 */
class Rare {
  /** Objects returned by allow-listed globals: BUILD may only touch those. */
  made: Map<object, PyGlobal> | undefined;
  /** Object-dicts that reached a memo GET before they were complete (see fillDict). */
  escaped: Set<object> | undefined;
  /** Object-dicts turned into Maps (a non-str key came late): old -> new, for GET. */
  forward: Map<object, Map<unknown, unknown>> | undefined;

  markEscaped(v: object): void {
    this.escaped ??= new Set();
    this.escaped.add(v);
  }
}

/**
 * SETITEM(S)/DICT: str keys go on a null-prototype object; the first other key turns
 * the dict into a Map, which is returned for the caller to put in the object's place.
 * Identity must survive: if the object was already handed out via the memo, the Map
 * could not replace it everywhere, so that rare shape is refused.
 */
function fillDict(
  at: number,
  d: unknown,
  stack: unknown[],
  from: number,
  to: number,
  mapDicts: boolean,
  rare: Rare,
): Dict | Map<unknown, unknown> {
  if (d instanceof Map) {
    for (let i = from; i < to; i += 2) d.set(stack[i], stack[i + 1]);
    return d;
  }
  if (!isDictObject(d)) throw fail(at, "MALFORMED", "SETITEMS target is not a dict");
  for (let i = from; i < to; i += 2) {
    const k = stack[i];
    if (typeof k === "string" && !mapDicts) {
      d[k] = stack[i + 1];
      continue;
    }
    if (rare.escaped?.has(d)) {
      throw fail(at, "UNSUPPORTED", 'dict with non-str keys referenced before it was complete; use dicts: "map"');
    }
    const m = new Map<unknown, unknown>();
    for (const key of Object.keys(d)) m.set(key, d[key]);
    rare.forward ??= new Map();
    rare.forward.set(d, m);
    for (let j = i; j < to; j += 2) m.set(stack[j], stack[j + 1]);
    return m;
  }
  return d;
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

/** A value an allow-listed global produced; BUILD is allowed on it later. */
function remember(rare: Rare, g: PyGlobal, v: unknown): unknown {
  if ((typeof v === "object" && v !== null) || typeof v === "function") {
    rare.made ??= new Map();
    rare.made.set(v, g);
  }
  return v;
}

/** A handler that throws anything but a PickleError still yields a typed error. */
function guard<T>(at: number, g: PyGlobal, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof PickleError) throw e;
    throw new PickleError("MALFORMED", `${g.module}.${g.name}: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
      offset: at,
    });
  }
}

function call(at: number, rare: Rare, callable: unknown, args: unknown): unknown {
  if (!(callable instanceof PyGlobal)) throw fail(at, "MALFORMED", "REDUCE on a value that is not a global");
  if (!Array.isArray(args)) throw fail(at, "MALFORMED", "REDUCE arguments are not a tuple");
  const fn = callable.handler?.call;
  if (fn === undefined) throw forbiddenGlobal(callable.module, callable.name, "is allowed but not callable (REDUCE)");
  return remember(
    rare,
    callable,
    guard(at, callable, () => fn.call(callable.handler, args)),
  );
}

function create(at: number, rare: Rare, cls: unknown, args: unknown, kwargs: unknown): unknown {
  if (!(cls instanceof PyGlobal)) throw fail(at, "MALFORMED", "NEWOBJ on a value that is not a global");
  if (!Array.isArray(args)) throw fail(at, "MALFORMED", "NEWOBJ arguments are not a tuple");
  if (kwargs !== undefined && !isDictObject(kwargs)) throw fail(at, "MALFORMED", "NEWOBJ_EX kwargs are not a str dict");
  const fn = cls.handler?.create;
  if (fn === undefined) throw forbiddenGlobal(cls.module, cls.name, "is allowed but not constructible (NEWOBJ)");
  return remember(
    rare,
    cls,
    guard(at, cls, () => fn.call(cls.handler, args, kwargs as Record<string, unknown> | undefined)),
  );
}

function build(at: number, rare: Rare, obj: unknown, state: unknown): void {
  const g = typeof obj === "object" && obj !== null ? rare.made?.get(obj) : undefined;
  if (g === undefined) throw fail(at, "MALFORMED", "BUILD on a value no allow-listed global created");
  const fn = g.handler?.build;
  if (fn === undefined) throw forbiddenGlobal(g.module, g.name, "is allowed but takes no state (BUILD)");
  guard(at, g, () => fn.call(g.handler, obj, state));
}

function textInt(at: number, o: ResolvedLoadOptions, s: string): number | bigint {
  if (!/^[-+]?\d+$/.test(s) || s.length > o.maxIntBytes * 3) throw fail(at, "MALFORMED", "bad INT/LONG text");
  const v = BigInt(s);
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

function textIndex(at: number, s: string): number {
  if (!/^\d{1,10}$/.test(s)) throw fail(at, "MALFORMED", "bad memo index text");
  return Number(s);
}

/** Close the innermost MARK; returns the stack index where its items begin. */
function closeMark(marks: number[], at: number): number {
  const m = marks.pop();
  if (m === undefined) throw fail(at, "MALFORMED", "no MARK to close");
  return m;
}

/** Where the items of the MARK now innermost begin (0 when none is open). */
function innerBase(marks: number[]): number {
  const n = marks.length;
  return n === 0 ? 0 : marks[n - 1]!;
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

function checkMemoIndex(index: number, maxMemo: number, at: number): void {
  if (index >= maxMemo) throw fail(at, "LIMIT_EXCEEDED", `memo index ${index} exceeds maxMemo ${maxMemo}`);
}

function tooManyContainers(at: number, maxContainers: number): PickleError {
  return fail(at, "LIMIT_EXCEEDED", `more than maxContainers ${maxContainers} containers`);
}

function memoGet(memo: unknown[], index: number, at: number, mapDicts: boolean, rare: Rare): unknown {
  let v = memo[index];
  if (v === undefined) throw fail(at, "MALFORMED", `memo key ${index} not found`);
  if (typeof v === "object" && v !== null) {
    const fwd = rare.forward?.get(v);
    if (fwd !== undefined) v = fwd;
    else if (!mapDicts && isDictObject(v)) rare.markEscaped(v);
  }
  return v;
}

/**
 * The decoder: one function, its state in locals (position, stack pointer, innermost
 * MARK) so the JIT keeps them in registers, one switch per opcode. The stack is an
 * array with an explicit pointer; entries above it are garbage until overwritten.
 */
function run(data: Uint8Array, o: ResolvedLoadOptions, stack: unknown[]): unknown {
  const end = data.length;
  const maxStack = o.maxStack;
  const maxMemo = o.maxMemo;
  const maxContainers = o.maxContainers;
  const mapDicts = o.mapDicts;
  const markTuples = o.markTuples;
  const marks: number[] = [];
  const memo: unknown[] = [];
  const rare = new Rare();
  let pos = 0;
  let at = 0; // offset of the opcode being run, for error messages
  let sp = 0; // stack[0..sp) is the stack
  let base = 0; // stack index where the innermost MARK's items begin
  let containers = 0;

  for (;;) {
    // The previous opcode (at `at`) pushed at most one value: the stack never holds
    // more than maxStack, as if every push were checked.
    if (sp > maxStack) throw fail(at, "LIMIT_EXCEEDED", `stack exceeds maxStack ${maxStack}`);
    if (pos >= end) throw fail(pos, "TRUNCATED", "stream ends before STOP");
    at = pos;
    const op = data[pos++]!;
    switch (op) {
      case SHORT_BINUNICODE: {
        if (pos >= end) throw truncated(at);
        const n = data[pos]!;
        const p = pos + 1;
        if (n > end - p) throw lengthPastEnd(at, n, end - p);
        pos = p + n;
        stack[sp++] = decodeUtf8(data, p, pos);
        break;
      }
      case BININT1:
        if (pos >= end) throw truncated(at);
        stack[sp++] = data[pos++]!;
        break;
      case BINFLOAT: {
        if (end - pos < 8) throw truncated(at);
        const p = pos;
        pos = p + 8;
        if (LITTLE_ENDIAN) {
          f64Bytes[0] = data[p + 7]!;
          f64Bytes[1] = data[p + 6]!;
          f64Bytes[2] = data[p + 5]!;
          f64Bytes[3] = data[p + 4]!;
          f64Bytes[4] = data[p + 3]!;
          f64Bytes[5] = data[p + 2]!;
          f64Bytes[6] = data[p + 1]!;
          f64Bytes[7] = data[p]!;
        } else {
          for (let i = 0; i < 8; i++) f64Bytes[i] = data[p + i]!;
        }
        stack[sp++] = f64[0]!;
        break;
      }
      case MARK:
        if (marks.length >= o.maxDepth) throw fail(at, "LIMIT_EXCEEDED", `MARK nesting exceeds maxDepth ${o.maxDepth}`);
        marks.push(sp);
        base = sp;
        break;
      case MEMOIZE: {
        checkMemoIndex(memo.length, maxMemo, at);
        if (sp <= base) throw underflow(at);
        memo.push(stack[sp - 1]);
        break;
      }
      case EMPTY_DICT:
        if (++containers > maxContainers) throw tooManyContainers(at, maxContainers);
        stack[sp++] = mapDicts ? new Map() : nullProtoObject();
        break;
      case SETITEMS: {
        const m = closeMark(marks, at);
        base = innerBase(marks);
        if (m <= base) throw fail(at, "MALFORMED", "SETITEMS without a dict");
        if ((sp - m) % 2 !== 0) throw fail(at, "MALFORMED", "SETITEMS with an odd number of items");
        stack[m - 1] = fillDict(at, stack[m - 1], stack, m, sp, mapDicts, rare);
        sp = m;
        break;
      }
      case SETITEM: {
        if (sp - base < 3) throw underflow(at);
        const k = sp - 2;
        stack[k - 1] = fillDict(at, stack[k - 1], stack, k, sp, mapDicts, rare);
        sp = k;
        break;
      }
      case EMPTY_LIST:
        if (++containers > maxContainers) throw tooManyContainers(at, maxContainers);
        stack[sp++] = [];
        break;
      case APPENDS: {
        const m = closeMark(marks, at);
        base = innerBase(marks);
        if (m <= base) throw fail(at, "MALFORMED", "APPENDS without a list");
        const list = stack[m - 1];
        if (!Array.isArray(list)) throw fail(at, "MALFORMED", "APPENDS target is not a list");
        for (let i = m; i < sp; i++) list.push(stack[i]);
        sp = m;
        break;
      }
      case APPEND: {
        if (sp - base < 2) throw underflow(at);
        const list = stack[sp - 2];
        if (!Array.isArray(list)) throw fail(at, "MALFORMED", "APPEND target is not a list");
        list.push(stack[--sp]);
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
        if (pos >= end) throw truncated(at);
        stack[sp++] = memoGet(memo, data[pos++]!, at, mapDicts, rare);
        break;
      case LONG_BINGET:
        stack[sp++] = memoGet(memo, u32At(data, pos, end, at), at, mapDicts, rare);
        pos += 4;
        break;
      case BINPUT:
      case LONG_BINPUT: {
        let index: number;
        if (op === BINPUT) {
          if (pos >= end) throw truncated(at);
          index = data[pos++]!;
        } else {
          index = u32At(data, pos, end, at);
          pos += 4;
        }
        checkMemoIndex(index, maxMemo, at);
        if (sp <= base) throw underflow(at);
        memo[index] = stack[sp - 1];
        break;
      }
      case TUPLE1: {
        if (sp - base < 1) throw underflow(at);
        if (++containers > maxContainers) throw tooManyContainers(at, maxContainers);
        const t = [stack[sp - 1]];
        stack[sp - 1] = markTuples ? asTuple(t) : t;
        break;
      }
      case TUPLE2: {
        if (sp - base < 2) throw underflow(at);
        if (++containers > maxContainers) throw tooManyContainers(at, maxContainers);
        sp -= 1;
        const t = [stack[sp - 1], stack[sp]];
        stack[sp - 1] = markTuples ? asTuple(t) : t;
        break;
      }
      case TUPLE3: {
        if (sp - base < 3) throw underflow(at);
        if (++containers > maxContainers) throw tooManyContainers(at, maxContainers);
        sp -= 2;
        const t = [stack[sp - 1], stack[sp], stack[sp + 1]];
        stack[sp - 1] = markTuples ? asTuple(t) : t;
        break;
      }
      case EMPTY_TUPLE: {
        if (++containers > maxContainers) throw tooManyContainers(at, maxContainers);
        const t: unknown[] = [];
        stack[sp++] = markTuples ? asTuple(t) : t;
        break;
      }
      case TUPLE: {
        const m = closeMark(marks, at);
        base = innerBase(marks);
        if (++containers > maxContainers) throw tooManyContainers(at, maxContainers);
        const t = stack.slice(m, sp);
        stack[m] = markTuples ? asTuple(t) : t;
        sp = m + 1;
        break;
      }
      case LIST: {
        const m = closeMark(marks, at);
        base = innerBase(marks);
        if (++containers > maxContainers) throw tooManyContainers(at, maxContainers);
        stack[m] = stack.slice(m, sp);
        sp = m + 1;
        break;
      }
      case FROZENSET: {
        const m = closeMark(marks, at);
        base = innerBase(marks);
        if (++containers > maxContainers) throw tooManyContainers(at, maxContainers);
        stack[m] = new Set(stack.slice(m, sp));
        sp = m + 1;
        break;
      }
      case EMPTY_SET:
        if (++containers > maxContainers) throw tooManyContainers(at, maxContainers);
        stack[sp++] = new Set();
        break;
      case ADDITEMS: {
        const m = closeMark(marks, at);
        base = innerBase(marks);
        if (m <= base) throw fail(at, "MALFORMED", "ADDITEMS without a set");
        const set = stack[m - 1];
        if (!(set instanceof Set)) throw fail(at, "MALFORMED", "ADDITEMS target is not a set");
        for (let i = m; i < sp; i++) set.add(stack[i]);
        sp = m;
        break;
      }
      case DICT: {
        const m = closeMark(marks, at);
        base = innerBase(marks);
        if ((sp - m) % 2 !== 0) throw fail(at, "MALFORMED", "DICT with an odd number of items");
        if (++containers > maxContainers) throw tooManyContainers(at, maxContainers);
        const d = mapDicts ? new Map() : nullProtoObject();
        stack[m] = fillDict(at, d, stack, m, sp, mapDicts, rare);
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
        if (marks.length !== 0 || sp !== 1) {
          throw fail(at, "MALFORMED", `STOP with ${sp} values and ${marks.length} open MARKs`);
        }
        return stack[0];
      }
      case POP:
        if (sp > base) sp--;
        else {
          sp = closeMark(marks, at);
          base = innerBase(marks);
        }
        break;
      case POP_MARK:
        sp = closeMark(marks, at);
        base = innerBase(marks);
        break;
      case DUP: {
        if (sp <= base) throw underflow(at);
        const v = stack[sp - 1];
        if (isDictObject(v)) rare.markEscaped(v);
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
        const s = text.trim();
        const v = Number(s);
        if (s === "" || (Number.isNaN(v) && !/^[-+]?nan$/i.test(s))) throw fail(at, "MALFORMED", "bad FLOAT text");
        stack[sp++] = v;
        break;
      }
      case INT: {
        const textEnd = lineEnd(data, pos, at);
        const text = decodeUtf8(data, pos, textEnd);
        pos = textEnd + 1;
        const s = text.trim();
        stack[sp++] = s === "01" ? true : s === "00" ? false : textInt(at, o, s);
        break;
      }
      case LONG: {
        const textEnd = lineEnd(data, pos, at);
        const text = decodeUtf8(data, pos, textEnd);
        pos = textEnd + 1;
        stack[sp++] = textInt(at, o, text.trim().replace(/L$/, ""));
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
      case UNICODE: {
        const textEnd = lineEnd(data, pos, at);
        const text = decodeUtf8(data, pos, textEnd);
        pos = textEnd + 1;
        stack[sp++] = rawUnicodeEscape(text);
        break;
      }
      case SHORT_BINBYTES: {
        if (pos >= end) throw truncated(at);
        const n = data[pos++]!;
        checkLength(n, end - pos, at);
        stack[sp++] = copyBytes(data, pos, n);
        pos += n;
        break;
      }
      case BINBYTES: {
        const n = u32At(data, pos, end, at);
        pos += 4;
        checkLength(n, end - pos, at);
        stack[sp++] = copyBytes(data, pos, n);
        pos += n;
        break;
      }
      case BINBYTES8:
      case BYTEARRAY8: {
        const n = u64LengthAt(data, pos, end, at);
        pos += 8;
        checkLength(n, end - pos, at);
        stack[sp++] = copyBytes(data, pos, n);
        pos += n;
        break;
      }
      case SHORT_BINSTRING: {
        // Python 2 str: CPython 3 decodes it as text too (encoding="ASCII" by default).
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
      case PUT: {
        const textEnd = lineEnd(data, pos, at);
        const text = decodeUtf8(data, pos, textEnd);
        pos = textEnd + 1;
        const index = textIndex(at, text);
        checkMemoIndex(index, maxMemo, at);
        if (sp <= base) throw underflow(at);
        memo[index] = stack[sp - 1];
        break;
      }
      case GET: {
        const textEnd = lineEnd(data, pos, at);
        const text = decodeUtf8(data, pos, textEnd);
        pos = textEnd + 1;
        stack[sp++] = memoGet(memo, textIndex(at, text), at, mapDicts, rare);
        break;
      }
      case GLOBAL: {
        const moduleEnd = lineEnd(data, pos, at);
        const module = decodeUtf8(data, pos, moduleEnd);
        pos = moduleEnd + 1;
        const nameEnd = lineEnd(data, pos, at);
        const name = decodeUtf8(data, pos, nameEnd);
        pos = nameEnd + 1;
        stack[sp++] = globalOf(at, o, module, name);
        break;
      }
      case STACK_GLOBAL: {
        if (sp - base < 2) throw underflow(at);
        sp -= 1;
        stack[sp - 1] = globalOf(at, o, stack[sp - 1], stack[sp]);
        break;
      }
      case REDUCE: {
        if (sp - base < 2) throw underflow(at);
        sp -= 1;
        stack[sp - 1] = call(at, rare, stack[sp - 1], stack[sp]);
        break;
      }
      case NEWOBJ: {
        if (sp - base < 2) throw underflow(at);
        sp -= 1;
        stack[sp - 1] = create(at, rare, stack[sp - 1], stack[sp], undefined);
        break;
      }
      case NEWOBJ_EX: {
        if (sp - base < 3) throw underflow(at);
        sp -= 2;
        stack[sp - 1] = create(at, rare, stack[sp - 1], stack[sp], stack[sp + 1]);
        break;
      }
      case BUILD: {
        if (sp - base < 2) throw underflow(at);
        sp -= 1;
        build(at, rare, stack[sp - 1], stack[sp]);
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
        const m = closeMark(marks, at);
        base = innerBase(marks);
        const args = stack.slice(m, sp);
        stack[m] = call(at, rare, g, args);
        sp = m + 1;
        break;
      }
      case OBJ: {
        const m = closeMark(marks, at);
        base = innerBase(marks);
        if (sp === m) throw fail(at, "MALFORMED", "OBJ without a class");
        const args = stack.slice(m + 1, sp);
        stack[m] = call(at, rare, stack[m], args);
        sp = m + 1;
        break;
      }
      case READONLY_BUFFER:
        if (sp <= base) throw underflow(at);
        break;
      case STRING:
        throw fail(at, "UNSUPPORTED", "protocol 0 STRING opcode");
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
        throw fail(at, "BAD_OPCODE", `unknown opcode 0x${op.toString(16).padStart(2, "0")}`);
    }
  }
}

/** Protocol 0 UNICODE argument: raw-unicode-escape (only \uXXXX and \UXXXXXXXX escapes). */
function rawUnicodeEscape(s: string): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, u4: string | undefined, u8: string | undefined) => {
    const cp = Number.parseInt((u4 ?? u8)!, 16);
    if (cp > 0x10ffff) throw new PickleError("MALFORMED", "bad \\U escape");
    return String.fromCodePoint(cp);
  });
}
