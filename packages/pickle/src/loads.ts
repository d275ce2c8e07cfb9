import { PickleError, forbiddenGlobal } from "./errors.js";
import { PyGlobal } from "./globals.js";
import { type LoadOptions, type ResolvedLoadOptions, resolveLoadOptions } from "./options.js";
import { decodeUtf8 } from "./text.js";
import { asTuple } from "./tuple.js";

// Opcodes (pickletools names). Protocols 0-1 text forms are read where they are cheap.
const MARK = 0x28, STOP = 0x2e, POP = 0x30, POP_MARK = 0x31, DUP = 0x32, FLOAT = 0x46, INT = 0x49,
  BININT = 0x4a, BININT1 = 0x4b, LONG = 0x4c, BININT2 = 0x4d, NONE = 0x4e, PERSID = 0x50,
  BINPERSID = 0x51, REDUCE = 0x52, STRING = 0x53, BINSTRING = 0x54, SHORT_BINSTRING = 0x55,
  UNICODE = 0x56, BINUNICODE = 0x58, APPEND = 0x61, BUILD = 0x62, GLOBAL = 0x63, DICT = 0x64,
  EMPTY_DICT = 0x7d, APPENDS = 0x65, GET = 0x67, BINGET = 0x68, INST = 0x69, LONG_BINGET = 0x6a,
  LIST = 0x6c, EMPTY_LIST = 0x5d, OBJ = 0x6f, PUT = 0x70, BINPUT = 0x71, LONG_BINPUT = 0x72,
  SETITEM = 0x73, TUPLE = 0x74, EMPTY_TUPLE = 0x29, SETITEMS = 0x75, BINFLOAT = 0x47,
  PROTO = 0x80, NEWOBJ = 0x81, EXT1 = 0x82, EXT2 = 0x83, EXT4 = 0x84, TUPLE1 = 0x85, TUPLE2 = 0x86,
  TUPLE3 = 0x87, NEWTRUE = 0x88, NEWFALSE = 0x89, LONG1 = 0x8a, LONG4 = 0x8b, BINBYTES = 0x42,
  SHORT_BINBYTES = 0x43, SHORT_BINUNICODE = 0x8c, BINUNICODE8 = 0x8d, BINBYTES8 = 0x8e,
  EMPTY_SET = 0x8f, ADDITEMS = 0x90, FROZENSET = 0x91, NEWOBJ_EX = 0x92, STACK_GLOBAL = 0x93,
  MEMOIZE = 0x94, FRAME = 0x95, BYTEARRAY8 = 0x96, NEXT_BUFFER = 0x97, READONLY_BUFFER = 0x98;

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
  return new Unpickler(data, o).run();
}

class Unpickler {
  private pos = 0;
  private op = 0; // offset of the opcode being run, for error messages
  private readonly end: number;
  private readonly stack: unknown[] = [];
  private readonly marks: number[] = [];
  private base = 0; // stack index where the innermost MARK's items begin
  private readonly memo: unknown[] = [];
  private containers = 0;
  /** Objects returned by allow-listed globals: BUILD may only touch those. */
  private made: Map<object, PyGlobal> | undefined;
  /** Object-dicts that reached a memo GET before they were complete (see setItems). */
  private escaped: Set<object> | undefined;
  /** Object-dicts turned into Maps (a non-str key came late): old -> new, for GET. */
  private forward: Map<object, Map<unknown, unknown>> | undefined;

  constructor(
    private readonly data: Uint8Array,
    private readonly o: ResolvedLoadOptions,
  ) {
    this.end = data.length;
  }

  private fail(code: PickleError["code"], message: string): PickleError {
    return new PickleError(code, `${message} (at byte ${this.op})`, { offset: this.op });
  }

  private need(n: number): void {
    if (this.end - this.pos < n) throw this.fail("TRUNCATED", "stream ends inside an opcode argument");
  }

