// One socket write per backlog (http/batched-writes.ts): the frames a client is sent in one
// turn of the event loop leave in one write, on a real ws server and client.
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { batchWrites } from "../src/http/batched-writes.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** A ws server on an OS-chosen port and a client connected to it; resolves with both ends. */
async function connectedPair(): Promise<{ server: WebSocket; client: WebSocket }> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  await new Promise((resolve) => wss.once("listening", resolve));
  const serverSide = new Promise<WebSocket>((resolve) => wss.once("connection", resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  cleanups.push(() => client.terminate());
  await new Promise((resolve, reject) => {
    client.once("open", resolve);
    client.once("error", reject);
  });
  return { server: await serverSide, client };
}

/** Counts the writes the server side's TCP socket hands to the kernel (Node's Writable _write/_writev). */
function countSocketWrites(ws: WebSocket): () => number {
  const socket = (ws as unknown as { _socket: Record<"_write" | "_writev", (...args: unknown[]) => void> })._socket;
  let writes = 0;
  for (const method of ["_write", "_writev"] as const) {
    const original = socket[method].bind(socket);
    socket[method] = (...args: unknown[]) => {
      writes++;
      original(...args);
    };
  }
  return () => writes;
}

async function sendBurst(server: WebSocket, client: WebSocket, frames: number): Promise<string[]> {
  const received: string[] = [];
  const all = new Promise<void>((resolve) =>
    client.on("message", (data) => {
      received.push(String(data));
      if (received.length === frames) resolve();
    }),
  );
  for (let i = 0; i < frames; i++) server.send(`frame ${i}`);
  await all;
  return received;
}

describe("batched writes", () => {
  it("writes the frames of one turn in one socket write, in order", async () => {
    const { server, client } = await connectedPair();
    expect(batchWrites(server)).toBe(true);
    const writes = countSocketWrites(server);
    const received = await sendBurst(server, client, 20);
    expect(received).toEqual(Array.from({ length: 20 }, (_, i) => `frame ${i}`));
    expect(writes()).toBe(1);
  });

  it("without it, ws writes each frame on its own (what the batching saves)", async () => {
    const { server, client } = await connectedPair();
    const writes = countSocketWrites(server);
    await sendBurst(server, client, 20);
    expect(writes()).toBeGreaterThanOrEqual(10);
  });

  it("leaves a socket it cannot cork as it is, and says so once", () => {
    const warnings: string[] = [];
    const logger = { warn: (msg: string) => warnings.push(msg) };
    const notWs = { send: () => {} };
    expect(batchWrites(notWs, logger)).toBe(false);
    expect(batchWrites({ send: () => {} }, logger)).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/frames are written one by one/);
  });
});
