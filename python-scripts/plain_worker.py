#!/usr/bin/env python3
"""A plain RFC 7 (MDP/0.1) worker, as the zguide's worker API and vn.py-style servers are:
no reply cache and no HEARTBEAT while its handler runs. The tests use it to prove that
our client and broker never make the backend execute a write twice.

Usage: plain_worker.py ENDPOINT SERVICE --log PATH [--delay MS] [--heartbeat MS]
                       [--liveness N] [--reconnect MS] [--answers JSON]

Every execution appends one line "<requestId> <pid> <epoch ms>" to PATH (O_APPEND,
written before the work starts, so a worker killed mid-request still counts it).
A payload "delay=<ms>;..." sleeps that long instead of --delay. The reply is
"<pid>:<requestId>:<payload>". Prints "ready" once READY is sent.

With --answers it speaks the gateway's payloads instead (DESIGN.md): the request is
pickle([method, args, kwargs]), the log line gets the method as a fourth field, and
the reply is pickle([True, answer]) with the answer for that method from the JSON file
({"method": answer, ...}; "{requestId}" in a string is replaced by the request's id),
or pickle([False, "NOT_FOUND: ..."]) for a method the file does not name. Its pickles
are trusted: this is a test peer behind our own broker.
"""
import argparse
import json
import os
import pickle
import sys
import time

from mdp_worker_loop import curve_or_exit, serve


def fill(value, request_id):
    """The canned answer with "{requestId}" replaced in every string."""
    if isinstance(value, str):
        return value.replace("{requestId}", request_id)
    if isinstance(value, list):
        return [fill(v, request_id) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, request_id) for k, v in value.items()}
    return value


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("endpoint")
    ap.add_argument("service")
    ap.add_argument("--log", required=True)
    ap.add_argument("--delay", type=int, default=0)
    ap.add_argument("--heartbeat", type=int, default=2500)
    ap.add_argument("--liveness", type=int, default=3)
    ap.add_argument("--reconnect", type=int, default=2500)
    ap.add_argument("--answers")
    a = ap.parse_args()
    log = os.open(a.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    pid = str(os.getpid()).encode()
    answers = None
    if a.answers:
        with open(a.answers, encoding="utf-8") as f:
            answers = json.load(f)

    def work(payload: bytes, request_id) -> bytes:
        rid = request_id or b"-"
        if answers is not None:
            return answer(payload, rid)
        os.write(log, b"%s %s %d\n" % (rid, pid, int(time.time() * 1000)))
        delay = a.delay
        if payload.startswith(b"delay="):
            delay = int(payload[6:].split(b";", 1)[0])
        if delay:
            time.sleep(delay / 1000)  # silent: no heartbeat while busy
        return b":".join([pid, rid, payload])

    def answer(payload: bytes, rid: bytes) -> bytes:
        method = pickle.loads(payload)[0]
        os.write(log, b"%s %s %d %s\n" % (rid, pid, int(time.time() * 1000), method.encode()))
        if a.delay:
            time.sleep(a.delay / 1000)  # silent: no heartbeat while busy
        if method not in answers:
            return pickle.dumps([False, f"NOT_FOUND: no canned answer for {method}"], protocol=4)
        return pickle.dumps([True, fill(answers[method], rid.decode())], protocol=4)

    return serve(
        a.endpoint,
        {a.service: work},
        a.heartbeat,
        a.liveness,
        a.reconnect,
        on_ready=lambda: print("ready", flush=True),
        curve=curve_or_exit(),
    )


if __name__ == "__main__":
    sys.exit(main())