  private push(v: unknown): void {
    if (this.stack.length >= this.o.maxStack) throw this.fail("LIMIT_EXCEEDED", `stack exceeds maxStack ${this.o.maxStack}`);
    this.stack.push(v);
  }

  private pop(): unknown {
    if (this.stack.length <= this.base) throw this.fail("MALFORMED", "unpickling stack underflow");
    return this.stack.pop();
  }

  private top(): unknown {
    if (this.stack.length <= this.base) throw this.fail("MALFORMED", "unpickling stack underflow");
    return this.stack[this.stack.length - 1];
  }

  /** Close the innermost MARK; returns the stack index where its items begin. */
  private popMark(): number {
    const m = this.marks.pop();
    if (m === undefined) throw this.fail("MALFORMED", "no MARK to close");
    const n = this.marks.length;
    this.base = n === 0 ? 0 : this.marks[n - 1]!;
    return m;
  }

  private container(): void {
    if (++this.containers > this.o.maxContainers) {
      throw this.fail("LIMIT_EXCEEDED", `more than maxContainers ${this.o.maxContainers} containers`);
    }
  }

  private u8(): number {
    this.need(1);
    return this.data[this.pos++]!;
  }

  private u32(): number {
    this.need(4);
    const d = this.data;
    const p = this.pos;
    this.pos = p + 4;
    return (d[p]! | (d[p + 1]! << 8) | (d[p + 2]! << 16)) + d[p + 3]! * 0x1000000;
  }

  private i32(): number {
    this.need(4);
    const d = this.data;
    const p = this.pos;
    this.pos = p + 4;
    return d[p]! | (d[p + 1]! << 8) | (d[p + 2]! << 16) | (d[p + 3]! << 24);
  }

  /** 8-byte length: anything past what is left is a truncation, whatever its size. */
  private u64Length(): number {
    const lo = this.u32();
    const hi = this.u32();
    if (hi >= 0x200000) throw this.fail("TRUNCATED", "declared length exceeds the stream");
    return hi * TWO32 + lo;
  }

  /** Reserve `n` bytes of payload; returns where they start. */
  private take(n: number): number {
    if (n < 0 || n > this.end - this.pos) {
      throw this.fail("TRUNCATED", `declared length ${n} exceeds the ${this.end - this.pos} bytes left`);
    }
    const p = this.pos;
    this.pos = p + n;
    return p;
  }

  private line(): string {
    const nl = this.data.indexOf(0x0a, this.pos);
    if (nl < 0) throw this.fail("TRUNCATED", "stream ends inside a text line");
    const s = decodeUtf8(this.data, this.pos, nl);
    this.pos = nl + 1;
    return s;
  }

  private bytes(n: number): Buffer {
    const p = this.take(n);
    const out = Buffer.allocUnsafe(n);
    const d = this.data;
    if (n <= 32) for (let i = 0; i < n; i++) out[i] = d[p + i]!;
    else out.set(d.subarray(p, p + n));
    return out;
  }

  private str(n: number): string {
    const p = this.take(n);
    return decodeUtf8(this.data, p, p + n);
  }

  private float(): number {
    this.need(8);
    const d = this.data;
    const p = this.pos;
    this.pos = p + 8;
    if (LITTLE_ENDIAN) for (let i = 0; i < 8; i++) f64Bytes[i] = d[p + 7 - i]!;
    else for (let i = 0; i < 8; i++) f64Bytes[i] = d[p + i]!;
    return f64[0]!;
  }

  /** Little-endian two's complement int of n bytes: number when safe, else bigint. */
  private long(n: number): number | bigint {
    if (n > this.o.maxIntBytes) throw this.fail("LIMIT_EXCEEDED", `int of ${n} bytes exceeds maxIntBytes ${this.o.maxIntBytes}`);
    const p = this.take(n);
    const d = this.data;
    if (n === 0) return 0;
    if (n <= 6) {
      let v = 0;
      for (let i = n - 1; i >= 0; i--) v = v * 256 + d[p + i]!;
      if (d[p + n - 1]! >= 0x80) v -= 2 ** (8 * n);
      return v;
    }
    let hex = "";
    for (let i = n - 1; i >= 0; i--) hex += (d[p + i]! < 16 ? "0" : "") + d[p + i]!.toString(16);
    let v = BigInt(`0x${hex}`);
    if (d[p + n - 1]! >= 0x80) v -= 1n << BigInt(8 * n);
    return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
  }

