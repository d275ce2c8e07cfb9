"""The RFC 7 (MDP/0.1) worker loop shared by mdp_worker.py and reference_worker.py.

One DEALER per service: READY on connect, heartbeats every interval, a broker silent
for `liveness` intervals is dead (reconnect after `reconnect` ms), DISCONNECT from the
broker means reconnect, DISCONNECT on the way out. Body convention (DESIGN.md): a
request body is [requestId, payload] and is answered [requestId, result]; a plain
RFC 7 body of one frame is answered with one frame.

CURVE, from the environment as the gateway and our broker read it (see README):
ZMQ_CURVE_SERVER_KEY (the broker's public key, pinned), ZMQ_CURVE_SECRET_KEY and
ZMQ_CURVE_PUBLIC_KEY (this worker's pair; the public key is derived when absent), each
also as *_FILE naming a ZeroMQ certificate (zmq.auth.create_certificates) or a file
holding just the key. With a server key set every socket is a CURVE client.
"""
import os
import sys
import time
from collections import OrderedDict

import zmq
import zmq.auth
import zmq.utils.z85

W = b"MDPW01"
READY, REQUEST, REPLY, HEARTBEAT, DISCONNECT = b"\x01", b"\x02", b"\x03", b"\x04", b"\x05"


class ReplyCache:
    """The last `size` replies by requestId: a repeated id is answered, not executed again."""

    def __init__(self, size=10_000):
        self.size = size
        self.replies = OrderedDict()

    def get(self, request_id):
        return self.replies.get(request_id)

    def put(self, request_id, reply):
        self.replies[request_id] = reply
        self.replies.move_to_end(request_id)
        while len(self.replies) > self.size:
            self.replies.popitem(last=False)


class CurveConfigError(Exception):
    """A bad CURVE variable; the message names it and never holds a secret."""


def read_curve_key(env, name, kind):
    inline = (env.get(name) or "").strip()
    path = (env.get(name + "_FILE") or "").strip()
    if inline and path:
        raise CurveConfigError(f"{name}: set either {name} or {name}_FILE, not both")
    if path:
        try:
            public, secret = zmq.auth.load_certificate(path)
        except (OSError, ValueError):
            try:
                with open(path, "rb") as f:
                    public = secret = f.read().strip()
            except OSError as err:
                raise CurveConfigError(f"{name}_FILE: cannot read {path!r} ({err.strerror})") from None
        key = public if kind == "public" else secret
        if not key:
            raise CurveConfigError(f"{name}_FILE: {path!r} holds no {kind} key")
        inline = key.decode("ascii", "replace") if isinstance(key, bytes) else key
        name = name + "_FILE"
    if not inline:
        return None
    try:
        if len(inline) != 40 or len(zmq.utils.z85.decode(inline)) != 32:
            raise ValueError
    except ValueError:
        raise CurveConfigError(f"{name}: a {kind} key must be 40 Z85 characters") from None
    return inline.encode()


def curve_from_env(env=None):
    """{server_key, public_key, secret_key} (bytes, Z85) from the environment, or None when CURVE is off."""
    env = os.environ if env is None else env
    server = read_curve_key(env, "ZMQ_CURVE_SERVER_KEY", "public")
    secret = read_curve_key(env, "ZMQ_CURVE_SECRET_KEY", "secret")
    public = read_curve_key(env, "ZMQ_CURVE_PUBLIC_KEY", "public")
    if server is None and secret is None and public is None:
        return None
    if server is None or secret is None:
        missing = "ZMQ_CURVE_SERVER_KEY" if server is None else "ZMQ_CURVE_SECRET_KEY"
        raise CurveConfigError(f"{missing}: required when the other CURVE variables are set")
    derived = zmq.curve_public(secret)
    if public is not None and public != derived:
        raise CurveConfigError("ZMQ_CURVE_PUBLIC_KEY: does not belong to ZMQ_CURVE_SECRET_KEY")
    return {"server_key": server, "public_key": derived, "secret_key": secret}


