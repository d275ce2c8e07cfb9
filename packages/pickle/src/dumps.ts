import { PickleError } from "./errors.js";
import { isFrozenSet } from "./frozenset.js";
import { PyCall, PyGlobal, PyTimezone } from "./globals.js";
import { IdentityMemo } from "./memo.js";
import { encodeUtf8Into, utf8Length } from "./text.js";
import { isTuple } from "./tuple.js";

export interface DumpOptions {
  /**
   * Deepest container nesting written (lists, tuples, dicts, sets; a container met again
   * is a memo reference and counts nothing), the measure `loads` applies. Default 1,000.
   */
  maxDepth?: number;
  /**
   * Dates are written as aware `datetime(..., tzinfo=timezone.utc)` (a Date is an
   * instant). true writes naive datetimes holding UTC wall time instead.
   */
  naiveDates?: boolean;
}

const PROTO = 0x80,
  FRAME = 0x95,
  STOP = 0x2e,
  NONE = 0x4e,
  NEWTRUE = 0x88,
  NEWFALSE = 0x89,
  BININT = 0x4a,
  BININT1 = 0x4b,
  BININT2 = 0x4d,
  LONG1 = 0x8a,
  LONG4 = 0x8b,
  BINFLOAT = 0x47,
  SHORT_BINUNICODE = 0x8c,
  BINUNICODE = 0x58,
  BINUNICODE8 = 0x8d,
  SHORT_BINBYTES = 0x43,
  BINBYTES = 0x42,
  BINBYTES8 = 0x8e,
  EMPTY_LIST = 0x5d,
  EMPTY_DICT = 0x7d,
  EMPTY_SET = 0x8f,
  EMPTY_TUPLE = 0x29,
  MARK = 0x28,
  APPEND = 0x61,
  APPENDS = 0x65,
  SETITEM = 0x73,
  SETITEMS = 0x75,
  ADDITEMS = 0x90,
  FROZENSET = 0x91,
  TUPLE = 0x74,
  TUPLE1 = 0x85,
  TUPLE2 = 0x86,
  TUPLE3 = 0x87,
  MEMOIZE = 0x94,
  BINGET = 0x68,
  LONG_BINGET = 0x6a,
  POP = 0x30,
  POP_MARK = 0x31,
  STACK_GLOBAL = 0x93,
  REDUCE = 0x52;

const BATCH = 1000; // CPython's batch size for APPENDS/SETITEMS/ADDITEMS
/**
 * Pickles are written into an arena and handed out as views of it (as Node's own
 * Buffer pool does): copying each one out of a reused buffer cost ~200 ns for a
 * 570-byte reply, 13% of its encode. A region handed out is never written again.
 */
const ARENA = 65536;
/** Key positions remembered per dict (see key()); keys further along are written as they are. */
const KEY_POSITIONS = 64;

type WellFormed = { isWellFormed?: () => boolean };

/*
 * Leaf writers: plain functions of (buffer, position) that return the next position.
 * The room they need is the caller's to reserve. Kept out of the class, where every
 * byte written was a load and a store of this.pos and a capacity check: the reply's
 * encode spent most of its time there (and more so in a process where some ArrayBuffer
 * was once detached, as in `pnpm bench`, where V8 then guards every typed-array access).
 */

/** A str of at most 85 UTF-16 units (at most 255 UTF-8 bytes) as SHORT_BINUNICODE; room: 2 + 3 * length. */
function putShortStr(b: Buffer, p: number, s: string): number {
  const n = s.length;
  const start = p + 2;
  let q = start;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) {
      q = encodeUtf8Into(s, b, start);
      break;
    }
    b[q++] = c;
  }
  b[p] = SHORT_BINUNICODE;
  b[p + 1] = q - start;
  return q;
}