  private memoPut(index: number, v: unknown): void {
    if (index >= this.o.maxMemo) throw this.fail("LIMIT_EXCEEDED", `memo index ${index} exceeds maxMemo ${this.o.maxMemo}`);
    this.memo[index] = v;
  }

  private memoGet(index: number): unknown {
    let v = this.memo[index];
    if (v === undefined) throw this.fail("MALFORMED", `memo key ${index} not found`);
    if (typeof v === "object" && v !== null) {
      const fwd = this.forward?.get(v);
      if (fwd !== undefined) v = fwd;
      else if (!this.o.mapDicts && isDictObject(v)) this.markEscaped(v);
    }
    return v;
  }

  private markEscaped(v: object): void {
    this.escaped ??= new Set();
    this.escaped.add(v);
  }

  private tuple(items: unknown[]): unknown[] {
    this.container();
    return this.o.markTuples ? asTuple(items) : items;
  }

  private global(module: unknown, name: unknown): PyGlobal {
    if (typeof module !== "string" || typeof name !== "string") {
      throw this.fail("MALFORMED", "STACK_GLOBAL needs two str");
    }
    return this.o.resolveGlobal(module, name);
  }

  /** A value an allow-listed global produced; BUILD is allowed on it later. */
  private remember(g: PyGlobal, v: unknown): unknown {
    if ((typeof v === "object" && v !== null) || typeof v === "function") {
      this.made ??= new Map();
      this.made.set(v, g);
    }
    return v;
  }

  private call(callable: unknown, args: unknown): unknown {
    if (!(callable instanceof PyGlobal)) throw this.fail("MALFORMED", "REDUCE on a value that is not a global");
    if (!Array.isArray(args)) throw this.fail("MALFORMED", "REDUCE arguments are not a tuple");
    const fn = callable.handler?.call;
    if (fn === undefined) throw forbiddenGlobal(callable.module, callable.name, "is allowed but not callable (REDUCE)");
    return this.remember(callable, this.guard(callable, () => fn.call(callable.handler, args)));
  }

  private create(cls: unknown, args: unknown, kwargs: unknown): unknown {
    if (!(cls instanceof PyGlobal)) throw this.fail("MALFORMED", "NEWOBJ on a value that is not a global");
    if (!Array.isArray(args)) throw this.fail("MALFORMED", "NEWOBJ arguments are not a tuple");
    if (kwargs !== undefined && !isDictObject(kwargs)) throw this.fail("MALFORMED", "NEWOBJ_EX kwargs are not a str dict");
    const fn = cls.handler?.create;
    if (fn === undefined) throw forbiddenGlobal(cls.module, cls.name, "is allowed but not constructible (NEWOBJ)");
    return this.remember(cls, this.guard(cls, () => fn.call(cls.handler, args, kwargs as Record<string, unknown> | undefined)));
  }

  private build(obj: unknown, state: unknown): void {
    const g = typeof obj === "object" && obj !== null ? this.made?.get(obj) : undefined;
    if (g === undefined) throw this.fail("MALFORMED", "BUILD on a value no allow-listed global created");
    const fn = g.handler?.build;
    if (fn === undefined) throw forbiddenGlobal(g.module, g.name, "is allowed but takes no state (BUILD)");
    this.guard(g, () => fn.call(g.handler, obj, state));
  }

