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

/** One reusable encoder: its arena and memo survive between calls. */
class Pickler {
  buf: Buffer = Buffer.allocUnsafeSlow(ARENA);
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
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.length);
  }

  /** Room for n more bytes; growing keeps every offset (only this call's bytes are copied). */
  private ensure(n: number): void {
    if (this.pos + n > this.buf.length) {
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
      const b = this.buf;
      const start = this.pos + 2;
      let p = start;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) {
          p = encodeUtf8Into(s, b, start);
          break;
        }
        b[p++] = c;
      }
      b[this.pos] = SHORT_BINUNICODE;
      b[this.pos + 1] = p - start;
      this.pos = p;
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
    if (Number.isInteger(v) && !Object.is(v, -0)) {
      if (v >= 0 && v < 256) {
        this.ensure(2);
        this.buf[this.pos++] = BININT1;
        this.buf[this.pos++] = v;
        return;
      }
      if (v >= 0 && v < 65536) {
        this.ensure(3);
        const b = this.buf;
        b[this.pos++] = BININT2;
        b[this.pos++] = v & 0xff;
        b[this.pos++] = v >>> 8;
        return;
      }
      if (v >= -2147483648 && v <= 2147483647) {
        this.ensure(5);
        this.buf[this.pos++] = BININT;
        this.u32(v);
        return;
      }
      if (Number.isSafeInteger(v)) {
        this.safeLong(v);
        return;
      }
    }
    // Non-integers, -0, NaN, infinities, and integers past 2^53 (already inexact) are floats.
    this.ensure(9);
    const b = this.buf;
    b[this.pos++] = BINFLOAT;
    this.view.setFloat64(this.pos, v, false); // one big-endian store (TurboFan inlines it)
    this.pos += 8;
  }

  /** LONG1 for a safe integer beyond int32: 5 to 7 bytes of two's complement. */
  private safeLong(v: number): void {
    const hi = Math.floor(v / 0x100000000); // signed, exact
    const lo = v - hi * 0x100000000; // 0 <= lo < 2^32
    const n = hi >= -128 && hi < 128 ? 5 : hi >= -32768 && hi < 32768 ? 6 : 7;
    this.ensure(2 + n);
    const b = this.buf;
    b[this.pos++] = LONG1;
    b[this.pos++] = n;
    this.u32(lo);
    b[this.pos++] = hi & 0xff;
    if (n > 5) b[this.pos++] = (hi >> 8) & 0xff;
    if (n > 6) b[this.pos++] = (hi >> 16) & 0xff;
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
    if (index < 256) {
      this.buf[this.pos++] = BINGET;
      this.buf[this.pos++] = index;
    } else {
      this.buf[this.pos++] = LONG_BINGET;
      this.u32(index);
    }
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
    this.op(EMPTY_DICT);
    this.memoize(v);
    this.op(MARK);
    let markAt = this.pos - 1;
    let inBatch = 0;
    let batches = 0;
    let position = 0;
    for (const k in v) {
      const x = v[k];
      if (position < KEY_POSITIONS) {
        this.key(k, position);
        // A record's values are mostly str and numbers: no trip through write() for them.
        if (typeof x === "string") this.repeated(x, position, this.lastValues, this.lastValueMemo);
        else if (typeof x === "number") this.number(x);
        else this.write(x);
        position++;
      } else {
        this.str(k);
        this.write(x);
      }
      if (++inBatch === BATCH) {
        this.op(SETITEMS);
        this.op(MARK);
        markAt = this.pos - 1;
        inBatch = 0;
        batches++;
      }
    }
    if (inBatch === 0) {
      this.pos--; // the MARK just written: nothing follows it
    } else if (inBatch === 1 && batches === 0) {
      // One item: CPython writes no MARK. Shift the item over it (a loop: copyWithin
      // is a builtin call that costs more than the few bytes it moves).
      const b = this.buf;
      const end = this.pos;
      if (end - markAt > 64) b.copyWithin(markAt, markAt + 1, end);
      else for (let i = markAt; i < end - 1; i++) b[i] = b[i + 1]!;
      b[end - 1] = SETITEM;
    } else {
      this.op(SETITEMS);
    }
  }

  /**
   * A dict key at this position of its dict. Records (lists of dicts) repeat their keys
   * in the same order, so a key equal to the one the last dict had here (a pointer
   * compare, usually) is written as BINGET of that one, as CPython writes it: 2 bytes
   * instead of encoding it again. A new key is memoized for the dicts that follow.
   */
  private key(k: string, position: number): void {
    this.repeated(k, position, this.lastKeys, this.lastKeyMemo);
  }

  /** A str at a dict position: BINGET of the same str the last dict had there, else written and memoized. */
  private repeated(s: string, position: number, last: (string | undefined)[], lastMemo: Int32Array): void {
    if (last[position] === s) {
      this.get(lastMemo[position]!);
      return;
    }
    this.str(s);
    last[position] = s;
    lastMemo[position] = this.memoCount++;
    if (position >= this.keyPositionsUsed) this.keyPositionsUsed = position + 1;
    this.op(MEMOIZE);
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