/** BINGET / LONG_BINGET of a memo index; room: 5. */
function putGet(b: Buffer, p: number, index: number): number {
  if (index < 256) {
    b[p] = BINGET;
    b[p + 1] = index;
    return p + 2;
  }
  b[p] = LONG_BINGET;
  return putU32(b, p + 1, index);
}

function putU32(b: Buffer, p: number, v: number): number {
  b[p] = v & 0xff;
  b[p + 1] = (v >>> 8) & 0xff;
  b[p + 2] = (v >>> 16) & 0xff;
  b[p + 3] = (v >>> 24) & 0xff;
  return p + 4;
}

/** ROOM_NUMBER bytes are enough for any number: BINFLOAT and 8 bytes, or LONG1 and 7 at most. */
const ROOM_NUMBER = 9;

/** A number as int (BININT1/BININT2/BININT/LONG1) when it is a safe integer other than -0, else BINFLOAT. */
function putNumber(b: Buffer, view: DataView, p: number, v: number): number {
  if (Number.isInteger(v) && !Object.is(v, -0)) {
    if (v >= 0 && v < 256) {
      b[p] = BININT1;
      b[p + 1] = v;
      return p + 2;
    }
    if (v >= 0 && v < 65536) {
      b[p] = BININT2;
      b[p + 1] = v & 0xff;
      b[p + 2] = v >>> 8;
      return p + 3;
    }
    if (v >= -2147483648 && v <= 2147483647) {
      b[p] = BININT;
      return putU32(b, p + 1, v);
    }
    if (Number.isSafeInteger(v)) return putSafeLong(b, p, v);
  }
  // Non-integers, -0, NaN, infinities, and integers past 2^53 (already inexact) are floats.
  b[p] = BINFLOAT;
  view.setFloat64(p + 1, v, false); // one big-endian store (TurboFan inlines it)
  return p + 9;
}

/** LONG1 for a safe integer beyond int32: 5 to 7 bytes of two's complement. */
function putSafeLong(b: Buffer, p: number, v: number): number {
  const hi = Math.floor(v / 0x100000000); // signed, exact
  const lo = v - hi * 0x100000000; // 0 <= lo < 2^32
  const n = hi >= -128 && hi < 128 ? 5 : hi >= -32768 && hi < 32768 ? 6 : 7;
  b[p] = LONG1;
  b[p + 1] = n;
  let q = putU32(b, p + 2, lo);
  b[q++] = hi & 0xff;
  if (n > 5) b[q++] = (hi >> 8) & 0xff;
  if (n > 6) b[q++] = (hi >> 16) & 0xff;
  return q;
}

/** One reusable encoder: its arena and memo survive between calls. */
class Pickler {
  buf: Buffer = Buffer.allocUnsafeSlow(ARENA);
  /**
   * buf.length, kept as a number: once any ArrayBuffer in the process has been detached
   * (a transfer to a worker; tsx's loader does one), V8 checks for detachment on every
   * typed-array length read, and ensure() reads it for nearly every byte written.
   */
  private cap = ARENA;
  private view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  /** Where this call's pickle begins in buf (the bytes before it were handed out). */
  private start = 0;
  private lastSize = 0;
  pos = 0;
  private readonly memo = new IdentityMemo();
  /** Arrays and Sets written as tuple/frozenset because they were dict keys or set items. */
  private readonly hashMemo = new IdentityMemo();
  /** Per key position: the key the last dict written had there, and its memo index (see key()). */
  private readonly lastKeys: (string | undefined)[] = new Array<string | undefined>(KEY_POSITIONS).fill(undefined);
  private readonly lastKeyMemo = new Int32Array(KEY_POSITIONS);
  /** The same for str values (a record's "exchange", "accountId"...). */
  private readonly lastValues: (string | undefined)[] = new Array<string | undefined>(KEY_POSITIONS).fill(undefined);
  private readonly lastValueMemo = new Int32Array(KEY_POSITIONS);
  private keyPositionsUsed = 0;
  private globals: Map<string, number> | undefined;
  private memoCount = 0;
  private depth = 0;
  private maxDepth = 1000;
  private naiveDates = false;
  /** No enumerable property on Object.prototype: for-in sees only a plain object's own keys. */
  private forInIsOwn = true;