def curve_or_exit(env=None):
    """curve_from_env(), or one line on stderr and exit 2 for a bad variable."""
    try:
        return curve_from_env(env)
    except CurveConfigError as err:
        print(f"bad CURVE configuration: {err}", file=sys.stderr)
        sys.exit(2)


def apply_curve(sock, curve):
    """Makes `sock` a CURVE client pinning curve["server_key"] (no-op for None)."""
    if curve is not None:
        sock.curve_serverkey = curve["server_key"]
        sock.curve_publickey = curve["public_key"]
        sock.curve_secretkey = curve["secret_key"]


def serve(endpoint, handlers, heartbeat_ms, liveness, reconnect_ms, on_ready, heartbeat_before_work=False,
          reply_cache=None, curve=None, endpoints=None):
    """Serves `handlers` ({service: (payload, request_id) -> result bytes}) until KeyboardInterrupt.

    `endpoints` ({service: endpoint}) overrides `endpoint` per service: under CURVE our
    broker takes each service's workers on that service's own endpoint. `curve` (see
    curve_from_env) makes every socket a CURVE client.

    request_id is None for a plain RFC 7 body of one frame. Like the zguide's worker API,
    nothing is sent while a handler runs; `heartbeat_before_work` sends a HEARTBEAT just
    before it starts, so the broker heard from a busy worker recently. With a
    `reply_cache` a repeated requestId is answered from it instead of running again.
    """
    ctx = zmq.Context()
    poller = zmq.Poller()
    sockets = {}  # service -> socket
    alive = {}

    def connect(service):
        old = sockets.get(service)
        if old is not None:
            poller.unregister(old)
            old.close(linger=0)
        s = ctx.socket(zmq.DEALER)
        s.linger = 0
        apply_curve(s, curve)
        s.connect((endpoints or {}).get(service, endpoint))
        poller.register(s, zmq.POLLIN)
        s.send_multipart([b"", W, READY, service.encode()])
        sockets[service] = s
        alive[service] = liveness

    for service in handlers:
        connect(service)
    on_ready()

    next_heartbeat = time.monotonic() + heartbeat_ms / 1000
    try:
        while True:
            events = dict(poller.poll(heartbeat_ms))
            for service, s in list(sockets.items()):
                if s not in events:
                    continue
                msg = s.recv_multipart()
                alive[service] = liveness
                if len(msg) < 3 or msg[0] != b"" or msg[1] != W:
                    continue  # not MDP: ignore
                command = msg[2]
                if command == REQUEST and len(msg) >= 6:
                    client, body = msg[3], msg[5:]
                    request_id = body[0] if len(body) >= 2 else None
                    result = reply_cache.get((service, request_id)) if reply_cache is not None and request_id else None
                    if result is None:
                        if heartbeat_before_work:
                            s.send_multipart([b"", W, HEARTBEAT])
                        result = handlers[service](body[-1], request_id)
                        if reply_cache is not None and request_id:
                            reply_cache.put((service, request_id), result)
                    reply = [body[0], result] if len(body) >= 2 else [result]
                    s.send_multipart([b"", W, REPLY, client, b""] + reply)
                elif command == DISCONNECT:
                    connect(service)
            if not events:
                for service in list(sockets):
                    alive[service] -= 1
                    if alive[service] <= 0:
                        time.sleep(reconnect_ms / 1000)
                        connect(service)
            if time.monotonic() >= next_heartbeat:
                for s in sockets.values():
                    s.send_multipart([b"", W, HEARTBEAT])
                next_heartbeat = time.monotonic() + heartbeat_ms / 1000
    except KeyboardInterrupt:
        pass
    finally:
        for s in sockets.values():
            try:
                s.send_multipart([b"", W, DISCONNECT])
            except zmq.ZMQError:
                pass
            s.close(linger=100)
        ctx.term()
    return 0
