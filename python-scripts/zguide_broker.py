#!/usr/bin/env python3
"""An MDP/0.1 broker (RFC 7 + RFC 8 mmi.service) with the zguide Python broker's semantics,
for testing our client against a conforming broker that has none of our extensions:

- one plain ROUTER: a reply to a full or vanished peer is dropped silently;
- requests wait in their service's queue forever (no expiry, no bound), and a retry
  is queued again as a copy;
- only idle workers are heartbeated and expired: a busy worker is never declared lost,
  so the request of a worker that dies mid-request is never answered;
- any mmi.* other than mmi.service is answered "501" in the last body frame (RFC 8).

Unlike the zguide's broker it ignores malformed input instead of failing an assert, and
mmi.service answers "404" (RFC 8) rather than "400" for a service nobody asked for.

Usage: zguide_broker.py ENDPOINT [--heartbeat MS] [--liveness N]
ENDPOINT may be "tcp://127.0.0.1:*"; prints "ready <bound endpoint>".
"""
import argparse
import sys
import time
from collections import deque

import zmq

C, W = b"MDPC01", b"MDPW01"
READY, REQUEST, REPLY, HEARTBEAT, DISCONNECT = b"\x01", b"\x02", b"\x03", b"\x04", b"\x05"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("endpoint")
    ap.add_argument("--heartbeat", type=int, default=2500)
    ap.add_argument("--liveness", type=int, default=3)
    a = ap.parse_args()
    expiry = a.heartbeat * a.liveness / 1000
    sock = zmq.Context.instance().socket(zmq.ROUTER)
    sock.linger = 0
    sock.bind(a.endpoint)
    print("ready", sock.getsockopt_string(zmq.LAST_ENDPOINT), flush=True)

    requests = {}  # service -> deque of [client, "", body...]
    waiting = {}  # service -> deque of idle worker identities
    workers = {}  # identity -> {"service", "expiry"}

    def dispatch(service):
        queue, idle = requests.setdefault(service, deque()), waiting.setdefault(service, deque())
        while queue and idle:
            sock.send_multipart([idle.popleft(), b"", W, REQUEST] + queue.popleft())

    def delete(identity, disconnect):
        w = workers.pop(identity, None)
        if w is not None and identity in waiting.get(w["service"], ()):
            waiting[w["service"]].remove(identity)
        if disconnect:
            sock.send_multipart([identity, b"", W, DISCONNECT])

    heartbeat_at = time.monotonic() + a.heartbeat / 1000
    try:
        while True:
            if sock.poll(a.heartbeat):
                msg = sock.recv_multipart()
                if len(msg) >= 4 and msg[1] == b"" and msg[2] == C and len(msg) >= 5:
                    sender, service, body = msg[0], msg[3], msg[4:]
                    if service.startswith(b"mmi."):
                        code = b"501"
                        if service == b"mmi.service":
                            code = b"200" if body[-1] in requests or body[-1] in waiting else b"404"
                        sock.send_multipart([sender, b"", C, service] + body[:-1] + [code])
                    else:
                        requests.setdefault(service, deque()).append([sender, b""] + body)
                        dispatch(service)
                elif len(msg) >= 4 and msg[1] == b"" and msg[2] == W:
                    sender, command, ready = msg[0], msg[3], msg[0] in workers
                    if command == READY and not ready and len(msg) >= 5:
                        workers[sender] = {"service": msg[4], "expiry": time.monotonic() + expiry}
                        waiting.setdefault(msg[4], deque()).append(sender)
                        dispatch(msg[4])
                    elif command == REPLY and ready and len(msg) >= 7:
                        service = workers[sender]["service"]
                        sock.send_multipart([msg[4], b"", C, service] + msg[6:])
                        workers[sender]["expiry"] = time.monotonic() + expiry
                        waiting[service].append(sender)
                        dispatch(service)
                    elif command == HEARTBEAT and ready:
                        workers[sender]["expiry"] = time.monotonic() + expiry
                    elif command == DISCONNECT:
                        delete(sender, False)
                    else:
                        delete(sender, True)
            now = time.monotonic()
            for service, idle in waiting.items():
                for identity in [i for i in idle if workers[i]["expiry"] < now]:
                    delete(identity, False)
            if now >= heartbeat_at:
                for idle in waiting.values():
                    for identity in idle:
                        sock.send_multipart([identity, b"", W, HEARTBEAT])
                heartbeat_at = now + a.heartbeat / 1000
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