  dumps(value: unknown, o: DumpOptions | undefined): Buffer {
    this.maxDepth = o?.maxDepth ?? 1000;
    this.naiveDates = o?.naiveDates === true;
    this.forInIsOwn = true;
    for (const _ in Object.prototype) {
      this.forInIsOwn = false;
      break;
    }
    // A big pickle last time: likely again, so one buffer of about that size, no growing.
    // Little room left in the arena: a fresh one (the old one lives on in its views).
    if (this.lastSize > ARENA / 2) {
      this.use(Buffer.allocUnsafeSlow(this.lastSize + (this.lastSize >> 2)));
      this.start = 0;
    } else if (this.buf.length - this.start < 1024) {
      this.use(Buffer.allocUnsafeSlow(ARENA));
      this.start = 0;
    }
    const start = this.start;
    this.pos = start;
    this.ensure(11);
    const b = this.buf;
    b[start] = PROTO;
    b[start + 1] = 4;
    b[start + 2] = FRAME; // one frame around everything; its length is patched at the end
    this.pos = start + 11;
    try {
      this.write(value);
      this.op(STOP);
      const end = this.pos;
      this.pos = start + 3;
      this.u64(end - start - 11);
      const result = this.buf.subarray(start, end);
      this.lastSize = end - start;
      // The next pickle starts after this one, 8-aligned; a grown buffer is not reused.
      this.start = this.buf.length !== ARENA ? this.buf.length : (end + 7) & ~7;
      return result;
    } finally {
      // A failed call handed nothing out: this.start has not moved, the next one writes over it.
      this.memo.clear();
      this.hashMemo.clear();
      for (let i = 0; i < this.keyPositionsUsed; i++) {
        this.lastKeys[i] = undefined;
        this.lastValues[i] = undefined;
      }
      this.keyPositionsUsed = 0;
      this.globals = undefined;
      this.memoCount = 0;
      this.depth = 0;
    }
  }

