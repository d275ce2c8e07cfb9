#!/usr/bin/env python3
"""Reference MDP/0.1 worker (ZeroMQ RFC 7) written with pyzmq, for interop tests.

Usage: mdp_worker.py ENDPOINT SERVICE [--heartbeat MS] [--liveness N] [--reconnect MS]
                     [--mode echo|upper] [--delay MS]

Body convention (DESIGN.md): a request body is [requestId, payload]; the reply is
[requestId, result]. A plain RFC 7 body of one frame is answered with one frame.
mode "echo" returns the payload, "upper" returns b"py:" + payload.upper().
Prints "ready" on stdout once READY is sent. Heartbeats while busy too (the handler
is synchronous here, so it sends one before and after every request).
"""
import argparse
import sys
import time

from mdp_worker_loop import curve_or_exit, serve


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("endpoint")
    ap.add_argument("service")
    ap.add_argument("--heartbeat", type=int, default=2500)
    ap.add_argument("--liveness", type=int, default=3)
    ap.add_argument("--reconnect", type=int, default=2500)
    ap.add_argument("--mode", choices=["echo", "upper"], default="echo")
    ap.add_argument("--delay", type=int, default=0)
    a = ap.parse_args()

    def work(payload: bytes, _request_id) -> bytes:
        if a.delay:
            time.sleep(a.delay / 1000)
        return payload if a.mode == "echo" else b"py:" + payload.upper()

    return serve(
        a.endpoint,
        {a.service: work},
        a.heartbeat,
        a.liveness,
        a.reconnect,
        on_ready=lambda: print("ready", flush=True),
        curve=curve_or_exit(),
        heartbeat_before_work=True,
    )

if __name__ == "__main__":
    sys.exit(main())
