#!/usr/bin/env python3
"""A plain RFC 7 (MDP/0.1) worker, as the zguide's worker API and vn.py-style servers are:
no reply cache and no HEARTBEAT while its handler runs. The tests use it to prove that
our client and broker never make the backend execute a write twice.

Usage: plain_worker.py ENDPOINT SERVICE --log PATH [--delay MS] [--heartbeat MS]
                       [--liveness N] [--reconnect MS]

Every execution appends one line "<requestId> <pid> <epoch ms>" to PATH (O_APPEND,
written before the work starts, so a worker killed mid-request still counts it).
A payload "delay=<ms>;..." sleeps that long instead of --delay. The reply is
"<pid>:<requestId>:<payload>". Prints "ready" once READY is sent.
"""
import argparse
import os
import sys
import time

from mdp_worker_loop import curve_or_exit, serve


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("endpoint")
    ap.add_argument("service")
    ap.add_argument("--log", required=True)
    ap.add_argument("--delay", type=int, default=0)
    ap.add_argument("--heartbeat", type=int, default=2500)
    ap.add_argument("--liveness", type=int, default=3)
    ap.add_argument("--reconnect", type=int, default=2500)
    a = ap.parse_args()
    log = os.open(a.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    pid = str(os.getpid()).encode()

    def work(payload: bytes, request_id) -> bytes:
        rid = request_id or b"-"
        os.write(log, b"%s %s %d\n" % (rid, pid, int(time.time() * 1000)))
        delay = a.delay
        if payload.startswith(b"delay="):
            delay = int(payload[6:].split(b";", 1)[0])
        if delay:
            time.sleep(delay / 1000)  # silent: no heartbeat while busy
        return b":".join([pid, rid, payload])

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