  private use(buf: Buffer): void {
    this.buf = buf;
    this.cap = buf.length;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.length);
  }

  /** Room for n more bytes; growing keeps every offset (only this call's bytes are copied). */
  private ensure(n: number): void {
    if (this.pos + n > this.cap) {
      const next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.pos + n));
      next.set(this.buf.subarray(this.start, this.pos), this.start);
      this.use(next);
    }
  }

  private op(code: number): void {
    this.ensure(1);
    this.buf[this.pos++] = code;
  }

  private u32(v: number): void {
    const b = this.buf;
    const p = this.pos;
    b[p] = v & 0xff;
    b[p + 1] = (v >>> 8) & 0xff;
    b[p + 2] = (v >>> 16) & 0xff;
    b[p + 3] = (v >>> 24) & 0xff;
    this.pos = p + 4;
  }

  private u64(v: number): void {
    this.u32(v >>> 0);
    this.u32((v / 0x100000000) >>> 0);
  }

  private write(v: unknown): void {
    switch (typeof v) {
      case "string":
        this.str(v);
        return;
      case "number":
        this.number(v);
        return;
      case "boolean":
        this.op(v ? NEWTRUE : NEWFALSE);
        return;
      case "bigint":
        this.bigint(v);
        return;
      case "undefined":
        this.op(NONE);
        return;
      case "object":
        if (v === null) {
          this.op(NONE);
          return;
        }
        this.object(v);
        return;
      default:
        throw new PickleError("UNSUPPORTED", `cannot pickle a ${typeof v}`);
    }
  }

  private str(s: string): void {
    const n = s.length;
    if (n <= 85) {
      // 85 UTF-16 units are at most 255 UTF-8 bytes: the 1-byte length always fits.
      this.ensure(2 + 3 * n);
      this.pos = putShortStr(this.buf, this.pos, s);
      return;
    }
    // Buffer.write would turn a lone surrogate into U+FFFD; Python keeps it (surrogatepass).
    const native = (s as WellFormed).isWellFormed?.() ?? false;
    const len = native ? Buffer.byteLength(s, "utf8") : utf8Length(s);
    this.ensure(9 + len);
    if (len < 256) {
      this.buf[this.pos++] = SHORT_BINUNICODE;
      this.buf[this.pos++] = len;
    } else if (len < 0x100000000) {
      this.buf[this.pos++] = BINUNICODE;
      this.u32(len);
    } else {
      this.buf[this.pos++] = BINUNICODE8;
      this.u64(len);
    }
    if (native) this.pos += this.buf.write(s, this.pos, len, "utf8");
    else this.pos = encodeUtf8Into(s, this.buf, this.pos);
  }

  private number(v: number): void {
    this.ensure(ROOM_NUMBER);
    this.pos = putNumber(this.buf, this.view, this.pos, v);
  }

  private bigint(v: bigint): void {
    if (v >= -2147483648n && v <= 2147483647n) {
      this.number(Number(v));
      return;
    }
    const magnitude = v < 0n ? -v - 1n : v;
    const n = Math.ceil((magnitude.toString(2).length + 1) / 8); // + sign bit
    const u = v < 0n ? (1n << BigInt(8 * n)) + v : v;
    const hex = u.toString(16).padStart(2 * n, "0");
    this.ensure(5 + n);
    const b = this.buf;
    if (n < 256) {
      b[this.pos++] = LONG1;
      b[this.pos++] = n;
    } else {
      b[this.pos++] = LONG4;
      this.u32(n);
    }
    for (let i = 0; i < n; i++) {
      const at = 2 * (n - 1 - i);
      b[this.pos++] = Number.parseInt(hex.slice(at, at + 2), 16);
    }
  }

  private bytes(v: Uint8Array): void {
    const n = v.length;
    this.ensure(9 + n);
    const b = this.buf;
    if (n < 256) {
      b[this.pos++] = SHORT_BINBYTES;
      b[this.pos++] = n;
    } else if (n < 0x100000000) {
      b[this.pos++] = BINBYTES;
      this.u32(n);
    } else {
      b[this.pos++] = BINBYTES8;
      this.u64(n);
    }
    b.set(v, this.pos);
    this.pos += n;
  }

  private memoize(v: object): void {
    this.memo.set(v, this.memoCount++);
    this.op(MEMOIZE);
  }

  private get(index: number): void {
    this.ensure(5);
    this.pos = putGet(this.buf, this.pos, index);
  }

  /** One level deeper into a container; LIMIT_EXCEEDED past maxDepth. */
  private enter(): void {
    if (++this.depth > this.maxDepth) {
      throw new PickleError("LIMIT_EXCEEDED", `value nests deeper than maxDepth ${this.maxDepth}`);
    }
  }

  private object(v: object): void {
    const seen = this.memo.get(v);
    if (seen !== undefined) {
      this.get(seen);
      return;
    }
    if (Array.isArray(v)) {
      this.enter();
      if (isTuple(v)) this.tuple(v, false);
      else this.list(v);
    } else if (this.isPlain(v)) {
      this.enter();
      this.plainDict(v as Record<string, unknown>);
    } else if (v instanceof Uint8Array) {
      this.bytes(v);
      return;
    } else if (v instanceof Date) {
      this.date(v);
      return;
    } else if (v instanceof Map) {
      this.enter();
      this.map(v);
    } else if (v instanceof Set) {
      this.enter();
      if (isFrozenSet(v)) this.frozenset(v, false);
      else this.set(v);
    } else if (v instanceof PyCall) {
      this.enter();
      this.global(v.module, v.name);
      this.tuple(v.args as unknown[], false);
      this.op(REDUCE);
    } else if (v instanceof PyGlobal) {
      this.global(v.module, v.name);
      return;
    } else if (v instanceof PyTimezone) {
      this.timezone(v);
      return;
    } else if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) {
      throw new PickleError("UNSUPPORTED", "only Uint8Array/Buffer binary data can be pickled (as bytes)");
    } else {
      this.enter();
      this.dict(v as Record<string, unknown>);
    }
    this.depth--;
  }

  private list(v: readonly unknown[]): void {
    this.op(EMPTY_LIST);
    this.memoize(v);
    const n = v.length;
    if (n === 1) {
      this.write(v[0]);
      this.op(APPEND);
      return;
    }
    for (let i = 0; i < n; i += BATCH) {
      this.op(MARK);
      const stop = Math.min(n, i + BATCH);
      for (let j = i; j < stop; j++) this.write(v[j]);
      this.op(APPENDS);
    }
  }

  /**
   * A dict key or set item. Python hashes only immutable values, so arrays are written
   * as tuples and Sets as frozensets, all the way down.
   */
  private hashable(k: unknown): void {
    if (typeof k !== "object" || k === null || !(Array.isArray(k) || k instanceof Set)) {
      this.write(k);
      return;
    }
    // A marked tuple/frozenset written before is the same immutable value: refer to it.
    const marked = Array.isArray(k) ? isTuple(k) : isFrozenSet(k);
    const seen = marked ? (this.memo.get(k) ?? this.hashMemo.get(k)) : this.hashMemo.get(k);
    if (seen !== undefined) {
      this.get(seen);
      return;
    }
    this.enter();
    if (Array.isArray(k)) this.tuple(k, true);
    else this.frozenset(k, true);
    this.depth--;
  }

  /** Memoize a tuple/frozenset in the memo its kind of reference is looked up in. */
  private memoizeImmutable(v: object, asKey: boolean, marked: boolean): void {
    if (!asKey || marked) {
      this.memoize(v);
    } else {
      this.hashMemo.set(v, this.memoCount++);
      this.op(MEMOIZE);
    }
  }

  private tuple(v: readonly unknown[], asKey: boolean): void {
    const n = v.length;
    if (n === 0) {
      this.op(EMPTY_TUPLE);
      return;
    }
    if (n > 3) this.op(MARK);
    if (asKey) for (let i = 0; i < n; i++) this.hashable(v[i]);
    else for (let i = 0; i < n; i++) this.write(v[i]);
    // A tuple reached again through its own items was written (and memoized) inside
    // them: drop this copy and refer to that one, as CPython does.
    const seen = asKey ? undefined : this.memo.get(v);
    if (seen !== undefined) {
      if (n > 3) this.op(POP_MARK);
      else for (let i = 0; i < n; i++) this.op(POP);
      this.get(seen);
      return;
    }
    this.op(n === 1 ? TUPLE1 : n === 2 ? TUPLE2 : n === 3 ? TUPLE3 : TUPLE);
    this.memoizeImmutable(v, asKey, isTuple(v));
  }

  /** frozenset: MARK, its items (hashable), FROZENSET, as CPython writes protocol 4. */
  private frozenset(v: ReadonlySet<unknown>, asKey: boolean): void {
    this.op(MARK);
    for (const item of v) this.hashable(item);
    this.op(FROZENSET);
    this.memoizeImmutable(v, asKey, isFrozenSet(v));
  }

  /** An object literal or a decoded dict: no class whose instances mean something else. */
  private isPlain(v: object): boolean {
    const proto = Object.getPrototypeOf(v);
    return (proto === Object.prototype || proto === null) && this.forInIsOwn;
  }

  /**
   * dict() for plain objects, without the key array: for-in over an object with a
   * stable shape reads each value by its slot. The item count is known only at the
   * end, so MARK goes first and is taken back for 0 items (CPython writes none) or
   * for 1 (CPython writes key, value, SETITEM).
   */
  private plainDict(v: Record<string, unknown>): void {
    this.ensure(3);
    // The loop keeps the position in a local and writes through the leaf writers; it
    // hands this.pos back (and reloads buf, which may grow) around any other call.
    let b = this.buf;
    let p = this.pos;
    b[p] = EMPTY_DICT;
    b[p + 1] = MEMOIZE;
    b[p + 2] = MARK;
    this.memo.set(v, this.memoCount++);
    let markAt = p + 2;
    p += 3;
    let inBatch = 0;
    let batches = 0;
    let position = 0;
    const lastKeys = this.lastKeys;
    const lastValues = this.lastValues;
    for (const k in v) {
      const x = v[k];
      if (position < KEY_POSITIONS) {
        // Room for a key's BINGET (5) and a number, a str's BINGET or a one-byte value,
        // and SETITEMS + MARK after them.
        if (p + 5 + ROOM_NUMBER + 2 > this.cap) {
          this.pos = p;
          this.ensure(5 + ROOM_NUMBER + 2);
          b = this.buf;
          p = this.pos;
        }
        if (lastKeys[position] === k) {
          p = putGet(b, p, this.lastKeyMemo[position]!);
        } else if (k.length <= 85 && p + 3 + 3 * k.length + ROOM_NUMBER + 2 <= this.cap) {
          p = putShortStr(b, p, k);
          b[p++] = MEMOIZE;
          this.remember(k, position, lastKeys, this.lastKeyMemo);
        } else {
          this.pos = p;
          this.firstAtPosition(k, position, lastKeys, this.lastKeyMemo);
          b = this.buf;
          p = this.pos;
          if (p + ROOM_NUMBER + 2 > this.cap) {
            this.ensure(ROOM_NUMBER + 2);
            b = this.buf;
          }
        }
        // A record's values are mostly str and numbers: no trip through write() for them.
        if (typeof x === "number") {
          p = putNumber(b, this.view, p, x);
        } else if (typeof x === "string" && lastValues[position] === x) {
          p = putGet(b, p, this.lastValueMemo[position]!);
        } else if (typeof x === "string" && x.length <= 85 && p + 3 + 3 * x.length + 2 <= this.cap) {
          p = putShortStr(b, p, x);
          b[p++] = MEMOIZE;
          this.remember(x, position, lastValues, this.lastValueMemo);
        } else if (typeof x === "boolean") {
          b[p++] = x ? NEWTRUE : NEWFALSE;
        } else if (x === null || x === undefined) {
          b[p++] = NONE;
        } else {
          this.pos = p;
          if (typeof x === "string") this.firstAtPosition(x, position, lastValues, this.lastValueMemo);
          else this.write(x);
          b = this.buf;
          p = this.pos;
        }
        position++;
      } else {
        this.pos = p;
        this.str(k);
        this.write(x);
        b = this.buf;
        p = this.pos;
      }
      if (++inBatch === BATCH) {
        if (p + 2 > this.cap) {
          this.pos = p;
          this.ensure(2);
          b = this.buf;
          p = this.pos;
        }
        b[p] = SETITEMS;
        b[p + 1] = MARK;
        markAt = p + 1;
        p += 2;
        inBatch = 0;
        batches++;
      }
    }
    if (inBatch === 0) {
      p--; // the MARK just written: nothing follows it
    } else if (inBatch === 1 && batches === 0) {
      // One item: CPython writes no MARK. Shift the item over it (a loop: copyWithin
      // is a builtin call that costs more than the few bytes it moves).
      if (p - markAt > 64) b.copyWithin(markAt, markAt + 1, p);
      else for (let i = markAt; i < p - 1; i++) b[i] = b[i + 1]!;
      b[p - 1] = SETITEM;
    } else {
      if (p + 1 > this.cap) {
        this.pos = p;
        this.ensure(1);
        b = this.buf;
        p = this.pos;
      }
      b[p++] = SETITEMS;
    }
    this.pos = p;
  }

  /**
   * A dict key (or str value) at this position of its dict, not the one the last dict
   * had there: written, memoized, and remembered. Records (lists of dicts) repeat their
   * keys in the same order, so plainDict writes a key equal to the one the last dict had
   * here (a pointer compare, usually) as BINGET of that one, as CPython writes it: 2 bytes
   * instead of encoding it again. The same for str values (a record's "exchange").
   */
  private firstAtPosition(s: string, position: number, last: (string | undefined)[], lastMemo: Int32Array): void {
    this.str(s);
    this.op(MEMOIZE);
    this.remember(s, position, last, lastMemo);
  }

  /** s is the str at this dict position now, under the next memo index (its MEMOIZE is the caller's). */
  private remember(s: string, position: number, last: (string | undefined)[], lastMemo: Int32Array): void {
    last[position] = s;
    lastMemo[position] = this.memoCount++;
    if (position >= this.keyPositionsUsed) this.keyPositionsUsed = position + 1;
  }

  private dict(v: Record<string, unknown>): void {
    this.op(EMPTY_DICT);
    this.memoize(v);
    const keys = Object.keys(v);
    const n = keys.length;
    if (n === 1) {
      const k = keys[0]!;
      this.str(k);
      this.write(v[k]);
      this.op(SETITEM);
      return;
    }
    for (let i = 0; i < n; i += BATCH) {
      this.op(MARK);
      const stop = Math.min(n, i + BATCH);
      for (let j = i; j < stop; j++) {
        const k = keys[j]!;
        this.str(k);
        this.write(v[k]);
      }
      this.op(SETITEMS);
    }
  }

  private map(v: Map<unknown, unknown>): void {
    this.op(EMPTY_DICT);
    this.memoize(v);
    let inBatch = 0;
    for (const [k, val] of v) {
      if (inBatch === 0) this.op(MARK);
      this.hashable(k);
      this.write(val);
      if (++inBatch === BATCH) {
        this.op(SETITEMS);
        inBatch = 0;
      }
    }
    if (inBatch > 0) this.op(SETITEMS);
  }

  private set(v: Set<unknown>): void {
    this.op(EMPTY_SET);
    this.memoize(v);
    let inBatch = 0;
    for (const item of v) {
      if (inBatch === 0) this.op(MARK);
      this.hashable(item);
      if (++inBatch === BATCH) {
        this.op(ADDITEMS);
        inBatch = 0;
      }
    }
    if (inBatch > 0) this.op(ADDITEMS);
  }

  /** A global, memoized per pickle so a list of Dates names datetime.datetime once. */
  private global(module: string, name: string): void {
    const key = `${module}\n${name}`;
    const seen = this.globals?.get(key);
    if (seen !== undefined) {
      this.get(seen);
      return;
    }
    this.str(module);
    this.str(name);
    this.op(STACK_GLOBAL);
    this.globals ??= new Map();
    this.globals.set(key, this.memoCount++);
    this.op(MEMOIZE);
  }

  private date(d: Date): void {
    const t = d.getTime();
    if (!Number.isFinite(t)) throw new PickleError("UNSUPPORTED", "an invalid Date cannot be pickled");
    // A Date is an instant, written as UTC. The few within a day of datetime.min/max
    // whose UTC time is outside years 1-9999 (an aware datetime read from Python can be)
    // are written with the smallest whole-minute offset that brings them inside.
    let offsetMinutes = 0;
    if (t < MIN_DATETIME_MS) offsetMinutes = Math.ceil((MIN_DATETIME_MS - t) / 60_000);
    else if (t > MAX_DATETIME_MS) offsetMinutes = -Math.ceil((t - MAX_DATETIME_MS) / 60_000);
    if (offsetMinutes !== 0 && (this.naiveDates || Math.abs(offsetMinutes) >= 1440)) {
      throw new PickleError("UNSUPPORTED", "only Dates in years 1..9999 can be pickled");
    }
    const wall = offsetMinutes === 0 ? d : new Date(t + offsetMinutes * 60_000);
    this.global("datetime", "datetime");
    const year = wall.getUTCFullYear();
    const us = wall.getUTCMilliseconds() * 1000;
    this.ensure(12);
    const b = this.buf;
    b[this.pos++] = SHORT_BINBYTES;
    b[this.pos++] = 10;
    b[this.pos++] = year >> 8;
    b[this.pos++] = year & 0xff;
    b[this.pos++] = wall.getUTCMonth() + 1;
    b[this.pos++] = wall.getUTCDate();
    b[this.pos++] = wall.getUTCHours();
    b[this.pos++] = wall.getUTCMinutes();
    b[this.pos++] = wall.getUTCSeconds();
    b[this.pos++] = us >> 16;
    b[this.pos++] = (us >> 8) & 0xff;
    b[this.pos++] = us & 0xff;
    if (this.naiveDates) {
      this.op(TUPLE1);
    } else {
      if (offsetMinutes === 0) this.utc();
      else this.fixedOffset(offsetMinutes * 60_000_000, undefined);
      this.op(TUPLE2);
    }
    this.op(REDUCE);
  }

  /** datetime.timezone.utc, pickled as CPython does: timezone(timedelta(0, 0, 0)); memoized. */
  private utc(): void {
    const seen = this.globals?.get("utc");
    if (seen !== undefined) {
      this.get(seen);
      return;
    }
    this.fixedOffset(0, undefined);
    this.globals ??= new Map();
    this.globals.set("utc", this.memoCount++);
    this.op(MEMOIZE);
  }

  /** datetime.timezone(timedelta(days, seconds, microseconds)[, name]). */
  private fixedOffset(offsetUs: number, name: string | undefined): void {
    this.global("datetime", "timezone");
    this.global("datetime", "timedelta");
    // timedelta normalizes to 0 <= seconds < 86400, 0 <= microseconds < 10**6.
    const days = Math.floor(offsetUs / 86_400_000_000);
    const rest = offsetUs - days * 86_400_000_000;
    const seconds = Math.floor(rest / 1_000_000);
    this.number(days);
    this.number(seconds);
    this.number(rest - seconds * 1_000_000);
    this.op(TUPLE3);
    this.op(REDUCE);
    if (name === undefined) {
      this.op(TUPLE1);
    } else {
      this.str(name);
      this.op(TUPLE2);
    }
    this.op(REDUCE);
  }

  /** A decoded tzinfo written back: datetime.timezone(offset[, name]) or zoneinfo.ZoneInfo(key). */
  private timezone(tz: PyTimezone): void {
    if (tz.zone !== undefined) {
      this.global("zoneinfo", "ZoneInfo");
      this.str(tz.zone);
      this.op(TUPLE1);
      this.op(REDUCE);
      return;
    }
    this.fixedOffset(Math.round((tz.offsetSeconds ?? 0) * 1e6), tz.label);
  }
}

/** datetime.min and datetime.max as UTC instants (ms). */
const MIN_DATETIME_MS = new Date(0).setUTCFullYear(1, 0, 1); // not Date.UTC: it reads year 1 as 1901
const MAX_DATETIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

let idle: Pickler | undefined;

/** Encode a value as a protocol 4 pickle (CPython 3.8+ loads it). See the README for the mapping. */
export function dumps(value: unknown, options?: DumpOptions): Buffer {
  // A getter run during encoding could call dumps again: it then gets its own encoder.
  const p = idle ?? new Pickler();
  idle = undefined;
  try {
    return p.dumps(value, options);
  } finally {
    idle = p;
  }
}
