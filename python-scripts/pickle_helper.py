#!/usr/bin/env python3
"""Pickle helper for the gateway's `PICKLE_CODEC=python` mode and the pickle bench.

Speaks a framed protocol on stdin/stdout so one long-lived process serves many
pipelined requests (the TypeScript side is @desk/pickle's createPythonCodec):

  request  = u32 BE length N, then N bytes: u32 BE id, u8 op, body
  reply    = u32 BE length N, then N bytes: u32 BE id, u8 status (0 ok, 1 error), body
  op 'E'   body = tagged JSON (UTF-8)  -> reply body = pickle, protocol 4
  op 'D'   body = pickle               -> reply body = tagged JSON
  error    body = JSON {"code", "message", "module"?, "name"?} (codes as PickleError)

Tagged JSON carries what JSON cannot: {"$bytes": base64}, {"$tuple": [...]},
{"$set": [...]}, {"$frozenset": [...]}, {"$dict": [[k, v], ...]} (non-str or "$" keys),
{"$int": "digits"} (beyond 2**53), {"$float": "nan"|"inf"|"-inf"|"-0"|text},
{"$datetime": ISO-8601}. Decoding maps date/time to ISO strings, timedelta to seconds
and Decimal to its string, as the native codec does.

Decoding uses a restricted Unpickler: find_class only returns allow-listed data types,
and builtins.getattr only in the form CPython uses for zone-aware datetimes,
getattr(zoneinfo.ZoneInfo, '_unpickle'). Nothing else is importable.

`--once` answers a single request and exits: one process per message, the source
document's original design, kept only as the bench's baseline.
"""
import base64
import datetime
import decimal
import io
import json
import math
import pickle
import struct
import sys
import zoneinfo

SAFE_INT = 2**53 - 1


def _zoneinfo_getattr(obj, attr):
    if obj is zoneinfo.ZoneInfo and attr == "_unpickle":
        return zoneinfo.ZoneInfo._unpickle
    raise Forbidden("builtins", "getattr",
                    "builtins.getattr is only allowed as getattr(zoneinfo.ZoneInfo, '_unpickle')")


ALLOWED = {
    ("datetime", "datetime"): datetime.datetime,
    ("datetime", "date"): datetime.date,
    ("datetime", "time"): datetime.time,
    ("datetime", "timedelta"): datetime.timedelta,
    ("datetime", "timezone"): datetime.timezone,
    ("decimal", "Decimal"): decimal.Decimal,
    ("zoneinfo", "ZoneInfo"): zoneinfo.ZoneInfo,
    ("builtins", "getattr"): _zoneinfo_getattr,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "bytearray"): bytearray,
    ("builtins", "bytes"): bytes,
    ("_codecs", "encode"): lambda s, enc: s.encode("latin-1") if enc in ("latin1", "latin-1") else _bad_codec(),
}


def _bad_codec():
    raise Malformed("_codecs.encode only accepts latin-1")


class HelperError(Exception):
    code = "MALFORMED"

    def payload(self):
        return {"code": self.code, "message": str(self)}


class Malformed(HelperError):
    code = "MALFORMED"


class Unsupported(HelperError):
    code = "UNSUPPORTED"


class Forbidden(HelperError):
    code = "FORBIDDEN_GLOBAL"

    def __init__(self, module, name, message=None):
        super().__init__(message or f"global {module}.{name} is not in the allow-list")
        self.module, self.name = module, name

    def payload(self):
        return {"code": self.code, "message": str(self), "module": self.module, "name": self.name}


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        # Protocol 2 streams name builtins "__builtin__" (fix_imports maps it first).
        found = ALLOWED.get((module, name))
        if found is None:
            raise Forbidden(module, name)
        return found

    def persistent_load(self, pid):
        raise Unsupported("persistent ids are not supported")


