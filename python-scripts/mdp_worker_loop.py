"""The RFC 7 (MDP/0.1) worker loop shared by mdp_worker.py and reference_worker.py.

One DEALER per service: READY on connect, heartbeats every interval, a broker silent
for `liveness` intervals is dead (reconnect after `reconnect` ms), DISCONNECT from the
broker means reconnect, DISCONNECT on the way out. Body convention (DESIGN.md): a
request body is [requestId, payload] and is answered [requestId, result]; a plain
RFC 7 body of one frame is answered with one frame.
"""
import time
from collections import OrderedDict

import zmq

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


def serve(endpoint, handlers, heartbeat_ms, liveness, reconnect_ms, on_ready, heartbeat_before_work=False,
          reply_cache=None):
    """Serves `handlers` ({service: (payload, request_id) -> result bytes}) until KeyboardInterrupt.

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
        s.connect(endpoint)
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
