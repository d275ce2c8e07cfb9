"""CPython's side of @desk/pickle's round-trip tests.

`random_value(rnd)` builds the values the property test sends through
CPython -> loads -> dumps -> CPython; `comparable(v)` maps a value to a form in which
two values are equal exactly when @desk/pickle promises they survive the trip, i.e.
with the README's documented conversions applied and nothing else:

- datetime: the UTC instant, truncated to milliseconds (naive read as UTC; a Date comes
  back as an aware datetime);
- date, time, Decimal: their strings ("YYYY-MM-DD", "HH:MM:SS.ffffff", str(d));
  timedelta: total_seconds();
- a float with an integral value within +-(2**53-1): the int (a JS number has no
  float/int distinction); bytearray: bytes;
- str: as UTF-16 (a high surrogate followed by a low one is one character in JS);
- a dict whose keys are all str and one of them integer-like ("1"): key order is not
  kept (JS objects put such keys first); every other dict keeps its order;
- identity: lists, dicts and sets shared or recursive must be shared the same way.
"""
import datetime
import decimal
import math
import re
import zoneinfo

UTC = datetime.timezone.utc
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)
MS = datetime.timedelta(milliseconds=1)
SAFE = 2**53 - 1
INDEX_KEY = re.compile(r"(0|[1-9][0-9]*)\Z")
ZONES = ["Asia/Shanghai", "America/New_York", "Europe/London", "Australia/Sydney", "UTC"]


def js_index_key(k):
    return INDEX_KEY.match(k) is not None and int(k) < 2**32 - 1


def comparable(v, ids=None):
    if ids is None:
        ids = {}
    t = type(v)
    if v is None or t is bool:
        return v
    if t is int:
        return ("int", v)
    if t is float:
        if v != v:
            return ("float", "nan")
        if v.is_integer() and abs(v) <= SAFE and not (v == 0 and math.copysign(1, v) < 0):
            return ("int", int(v))  # -0.0 stays a float
        return ("float", v.hex())
    if t is str:
        return ("str", v.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass"))
    if t in (bytes, bytearray):
        return ("bytes", bytes(v))
    if t is datetime.datetime:
        aware = v if v.utcoffset() is not None else v.replace(tzinfo=UTC)
        return ("datetime", (aware - EPOCH) // MS)
    if t is datetime.date:
        return ("str", v.isoformat())
    if t is datetime.time:
        return ("str", "%02d:%02d:%02d.%06d" % (v.hour, v.minute, v.second, v.microsecond))
    if t is datetime.timedelta:
        return comparable(v.total_seconds())
    if t is decimal.Decimal:
        return ("str", str(v))
    if t is zoneinfo.ZoneInfo:
        return ("zone", v.key)
    if t is datetime.timezone:
        return ("timezone", v.utcoffset(None), v.tzname(None))
    if t is tuple:
        return ("tuple", [comparable(x, ids) for x in v])
    if t is frozenset:
        return ("frozenset", sorted(repr(comparable(x, ids)) for x in v))
    if id(v) in ids:
        return ("ref", ids[id(v)])
    ids[id(v)] = len(ids)
    if t is list:
        return ("list", ids[id(v)], [comparable(x, ids) for x in v])
    if t is set:
        return ("set", ids[id(v)], sorted(repr(comparable(x, ids)) for x in v))
    if t is dict:
        items = [(comparable(k, ids), x) for k, x in v.items()]  # keys are hashable: no ids taken
        if all(type(k) is str for k in v) and any(js_index_key(k) for k in v):
            items.sort(key=lambda kx: kx[0])
        return ("dict", ids[id(v)], [(k, comparable(x, ids)) for k, x in items])
    raise TypeError("no comparable form for %s" % t.__name__)


# ------------------------------------------------------------------------ generator
def text(rnd):
    alphabet = ["a", "Z", "é", "中", "\U0001f600", "\U00010000", "\ufeff", "\ud800", "\udfff", "\\", "\n",
                "\r", "\0", "\x1a", "$", "_", "1", " ", "\xff", "\u0100", "'", '"']
    s = "".join(rnd.choice(alphabet) for _ in range(rnd.randrange(0, 9)))
    return "\ufeff" + s if rnd.random() < 0.15 else s


def key_text(rnd):
    return rnd.choice([text(rnd), str(rnd.randrange(0, 300)), "0", "01", "-1", "4294967295", "__proto__", "constructor", "$bytes"])


def aware_datetime(rnd):
    kind = rnd.randrange(4)
    if kind == 0:
        tz = zoneinfo.ZoneInfo(rnd.choice(ZONES))
    elif kind == 1:
        tz = UTC
    elif kind == 2:
        tz = datetime.timezone(datetime.timedelta(minutes=rnd.randrange(-23 * 60, 23 * 60)))
    else:
        offset = datetime.timedelta(hours=rnd.randrange(-12, 14), seconds=rnd.randrange(60), microseconds=rnd.randrange(10**6))
        tz = datetime.timezone(offset, "X") if rnd.random() < 0.5 else datetime.timezone(offset)
    year = rnd.choice([1, 2, 50, 99, 100, 1000, 1900, 1970, 2024, 2038, 2500, 9998, 9999, rnd.randrange(1, 10000)])
    month = rnd.randrange(1, 13)
    if year == 1 and rnd.random() < 0.5:
        month = 1
    if year == 9999 and rnd.random() < 0.5:
        month = 12
    return datetime.datetime(year, month, rnd.randrange(1, 29) if rnd.random() < 0.7 else rnd.choice([1, 28, 31 if month in (1, 3, 5, 7, 8, 10, 12) else 28]),
                             rnd.randrange(24), rnd.randrange(60), rnd.randrange(60), rnd.randrange(10**6),
                             tzinfo=tz, fold=rnd.randrange(2))


def scalar(rnd):
    k = rnd.randrange(19)
    if k == 0:
        return None
    if k == 1:
        return rnd.random() < 0.5
    if k == 2:
        return rnd.randrange(-2**31, 2**31)
    if k == 3:
        return rnd.choice([-1, 1]) * rnd.randrange(0, 2**rnd.randrange(1, 300))
    if k == 4:
        return rnd.choice([rnd.uniform(-1e9, 1e9), float("inf"), float("-inf"), float("nan"), -0.0, 0.0, 1e300,
                           5e-324, 2.0**53, 2.0**53 - 1, 3.0, -7.0, 0.1, 1e16])
    if k in (5, 6):
        return text(rnd)
    if k == 7:
        return bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 20)))
    if k == 8:
        return bytearray(rnd.randrange(256) for _ in range(rnd.randrange(0, 5)))
    if k == 9:
        return datetime.datetime(rnd.randrange(1, 10000), rnd.randrange(1, 13), rnd.randrange(1, 29), rnd.randrange(24),
                                 rnd.randrange(60), rnd.randrange(60), rnd.randrange(10**6))
    if k in (10, 11):
        return aware_datetime(rnd)
    if k == 12:
        return decimal.Decimal(rnd.choice(["1.23", "-0", "1E+3", "NaN", "-Infinity", "123456789.000000001", "0.1000"]))
    if k == 13:
        return datetime.date(rnd.randrange(1, 10000), rnd.randrange(1, 13), rnd.randrange(1, 29))
    if k == 14:
        return datetime.time(rnd.randrange(24), rnd.randrange(60), rnd.randrange(60), rnd.randrange(10**6))
    if k == 15:
        return datetime.timedelta(days=rnd.randrange(-100000, 100000), seconds=rnd.randrange(86400),
                                  microseconds=rnd.randrange(10**6))
    if k == 16:
        return rnd.choice([zoneinfo.ZoneInfo(rnd.choice(ZONES)), UTC, datetime.timezone(datetime.timedelta(hours=-5), "EST")])
    if k == 17:
        return rnd.choice([-(2**53), 2**53, SAFE, -SAFE, 2**63, -(2**63) - 1, 255, 256, 65535, 65536])
    return rnd.randrange(0, 2**53)


