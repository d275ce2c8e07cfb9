#!/usr/bin/env python3
"""Reference worker of the trading system's services, in Python (pyzmq + pickle).

It shows, in the Python system's own terms, what the gateway expects of a
service: an RFC 7 (MDP/0.1) worker per service, request body [requestId,
pickle([method, args, kwargs])], reply body [requestId, pickle([True, result])]
or [requestId, pickle([False, "<CODE>: message"])]. Small canned data, at least
one method of each of the four services. Its args and results are checked
against python-scripts/contracts.schema.json (generated from @desk/contracts)
when the jsonschema package is importable, so a shape the gateway would refuse
is caught here first.

Usage: reference_worker.py ENDPOINT SERVICE[=ENDPOINT] [SERVICE[=ENDPOINT] ...]
       [--heartbeat MS] [--liveness N] [--reconnect MS] [--schema PATH]
SERVICE is auth_service, account_service, algorithm_service or instruction_service;
SERVICE=ENDPOINT connects that service elsewhere (under CURVE our broker takes each
service's workers on its own endpoint). CURVE keys come from the environment
(ZMQ_CURVE_SERVER_KEY, ZMQ_CURVE_SECRET_KEY..., see mdp_worker_loop.py).
Prints "ready <validation>" once READY is sent for every service, where
<validation> is "jsonschema" or "no-jsonschema". A repeated requestId (a retried
write) is answered from a reply cache of the last 10,000 replies, never executed twice.
"""
import argparse
import json
import os
import pickle
import sys
from datetime import datetime, timezone

from mdp_worker_loop import ReplyCache, curve_or_exit, serve


class ServiceError(Exception):
    """Raised by a method to answer [False, "<CODE>: message"]."""

    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def now():
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------- canned data

USERS = {
    "py-admin": {"password": "admin123", "tokenVersion": 0,
                 "user": {"id": "py-admin", "username": "admin", "displayName": "Python Admin", "role": "admin", "active": True}},
}
PERMISSIONS = ["account:read", "market:read", "admin"]
ACCOUNTS = {
    "account1": {"id": "account1", "name": "Alpha Vol Fund", "broker": "CITIC Securities", "enabled": True,
                 "balance": 10_250_000.0, "available": 9_600_000.0, "margin": 650_000.0, "dailyPnl": 12_345.6, "totalPnl": 250_000.0},
}
POSITIONS = {
    "account1": [
        {"accountId": "account1", "code": "14120120", "name": "500ETF购12月6000", "underlying": "510500", "right": "call",
         "strike": 6.0, "expiry": "2026-12-23", "multiplier": 10000, "quantity": -40, "avgPrice": 0.1210, "lastPrice": 0.1180,
         "pnl": 1200.0, "greeks": {"delta": -118000.0, "gamma": -150000.0, "vega": -2700.0, "theta": 1400.0}},
    ],
}
ALGORITHMS = {
    "algo-py-1": {"id": "algo-py-1", "name": "TWAP sell 500ETF calls", "kind": "TWAP", "status": "running", "progress": 0.25,
                  "accountId": "account1", "parameters": {"underlying": "510500", "side": "sell", "durationMinutes": 60},
                  "targetQuantity": 400, "filledQuantity": 100, "createdAt": "2026-01-05T01:30:00Z", "updatedAt": "2026-01-05T01:45:00Z"},
}
EXECUTIONS = {
    "exec-py-1": {"id": "exec-py-1", "status": "completed", "dryRun": False, "createdAt": "2026-01-05T02:00:00Z",
                  "updatedAt": "2026-01-05T02:00:03Z", "progress": 1.0, "error": None,
                  "legs": [{"legId": "exec-py-1-leg1", "accountId": "account1", "code": "14120120", "name": "500ETF购12月6000",
                            "side": "sell", "right": "call", "strike": 6.0, "expiry": "2026-12-23", "targetQuantity": 10,
                            "filledQuantity": 10, "avgPrice": 0.1205, "status": "filled"}],
                  "fills": [{"accountId": "account1", "legs": 1, "targetQuantity": 10, "filledQuantity": 10, "premium": 12050.0}]},
}


def find(table, key, what):
    if key not in table:
        raise ServiceError("NOT_FOUND", f"no {what} {key}")
    return table[key]


def authenticate(username, password):
    for u in USERS.values():
        if u["user"]["username"] == username and u["password"] == password:
            return {"user": u["user"], "permissions": PERMISSIONS, "tokenVersion": u["tokenVersion"]}
    raise ServiceError("UNAUTHENTICATED", "invalid username or password")


def get_user_permissions(user_id):
    u = find(USERS, user_id, "user")
    # tokenVersion: the gateway refuses tokens issued under an older one (see change_password).
    return {"userId": user_id, "role": u["user"]["role"], "permissions": PERMISSIONS,
            "accounts": list(ACCOUNTS), "allAccounts": True, "tokenVersion": u["tokenVersion"]}


def change_password(user_id, old_password, new_password):
    u = find(USERS, user_id, "user")
    if u["password"] != old_password:
        raise ServiceError("UNAUTHENTICATED", "the old password is wrong")
    if len(new_password) < 6 or new_password == old_password:
        raise ServiceError("INVALID_ARGUMENT", "the new password must have 6 characters and differ from the old one")
    u["password"] = new_password
    # Every token issued before this moment stops working, at every gateway replica.
    u["tokenVersion"] += 1
    return {"changed": True}