# ---------------------------------------------------------------------------- to JSON
def to_tagged(v):
    if v is None or v is True or v is False or isinstance(v, str):
        return v
    if isinstance(v, int):
        return v if -SAFE_INT <= v <= SAFE_INT else {"$int": str(v)}
    if isinstance(v, float):
        if math.isnan(v):
            return {"$float": "nan"}
        if math.isinf(v):
            return {"$float": "inf" if v > 0 else "-inf"}
        if v == 0 and math.copysign(1, v) < 0:
            return {"$float": "-0"}
        return v
    if isinstance(v, list):
        return [to_tagged(x) for x in v]
    if isinstance(v, tuple):
        return {"$tuple": [to_tagged(x) for x in v]}
    if isinstance(v, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in v):
            return {k: to_tagged(x) for k, x in v.items()}
        return {"$dict": [[to_tagged(k), to_tagged(x)] for k, x in v.items()]}
    if isinstance(v, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(v).decode("ascii")}
    if isinstance(v, frozenset):
        return {"$frozenset": [to_tagged(x) for x in v]}
    if isinstance(v, set):
        return {"$set": [to_tagged(x) for x in v]}
    if isinstance(v, datetime.datetime):
        return {"$datetime": v.isoformat()}
    if isinstance(v, (datetime.date, datetime.time)):
        return v.isoformat()
    if isinstance(v, datetime.timedelta):
        return v.total_seconds()
    if isinstance(v, decimal.Decimal):
        return str(v)
    raise Unsupported(f"cannot represent {type(v).__name__} in JSON")


# -------------------------------------------------------------------------- from JSON
def _float(text):
    return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "-0": -0.0}.get(text) or float(text)


TAGS = {
    "$bytes": lambda v: base64.b64decode(v),
    "$tuple": lambda v: tuple(from_tagged(x) for x in v),
    "$set": lambda v: {from_tagged(x) for x in v},
    "$frozenset": lambda v: frozenset(from_tagged(x) for x in v),
    "$dict": lambda v: {from_tagged(k): from_tagged(x) for k, x in v},
    "$int": lambda v: int(v),
    "$float": lambda v: _float(v),
    "$datetime": lambda v: datetime.datetime.fromisoformat(v.replace("Z", "+00:00")),
}


def from_tagged(v):
    if isinstance(v, list):
        return [from_tagged(x) for x in v]
    if isinstance(v, dict):
        if len(v) == 1:
            (k, x), = v.items()
            tag = TAGS.get(k)
            if tag is not None:
                return tag(x)
        return {k: from_tagged(x) for k, x in v.items()}
    return v


# ---------------------------------------------------------------------------- serving
def handle(op, body):
    if op == 0x45:  # 'E'
        return pickle.dumps(from_tagged(json.loads(body)), protocol=4)
    if op == 0x44:  # 'D'
        try:
            value = RestrictedUnpickler(io.BytesIO(body)).load()
        except HelperError:
            raise
        except EOFError as e:
            raise_coded("TRUNCATED", e)
        except RecursionError as e:
            raise_coded("LIMIT_EXCEEDED", e)
        except (pickle.UnpicklingError, ValueError, TypeError, KeyError, IndexError,
                AttributeError, UnicodeDecodeError, OverflowError, MemoryError) as e:
            raise_coded("MALFORMED", e)
        return json.dumps(to_tagged(value), separators=(",", ":")).encode()
    raise Malformed(f"unknown op {op}")


def raise_coded(code, e):
    err = HelperError(f"{type(e).__name__}: {e}")
    err.code = code
    raise err from e


def read_exact(stream, n):
    data = stream.read(n)
    if len(data) < n:
        return None
    return data


MAX_FRAME = 256 * 1024 * 1024


def serve(stdin, stdout, once):
    while True:
        head = read_exact(stdin, 4)
        if head is None:
            return
        (length,) = struct.unpack(">I", head)
        if length < 5 or length > MAX_FRAME:
            sys.stderr.write(f"pickle_helper: bad frame length {length}\n")
            return
        frame = read_exact(stdin, length)
        if frame is None:
            return
        req_id, op = struct.unpack(">IB", frame[:5])
        try:
            status, out = 0, handle(op, frame[5:])
        except HelperError as e:
            status, out = 1, json.dumps(e.payload()).encode()
        except Exception as e:  # a bad request must never end the process
            status, out = 1, json.dumps({"code": "MALFORMED", "message": f"{type(e).__name__}: {e}"}).encode()
        stdout.write(struct.pack(">IIB", len(out) + 5, req_id, status) + out)
        stdout.flush()
        if once:
            return


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer, "--once" in sys.argv[1:])