def hashable(rnd, depth=0):
    k = rnd.randrange(12) if depth < 3 else rnd.randrange(6)
    if k == 0:
        return rnd.randrange(-1000, 1000)
    if k == 1:
        return key_text(rnd)
    if k == 2:
        return rnd.choice([1.5, -2.25, 3.0, 1e300, None, True, False, b"k", 2**70, -(2**64)])
    if k == 3:
        return datetime.datetime(2024, rnd.randrange(1, 13), 1, tzinfo=UTC)
    if k in (4, 5):
        return key_text(rnd)
    if k in (6, 7):
        return tuple(hashable(rnd, depth + 1) for _ in range(rnd.randrange(0, 5)))
    return frozenset(hashable(rnd, depth + 1) for _ in range(rnd.randrange(0, 4)))


def container(rnd, depth, pool):
    k = rnd.randrange(9)
    n = rnd.randrange(0, 6)
    if k == 0:
        v = [value(rnd, depth + 1, pool) for _ in range(n)]
    elif k == 1:
        v = tuple(value(rnd, depth + 1, pool) for _ in range(n))
    elif k == 2:
        v = {key_text(rnd): value(rnd, depth + 1, pool) for _ in range(n)}
    elif k == 3:
        # mixed keys: str (integer-like too) before and after non-str ones
        v = {}
        for _ in range(n + 1):
            v[hashable(rnd) if rnd.random() < 0.5 else key_text(rnd)] = value(rnd, depth + 1, pool)
        v[rnd.randrange(-9, 9)] = None
        if rnd.random() < 0.5:
            v[key_text(rnd)] = value(rnd, depth + 1, pool)
    elif k == 4:
        v = {hashable(rnd) for _ in range(n)}
    elif k == 5:
        v = frozenset(hashable(rnd) for _ in range(n))
    elif k == 6:
        v = {frozenset(hashable(rnd) for _ in range(rnd.randrange(0, 3))) for _ in range(n)}
    elif k == 7:
        v = {frozenset(hashable(rnd) for _ in range(rnd.randrange(0, 3))): value(rnd, depth + 1, pool) for _ in range(n)}
    else:
        v = [value(rnd, depth + 1, pool) for _ in range(n)]
    if type(v) in (list, dict, set) and rnd.random() < 0.3:
        pool.append(v)
    return v


def value(rnd, depth, pool):
    r = rnd.random()
    if depth < 4 and r < 0.45:
        return container(rnd, depth, pool)
    if pool and r < 0.55:
        return rnd.choice(pool)  # shared, or recursive when the choice is an ancestor
    return scalar(rnd)


def random_value(rnd):
    pool = []
    v = container(rnd, 0, pool) if rnd.random() < 0.8 else scalar(rnd)
    if pool and rnd.random() < 0.3:
        target = rnd.choice(pool)
        if type(target) is list:
            target.append(target)  # a list that contains itself
        elif type(target) is dict:
            target[rnd.choice(["self", 7, (1, "t")])] = target  # a dict that contains itself (str or other keys)
    return v