def verify_user(user_id):
    u = USERS.get(user_id)
    return {"userId": user_id, "exists": u is not None, "active": bool(u and u["user"]["active"])}


METHODS = {
    "auth_service": {
        "authenticate": authenticate,
        "verify_user": verify_user,
        "get_user_permissions": get_user_permissions,
        "change_password": change_password,
    },
    "account_service": {
        "get_accounts": lambda: list(ACCOUNTS.values()),
        "get_account": lambda account_id: find(ACCOUNTS, account_id, "account"),
        "get_positions": lambda account_id: POSITIONS.get(find(ACCOUNTS, account_id, "account")["id"], []),
    },
    "algorithm_service": {
        "get_algorithms": lambda: list(ALGORITHMS.values()),
        "get_algorithm": lambda algorithm_id: find(ALGORITHMS, algorithm_id, "algorithm"),
    },
    "instruction_service": {
        "get_execution_status": lambda execution_id: find(EXECUTIONS, execution_id, "execution"),
    },
}


# ---------------------------------------------------------------- contracts

def load_validators(path):
    """name -> validate(instance) using the generated JSON Schema; None without jsonschema."""
    try:
        from jsonschema import Draft202012Validator
    except ImportError:
        return None
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    cache = {}

    def validate(name, instance):
        if name not in doc["$defs"]:
            return None
        v = cache.get(name)
        if v is None:
            v = cache[name] = Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": doc["$defs"]})
        err = next(iter(sorted(v.iter_errors(as_json(instance)), key=lambda e: list(e.path))), None)
        if err is None:
            return None
        where = ".".join(str(p) for p in err.path) or "(root)"
        return f"{where}: {err.message}"

    return validate


def as_json(value):
    """jsonschema's "array" is list: turn tuples (pickle's args) into lists first."""
    if isinstance(value, (list, tuple)):
        return [as_json(v) for v in value]
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    return value


def handle(service, body, validate):
    """pickle([method, args, kwargs]) -> pickle([True, result]) | pickle([False, "<CODE>: msg"])."""
    try:
        try:
            # A reference worker may trust its broker; a production one should restrict
            # globals (pickle.Unpickler.find_class) exactly as the gateway's decoder does.
            request = pickle.loads(body)
        except Exception as e:  # noqa: BLE001 - any malformed input is the caller's error
            raise ServiceError("INVALID_ARGUMENT", f"cannot decode request: {e}")
        if not isinstance(request, (list, tuple)) or len(request) not in (2, 3) or not isinstance(request[0], str):
            raise ServiceError("INVALID_ARGUMENT", "expected [method, args, kwargs]")
        method, args = request[0], request[1]
        kwargs = request[2] if len(request) == 3 else {}
        ctx = kwargs.get("_ctx", {}) if isinstance(kwargs, dict) else {}
        # Args first: a call the contracts refuse (a repeated account, an oversized list) is
        # INVALID_ARGUMENT whether or not this worker implements the method.
        if validate:
            problem = validate(f"{service}.{method}.args", args)
            if problem:
                raise ServiceError("INVALID_ARGUMENT", f"{method}: args.{problem}")
        fn = METHODS[service].get(method)
        if fn is None:
            raise ServiceError("NOT_FOUND", f"{service} has no method \"{method}\" in the reference worker")
        print(f"{service}.{method} by {ctx.get('userId', 'anonymous')}", file=sys.stderr, flush=True)
        result = fn(*args)
        if validate:
            problem = validate(f"{service}.{method}.result", result)
            if problem:
                raise ServiceError("INTERNAL", f"reference worker built a bad result: result.{problem}")
        return pickle.dumps([True, result], protocol=4)
    except ServiceError as e:
        return pickle.dumps([False, f"{e.code}: {e.message}"], protocol=4)
    except Exception as e:  # noqa: BLE001 - never die on a request
        return pickle.dumps([False, f"INTERNAL: {type(e).__name__}: {e}"], protocol=4)


# ---------------------------------------------------------------- RFC 7 worker

def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("endpoint")
    ap.add_argument("services", nargs="+", metavar="SERVICE[=ENDPOINT]")
    ap.add_argument("--heartbeat", type=int, default=2500)
    ap.add_argument("--liveness", type=int, default=3)
    ap.add_argument("--reconnect", type=int, default=2500)
    ap.add_argument("--schema", default=os.path.join(here, "contracts.schema.json"))
    a = ap.parse_args()
    endpoints = dict(arg.split("=", 1) if "=" in arg else (arg, a.endpoint) for arg in a.services)
    unknown = sorted(set(endpoints) - set(METHODS))
    if unknown:
        ap.error(f"unknown service {unknown[0]} (choose from {', '.join(sorted(METHODS))})")
    validate = load_validators(a.schema)

    return serve(
        a.endpoint,
        {service: (lambda payload, _rid, service=service: handle(service, payload, validate)) for service in endpoints},
        a.heartbeat,
        a.liveness,
        a.reconnect,
        on_ready=lambda: print("ready " + ("jsonschema" if validate else "no-jsonschema"), flush=True),
        # Writes are deduplicated by requestId, as the gateway's ZMQ_DEDUPE_WRITES setting assumes.
        reply_cache=ReplyCache(),
        curve=curve_or_exit(),
        endpoints=endpoints,
    )

if __name__ == "__main__":
    sys.exit(main())
