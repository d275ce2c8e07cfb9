#!/usr/bin/env python3
"""Reference MDP/0.1 client (ZeroMQ RFC 7) written with pyzmq, for interop tests.

Usage: mdp_client.py ENDPOINT SERVICE [--count N] [--timeout MS] [--prefix P] [--mmi]

Sends N requests at once on one DEALER, each ["", "MDPC01", SERVICE, requestId, payload]
with requestId "<prefix>-<i>" and payload "msg-<i>", then collects the replies and
matches them by requestId. With --mmi it first asks mmi.service about SERVICE.
Prints one JSON object: {"ok": bool, "mmi": code|null, "replies": {requestId: reply}}.
Exit status 0 when every request was answered before the timeout.
"""
import argparse
import json
import sys
import time

import zmq

C = b"MDPC01"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("endpoint")
    ap.add_argument("service")
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--timeout", type=int, default=5000)
    ap.add_argument("--prefix", default="py")
    ap.add_argument("--mmi", action="store_true")
    a = ap.parse_args()

    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(a.endpoint)
    deadline = time.monotonic() + a.timeout / 1000
    result = {"ok": False, "mmi": None, "replies": {}}

    def receive():
        left = int((deadline - time.monotonic()) * 1000)
        if left <= 0 or not sock.poll(left):
            return None
        return sock.recv_multipart()

    try:
        if a.mmi:
            sock.send_multipart([b"", C, b"mmi.service", b"mmi-1", a.service.encode()])
            msg = receive()
            if msg is None:
                print(json.dumps(result), flush=True)
                return 1
            result["mmi"] = msg[-1].decode()
        wanted = {f"{a.prefix}-{i}" for i in range(a.count)}
        for i in range(a.count):
            sock.send_multipart([b"", C, a.service.encode(), f"{a.prefix}-{i}".encode(), f"msg-{i}".encode()])
        while wanted:
            msg = receive()
            if msg is None:
                break
            if len(msg) < 5 or msg[0] != b"" or msg[1] != C:
                continue
            rid = msg[3].decode()
            if rid in wanted:
                wanted.discard(rid)
                result["replies"][rid] = msg[4].decode(errors="replace")
        result["ok"] = not wanted
    finally:
        sock.close(linger=0)
        ctx.term()
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
