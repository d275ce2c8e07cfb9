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

import zmq

W = b"MDPW01"
READY, REQUEST, REPLY, HEARTBEAT, DISCONNECT = b"\x01", b"\x02", b"\x03", b"\x04", b"\x05"


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

    def work(payload: bytes) -> bytes:
        if a.delay:
            time.sleep(a.delay / 1000)
        return payload if a.mode == "echo" else b"py:" + payload.upper()

    ctx = zmq.Context()
    poller = zmq.Poller()
    sock = None

    def connect():
        nonlocal sock
        if sock is not None:
            poller.unregister(sock)
            sock.close(linger=0)
        sock = ctx.socket(zmq.DEALER)
        sock.linger = 0
        sock.connect(a.endpoint)
        poller.register(sock, zmq.POLLIN)
        sock.send_multipart([b"", W, READY, a.service.encode()])

    connect()
    print("ready", flush=True)
    liveness = a.liveness
    next_heartbeat = time.monotonic() + a.heartbeat / 1000
    try:
        while True:
            events = dict(poller.poll(a.heartbeat))
            if sock in events:
                msg = sock.recv_multipart()
                liveness = a.liveness
                if len(msg) < 3 or msg[0] != b"" or msg[1] != W:
                    continue  # not MDP: ignore
                command = msg[2]
                if command == REQUEST and len(msg) >= 6:
                    client, body = msg[3], msg[5:]
                    sock.send_multipart([b"", W, HEARTBEAT])
                    result = work(body[-1])
                    reply = [body[0], result] if len(body) >= 2 else [result]
                    sock.send_multipart([b"", W, REPLY, client, b""] + reply)
                elif command == DISCONNECT:
                    connect()
            else:
                liveness -= 1
                if liveness <= 0:
                    time.sleep(a.reconnect / 1000)
                    connect()
                    liveness = a.liveness
            if time.monotonic() >= next_heartbeat:
                sock.send_multipart([b"", W, HEARTBEAT])
                next_heartbeat = time.monotonic() + a.heartbeat / 1000
    except KeyboardInterrupt:
        pass
    finally:
        try:
            sock.send_multipart([b"", W, DISCONNECT])
        except zmq.ZMQError:
            pass
        sock.close(linger=100)
        ctx.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())
