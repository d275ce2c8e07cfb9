#!/usr/bin/env python3
"""A pyzmq PUB socket of the trading system, as a CURVE server: the gateway's SUB pins
its public key and, with an allow-list, only listed subscriber keys get the stream.

Usage: curve_publisher.py ENDPOINT [--symbol CODE ...] [--interval MS]

Keys from the environment: ZMQ_CURVE_SECRET_KEY (or ZMQ_CURVE_SECRET_KEY_FILE, a ZeroMQ
secret certificate or a file holding the key) is this publisher's own; without it the
socket publishes in the clear. ZMQ_CURVE_CLIENT_KEYS (comma-separated Z85 public keys)
lists the subscribers admitted (pyzmq's ThreadAuthenticator, a ZAP handler); unset, any
CURVE client may subscribe (encrypted, but unauthenticated).

Every interval it publishes [b"market.<CODE>", pickle(tick)] for each symbol, the
two-frame form of DESIGN.md "Pub/sub", with `seq` per topic and `ts`. Prints
"ready <endpoint> <public key or ->" once bound.
"""
import argparse
import os
import pickle
import sys
import time
from datetime import datetime, timezone

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from mdp_worker_loop import CurveConfigError, read_curve_key


class AllowList:
    """ThreadAuthenticator's CURVE callback: admits the listed Z85 public keys only."""

    def __init__(self, keys):
        self.keys = set(keys)

    def callback(self, domain, key):
        return key in self.keys


def tick(symbol, seq):
    price = round(6.0 + (seq % 50) * 0.001, 4)
    return {
        "kind": "underlying",
        "symbol": symbol,
        "name": f"py {symbol}",
        "last": price,
        "bid": round(price - 0.001, 4),
        "ask": round(price + 0.001, 4),
        "volume": 1000 + seq,
        "change": 0.001,
        "seq": seq,
        "ts": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("endpoint")
    ap.add_argument("--symbol", action="append", default=None)
    ap.add_argument("--interval", type=int, default=100)
    a = ap.parse_args()
    symbols = a.symbol or ["510050"]
    try:
        secret = read_curve_key(os.environ, "ZMQ_CURVE_SECRET_KEY", "secret")
        allowed = [k.strip().encode() for k in (os.environ.get("ZMQ_CURVE_CLIENT_KEYS") or "").split(",") if k.strip()]
    except CurveConfigError as err:
        print(f"bad CURVE configuration: {err}", file=sys.stderr)
        return 2

    ctx = zmq.Context()
    auth = None
    pub = ctx.socket(zmq.PUB)
    pub.linger = 0
    public = b"-"
    if secret is not None:
        public = zmq.curve_public(secret)
        if allowed:
            auth = ThreadAuthenticator(ctx)
            auth.start()
            auth.configure_curve_callback("pub", credentials_provider=AllowList(allowed))
            pub.zap_domain = b"pub"
        pub.curve_server = True
        pub.curve_secretkey = secret
    pub.bind(a.endpoint)
    print("ready", pub.getsockopt(zmq.LAST_ENDPOINT).decode(), public.decode(), flush=True)
    seqs = {}
    try:
        while True:
            for symbol in symbols:
                topic = f"market.{symbol}"
                seqs[topic] = seqs.get(topic, 0) + 1
                pub.send_multipart([topic.encode(), pickle.dumps(tick(symbol, seqs[topic]), protocol=4)])
            time.sleep(a.interval / 1000)
    except KeyboardInterrupt:
        pass
    finally:
        pub.close(linger=0)
        if auth is not None:
            auth.stop()
        ctx.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())
