import net from "node:net";

/** Is something accepting TCP connections at this ZeroMQ tcp:// endpoint? */
export function isListening(endpoint: string, timeoutMs = 500): Promise<boolean> {
  const m = /^tcp:\/\/(.+):(\d+)$/.exec(endpoint.trim());
  if (!m) return Promise.resolve(false);
  const host = m[1]!.replace(/^\[(.*)\]$/, "$1");
  const port = Number(m[2]);
  if (host === "*" || port === 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}