  /** A handler that throws anything but a PickleError still yields a typed error. */
  private guard<T>(g: PyGlobal, run: () => T): T {
    try {
      return run();
    } catch (e) {
      if (e instanceof PickleError) throw e;
      throw new PickleError("MALFORMED", `${g.module}.${g.name}: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
        offset: this.op,
      });
    }
  }

  /**
   * SETITEM(S): str keys go on a null-prototype object; the first other key turns the
   * dict into a Map. Identity must survive: if the object was already handed out via
   * the memo, the Map could not replace it everywhere, so that rare shape is refused.
   */
  private setItems(dictIndex: number, from: number): void {
    const stack = this.stack;
    const d = stack[dictIndex];
    if (d instanceof Map) {
      for (let i = from; i < stack.length; i += 2) d.set(stack[i], stack[i + 1]);
      return;
    }
    if (!isDictObject(d)) throw this.fail("MALFORMED", "SETITEMS target is not a dict");
    const mapDicts = this.o.mapDicts;
    for (let i = from; i < stack.length; i += 2) {
      const k = stack[i];
      if (typeof k === "string" && !mapDicts) {
        d[k] = stack[i + 1];
        continue;
      }
      if (this.escaped?.has(d)) {
        throw this.fail("UNSUPPORTED", "dict with non-str keys referenced before it was complete; use dicts: \"map\"");
      }
      const m = new Map<unknown, unknown>();
      for (const key of Object.keys(d)) m.set(key, d[key]);
      this.forward ??= new Map();
      this.forward.set(d, m);
      stack[dictIndex] = m;
      for (let j = i; j < stack.length; j += 2) m.set(stack[j], stack[j + 1]);
      return;
    }
  }

  private newDict(): Dict | Map<unknown, unknown> {
    this.container();
    return this.o.mapDicts ? new Map() : (Object.create(null) as Dict);
  }

  run(): unknown {
    const data = this.data;
    const stack = this.stack;
    const marks = this.marks;
    const o = this.o;
    for (;;) {
      if (this.pos >= this.end) {
        this.op = this.pos;
        throw this.fail("TRUNCATED", "stream ends before STOP");
      }
      this.op = this.pos;
      const op = data[this.pos++]!;
      switch (op) {
        case PROTO: {
          const v = this.u8();
          if (v > 5) throw this.fail("UNSUPPORTED", `pickle protocol ${v}`);
          break;
        }
        case FRAME: {
          // The whole stream is in memory: a frame only has to fit in it.
          const n = this.u64Length();
          if (n > this.end - this.pos) throw this.fail("TRUNCATED", `frame of ${n} bytes exceeds the stream`);
          break;
        }
        case STOP: {
          if (marks.length !== 0 || stack.length !== 1) {
            throw this.fail("MALFORMED", `STOP with ${stack.length} values and ${marks.length} open MARKs`);
          }
          return stack[0];
        }
        case MARK:
          if (marks.length >= o.maxDepth) throw this.fail("LIMIT_EXCEEDED", `MARK nesting exceeds maxDepth ${o.maxDepth}`);
          marks.push(stack.length);
          this.base = stack.length;
          break;
        case POP:
          if (stack.length > this.base) stack.pop();
          else stack.length = this.popMark();
          break;
        case POP_MARK:
          stack.length = this.popMark();
          break;
        case DUP: {
          const v = this.top();
          if (isDictObject(v)) this.markEscaped(v);
          this.push(v);
          break;
        }
        case NONE:
          this.push(null);
          break;
        case NEWTRUE:
          this.push(true);
          break;
        case NEWFALSE:
          this.push(false);
          break;
        case BININT:
          this.push(this.i32());
          break;
        case BININT1:
          this.push(this.u8());
          break;
        case BININT2: {
          this.need(2);
          const p = this.pos;
          this.pos = p + 2;
          this.push(data[p]! | (data[p + 1]! << 8));
          break;
        }
        case LONG1:
          this.push(this.long(this.u8()));
          break;
        case LONG4: {
          const n = this.i32();
          if (n < 0) throw this.fail("MALFORMED", "LONG4 with negative length");
          this.push(this.long(n));
          break;
        }
        case BINFLOAT:
          this.push(this.float());
          break;
        case FLOAT: {
          const s = this.line().trim();
          const v = Number(s);
          if (s === "" || (Number.isNaN(v) && !/^[-+]?nan$/i.test(s))) throw this.fail("MALFORMED", "bad FLOAT text");
          this.push(v);
          break;
        }
        case INT: {
          const s = this.line().trim();
          if (s === "01") this.push(true);
          else if (s === "00") this.push(false);
          else this.push(this.textInt(s));
          break;
        }
        case LONG:
          this.push(this.textInt(this.line().trim().replace(/L$/, "")));
          break;
        case SHORT_BINUNICODE:
          this.push(this.str(this.u8()));
          break;
        case BINUNICODE:
          this.push(this.str(this.u32()));
          break;
        case BINUNICODE8:
          this.push(this.str(this.u64Length()));
          break;
        case UNICODE:
          this.push(rawUnicodeEscape(this.line()));
          break;
        case SHORT_BINBYTES:
          this.push(this.bytes(this.u8()));
          break;
        case BINBYTES:
          this.push(this.bytes(this.u32()));
          break;
        case BINBYTES8:
        case BYTEARRAY8:
          this.push(this.bytes(this.u64Length()));
          break;
        case SHORT_BINSTRING: {
          // Python 2 str: CPython 3 decodes it as text too (encoding="ASCII" by default).
          const p = this.take(this.u8());
          this.push(Buffer.from(data.buffer, data.byteOffset + p, this.pos - p).toString("latin1"));
          break;
        }
        case BINSTRING: {
          const n = this.i32();
          if (n < 0) throw this.fail("MALFORMED", "BINSTRING with negative length");
          const p = this.take(n);
          this.push(Buffer.from(data.buffer, data.byteOffset + p, n).toString("latin1"));
          break;
        }
        case EMPTY_LIST:
          this.container();
          this.push([]);
          break;
        case EMPTY_TUPLE:
          this.push(this.tuple([]));
          break;
        case EMPTY_DICT:
          this.push(this.newDict());
          break;
        case EMPTY_SET:
          this.container();
          this.push(new Set());
          break;
        case TUPLE1: {
          const a = this.pop();
          this.push(this.tuple([a]));
          break;
        }
        case TUPLE2: {
          const b = this.pop();
          const a = this.pop();
          this.push(this.tuple([a, b]));
          break;
        }
        case TUPLE3: {
          const c = this.pop();
          const b = this.pop();
          const a = this.pop();
          this.push(this.tuple([a, b, c]));
          break;
        }
        case TUPLE: {
          const m = this.popMark();
          const items = stack.slice(m);
          stack.length = m;
          this.push(this.tuple(items));
          break;
        }
        case LIST: {
          const m = this.popMark();
          this.container();
          const items = stack.slice(m);
          stack.length = m;
          this.push(items);
          break;
        }
        case FROZENSET: {
          const m = this.popMark();
          this.container();
          const s = new Set(stack.slice(m));
          stack.length = m;
          this.push(s);
          break;
        }
        case DICT: {
          const m = this.popMark();
          if ((stack.length - m) % 2 !== 0) throw this.fail("MALFORMED", "DICT with an odd number of items");
          // The new dict goes below its pairs so SETITEMS logic can fill it.
          stack.splice(m, 0, this.newDict());
          this.setItems(m, m + 1);
          const result = stack[m];
          stack.length = m;
          this.push(result);
          break;
        }
        case APPEND: {
          const v = this.pop();
          const list = this.top();
          if (!Array.isArray(list)) throw this.fail("MALFORMED", "APPEND target is not a list");
          list.push(v);
          break;
        }
        case APPENDS: {
          const m = this.popMark();
          if (m <= this.base) throw this.fail("MALFORMED", "APPENDS without a list");
          const list = stack[m - 1];
          if (!Array.isArray(list)) throw this.fail("MALFORMED", "APPENDS target is not a list");
          for (let i = m; i < stack.length; i++) list.push(stack[i]);
          stack.length = m;
          break;
        }
        case ADDITEMS: {
          const m = this.popMark();
          if (m <= this.base) throw this.fail("MALFORMED", "ADDITEMS without a set");
          const set = stack[m - 1];
          if (!(set instanceof Set)) throw this.fail("MALFORMED", "ADDITEMS target is not a set");
          for (let i = m; i < stack.length; i++) set.add(stack[i]);
          stack.length = m;
          break;
        }
        case SETITEM: {
          if (stack.length - this.base < 3) throw this.fail("MALFORMED", "unpickling stack underflow");
          const at = stack.length - 2;
          this.setItems(at - 1, at);
          stack.length = at;
          break;
        }
        case SETITEMS: {
          const m = this.popMark();
          if (m <= this.base) throw this.fail("MALFORMED", "SETITEMS without a dict");
          if ((stack.length - m) % 2 !== 0) throw this.fail("MALFORMED", "SETITEMS with an odd number of items");
          this.setItems(m - 1, m);
          stack.length = m;
          break;
        }
        case MEMOIZE:
          this.memoPut(this.memo.length, this.top());
          break;
        case BINPUT:
          this.memoPut(this.u8(), this.top());
          break;
        case LONG_BINPUT:
          this.memoPut(this.u32(), this.top());
          break;
        case PUT:
          this.memoPut(this.textIndex(), this.top());
          break;
        case BINGET:
          this.push(this.memoGet(this.u8()));
          break;
        case LONG_BINGET:
          this.push(this.memoGet(this.u32()));
          break;
        case GET:
          this.push(this.memoGet(this.textIndex()));
          break;
        case GLOBAL: {
          const module = this.line();
          const name = this.line();
          this.push(this.global(module, name));
          break;
        }
        case STACK_GLOBAL: {
          const name = this.pop();
          const module = this.pop();
          this.push(this.global(module, name));
          break;
        }
        case REDUCE: {
          const args = this.pop();
          const callable = this.pop();
          this.push(this.call(callable, args));
          break;
        }
        case NEWOBJ: {
          const args = this.pop();
          const cls = this.pop();
          this.push(this.create(cls, args, undefined));
          break;
        }
        case NEWOBJ_EX: {
          const kwargs = this.pop();
          const args = this.pop();
          const cls = this.pop();
          this.push(this.create(cls, args, kwargs));
          break;
        }
        case BUILD: {
          const state = this.pop();
          this.build(this.top(), state);
          break;
        }
        case INST: {
          const g = this.global(this.line(), this.line());
          const m = this.popMark();
          const args = stack.slice(m);
          stack.length = m;
          this.push(this.call(g, args));
          break;
        }
        case OBJ: {
          const m = this.popMark();
          if (stack.length === m) throw this.fail("MALFORMED", "OBJ without a class");
          const cls = stack[m];
          const args = stack.slice(m + 1);
          stack.length = m;
          this.push(this.call(cls, args));
          break;
        }
        case READONLY_BUFFER:
          this.top();
          break;
        case STRING:
          throw this.fail("UNSUPPORTED", "protocol 0 STRING opcode");
        case PERSID:
        case BINPERSID:
          throw this.fail("UNSUPPORTED", "persistent ids");
        case EXT1:
        case EXT2:
        case EXT4:
          throw this.fail("UNSUPPORTED", "copyreg extension codes");
        case NEXT_BUFFER:
          throw this.fail("UNSUPPORTED", "out-of-band buffers");
        default:
          throw this.fail("BAD_OPCODE", `unknown opcode 0x${op.toString(16).padStart(2, "0")}`);
      }
    }
  }

  private textInt(s: string): number | bigint {
    if (!/^[-+]?\d+$/.test(s) || s.length > this.o.maxIntBytes * 3) throw this.fail("MALFORMED", "bad INT/LONG text");
    const v = BigInt(s);
    return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
  }

  private textIndex(): number {
    const s = this.line();
    if (!/^\d{1,10}$/.test(s)) throw this.fail("MALFORMED", "bad memo index text");
    return Number(s);
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
