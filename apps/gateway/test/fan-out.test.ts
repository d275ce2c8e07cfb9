import { io as connectIo } from "socket.io-client";
import { dumps } from "@desk/pickle";
import { afterEach, describe, expect, it } from "vitest";
import { openStream } from "../src/backend/stream.js";
import type { TopicEvent } from "../src/backend/subscriber.js";
import { startGateway } from "../src/index.js";
import { createMetrics } from "../src/metrics.js";
import { accountEvent, type FakeBackend, marketTick, startFakeBackend } from "./helpers/fake-backend.js";
import { login, testConfig } from "./helpers/stack.js";
import { startSubscriber } from "./helpers/subscriber.js";
import { collect, createClient } from "./helpers/ws-client.js";
import { waitFor } from "@desk/testkit";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function backend(): Promise<FakeBackend> {
  const b = await startFakeBackend();
  cleanups.push(() => b.close());
  return b;
}

/** A real SUB socket on the fake backend's PUB, with its own metrics; closed after the test. */
function subscriberOn(b: FakeBackend) {
  const metrics = createMetrics();
  const subscriber = startSubscriber(b.pubUrl, metrics);
  cleanups.push(() => subscriber.close());
  return { subscriber, metrics };
}

/**
 * A real SUB socket on the fake backend's PUB, and a stream on it whose socket is "full"
 * until released; revoke() ends it as a logout would.
 */
async function heldBackStream(b: FakeBackend) {
  const { subscriber, metrics } = subscriberOn(b);
  let buffered = 64 * 1024 * 1024;
  let revoke: (why: string) => void = () => {};
  const stream = openStream<TopicEvent>({
    subscriber,
    framing: {
      event: (event) => event,
      expired: () => new Error("expired"),
      revoked: (why) => new Error(`revoked: ${why}`),
    },
    queueSize: 100,
    metrics,
    connection: { bufferedAmount: () => buffered },
    maxBufferedBytes: 1024,
    revocation: (onRevoked) => {
      revoke = onRevoked;
      return () => {};
    },
  });
  cleanups.push(() => stream.close());
  return {
    subscriber,
    stream,
    metrics,
    release: () => {
      buffered = 0;
    },
    revoke: (why: string) => revoke(why),
    /** Publishes until the SUB socket has received one message (the subscription is in place). */
    async primed(publish: () => Promise<void>) {
      await waitFor(async () => {
        await publish();
        return subscriber.status().received > 0;
      }, "the SUB socket to receive");
    },
    /** Takes what the queue holds now, once released. */
    async drain(count: number): Promise<TopicEvent[]> {
      const got: TopicEvent[] = [];
      for (let i = 0; i < count; i++) {
        const next = await stream.events.next();
        if (next.done) throw new Error("stream ended early");
        got.push(next.value);
      }
      return got;
    },
  };
}

const dataSeq = (event: TopicEvent) => (event.data as { seq: number }).seq;

describe("a subscriber that falls behind", () => {
  it("gets the newest tick of each symbol, in publication order, never an older one after a newer", async () => {
    const b = await backend();
    const s = await heldBackStream(b);
    s.stream.follow({ kind: "market", topics: ["market.510050", "market.510300"], conflate: true });
    await s.primed(() => b.publish("market.510050", marketTick("510050", 1)));
    const received = s.subscriber.status().received;
    // A1 B1 A2 A3 B2, while the socket is full: A3 and B2 are what a trader needs.
    const burst: Array<[string, number]> = [
      ["510050", 101],
      ["510300", 201],
      ["510050", 102],
      ["510050", 103],
      ["510300", 202],
    ];
    for (const [symbol, seq] of burst) await b.publish(`market.${symbol}`, marketTick(symbol, seq));
    await waitFor(() => s.subscriber.status().received >= received + burst.length, "the burst to reach the SUB socket");
    s.release();
    // The priming tick (seq 1) was superseded by A's newer ticks as well.
    const got = await s.drain(2);
    expect(got.map((e) => [e.topic, dataSeq(e)])).toEqual([
      ["market.510050", 103],
      ["market.510300", 202],
    ]);
    expect(got[0]!.seq).toBeLessThan(got[1]!.seq);
    // Replaced in the stream's queue, or superseded on arrival by a newer tick of the same turn.
    const conflated = (await s.metrics.pubsubConflated.get()).values.find((v) => v.labels.kind === "market");
    const superseded = (await s.metrics.pubsubEvents.get()).values.find(
      (v) => v.labels.kind === "market" && v.labels.result === "superseded",
    );
    expect((conflated?.value ?? 0) + (superseded?.value ?? 0)).toBeGreaterThanOrEqual(3);
    expect((await s.metrics.pubsubDropped.get()).values).toEqual([]);
  });

  it("keeps every account event, in order (account events are never conflated)", async () => {
    const b = await backend();
    const s = await heldBackStream(b);
    s.stream.follow({ kind: "account", topics: ["account.account1"] });
    await s.primed(() => b.publish("account.account1", accountEvent(b.nextSeq(), "account1")));
    await waitFor(() => s.subscriber.status().received > 0, "priming");
    const received = s.subscriber.status().received;
    const published: number[] = [];
    for (let i = 0; i < 6; i++) {
      const event = accountEvent(b.nextSeq(), "account1");
      published.push(event.seq);
      await b.publish("account.account1", event);
    }
    await waitFor(() => s.subscriber.status().received >= received + 6, "the burst to reach the SUB socket");
    s.release();
    // Every priming event is queued too (none conflated): everything up to the burst's last.
    const got: number[] = [];
    while (got.at(-1) !== published.at(-1)) got.push(...(await s.drain(1)).map((e) => (e.data as { seq: number }).seq));
    expect(got.slice(-6)).toEqual(published);
    // No gap anywhere: the fake backend's sequence counts up by one per event.
    expect(got).toEqual(Array.from({ length: got.length }, (_, i) => got[0]! + i));
    expect((await s.metrics.pubsubConflated.get()).values).toEqual([]);
  });
});

describe("a stream that writes its own frames (pump)", () => {
  it("holds back while the socket is full, then writes what is queued in order, and ends with the revocation's error", async () => {
    const b = await backend();
    const s = await heldBackStream(b);
    s.stream.follow({ kind: "account", topics: ["account.account1"] });
    const written: number[] = [];
    const outcome = s.stream
      .pump((event) => written.push(dataSeq(event)))
      .then(
        () => "resolved",
        (err: unknown) => String(err),
      );
    let seq = 0;
    await s.primed(() => b.publish("account.account1", accountEvent(++seq, "account1")));
    const primed = seq;
    for (let i = 0; i < 5; i++) await b.publish("account.account1", accountEvent(++seq, "account1"));
    await waitFor(() => s.subscriber.status().received >= primed + 5 - 1, "the events to arrive");
    await new Promise((r) => setTimeout(r, 100));
    expect(written).toEqual([]);
    s.release();
    await waitFor(() => written.at(-1) === seq, "the held-back events to be written");
    expect(written).toEqual([...written].sort((x, y) => x - y));
    expect(written.slice(-5)).toEqual([seq - 4, seq - 3, seq - 2, seq - 1, seq]);
    s.revoke("logged out");
    expect(await outcome).toBe("Error: revoked: logged out");
    expect(s.stream.closed).toBe(true);
  });
});

describe("a burst on the SUB socket", () => {
  it("hands out the newest tick of each symbol once per turn, keeps every tick for replay, and every account event", async () => {
    const b = await backend();
    const { subscriber, metrics } = subscriberOn(b);
    const handed: TopicEvent[] = [];
    const listening = subscriber.listen(["market.510050", "market.510300", "account.account1"], (e) => handed.push(e));
    cleanups.push(() => listening.close());
    await waitFor(async () => {
      await b.publish("market.510050", marketTick("510050", 1));
      return handed.length > 0;
    }, "the subscription to be in place");
    const supersededTicks = async () =>
      (await metrics.pubsubEvents.get()).values.find(
        (v) => v.labels.kind === "market" && v.labels.result === "superseded",
      )?.value ?? 0;
    await new Promise((r) => setTimeout(r, 50));
    const supersededBefore = await supersededTicks();
    const since = handed.at(-1)!.seq;
    handed.length = 0;
    const received = subscriber.status().received;
    // Queued for the SUB socket while this thread is busy: they are all read in one turn.
    const burst: Array<[string, object]> = [
      ["market.510050", marketTick("510050", 101)],
      ["account.account1", accountEvent(1, "account1")],
      ["market.510050", marketTick("510050", 102)],
      ["market.510300", marketTick("510300", 201)],
      ["account.account1", accountEvent(2, "account1")],
      ["market.510050", marketTick("510050", 103)],
    ];
    for (const [topic, event] of burst) await b.publish(topic, event);
    const busyUntil = Date.now() + 200;
    while (Date.now() < busyUntil) {
      // ZeroMQ's I/O thread moves the messages meanwhile.
    }
    await waitFor(() => subscriber.status().received >= received + burst.length, "the burst to be read");
    await waitFor(() => handed.length >= 4, "the burst's hand-out");
    const handedOut = handed.map((e) => [e.topic, (e.data as { seq: number }).seq]);
    expect(handedOut).toEqual([
      ["account.account1", 1],
      ["market.510300", 201],
      ["account.account1", 2],
      ["market.510050", 103],
    ]);
    // Numbered in the order handed out, and every tick kept for a resume.
    expect(handed.map((e) => e.seq)).toEqual([...handed.map((e) => e.seq)].sort((x, y) => x - y));
    const replay = subscriber.listen(["market.510050"], () => {}, since);
    replay.close();
    // (A priming tick still in flight when `since` was read may come first.)
    const replayed = replay.replay.map((e) => (e.data as { seq: number }).seq).filter((seq) => seq > 1);
    expect(replayed).toEqual([101, 102, 103]);
    expect((await supersededTicks()) - supersededBefore).toBe(2);
  });
});

describe("events received and not yet handed out", () => {
  it("go to the listeners already there, not to one added in the same turn; currentSeq covers them", async () => {
    const b = await backend();
    const { subscriber } = subscriberOn(b);
    const earlier: TopicEvent[] = [];
    const listening = subscriber.listen(["account.account1"], (e) => earlier.push(e));
    cleanups.push(() => listening.close());
    await waitFor(async () => {
      await b.publish("account.account1", accountEvent(0, "account1"));
      return earlier.length > 0;
    }, "the subscription to be in place");
    await new Promise((r) => setTimeout(r, 50));
    earlier.length = 0;
    // As the receive loop does, in the turn that reads the message (handle is its body).
    const receive = (subscriber as unknown as { handle(frames: Buffer[]): Promise<void> }).handle.bind(subscriber);
    await receive([Buffer.from("account.account1"), Buffer.from(dumps(accountEvent(7, "account1")))]);
    // Then, in that same turn, a snapshot-style follow: read the sequence, then listen after it.
    const since = subscriber.currentSeq;
    const later: TopicEvent[] = [];
    const added = subscriber.listen(["account.account1"], (e) => later.push(e), since);
    cleanups.push(() => added.close());
    expect(earlier.map((e) => (e.data as { seq: number }).seq)).toEqual([7]);
    expect(earlier[0]!.seq).toBe(since);
    expect(added.replay).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(later).toEqual([]);
  });
});

describe("shared-event framing over real connections", () => {
  it("delivers interleaved ticks and account events to several tRPC and socket.io subscribers: every account event in order, ticks intact", async () => {
    const b = await backend();
    const g = await startGateway(testConfig(b));
    cleanups.push(() => g.close());
    const token = await login(g.url, "trader1", "trader123");
    const trpcClients = [createClient(g.url, g.wsUrl, token), createClient(g.url, g.wsUrl, token)];
    for (const c of trpcClients) cleanups.push(() => c.close());
    type Tick = { data: { seq: number; symbol: string; last: number; ts: string } };
    type AccountUpdate = { data: { seq: number; accountId: string } };
    const ticks = trpcClients.map((c) =>
      collect<Tick>((h) => c.client.market.onTick.subscribe({ symbols: ["510050", "510300"] }, h)),
    );
    const accounts = trpcClients.map((c) =>
      collect<AccountUpdate>((h) => c.client.account.onUpdate.subscribe({ accountIds: ["account1"] }, h)),
    );
    const io = connectIo(g.url, { auth: { token }, transports: ["websocket"], reconnection: false });
    cleanups.push(() => {
      io.close();
    });
    const ioAccounts: number[] = [];
    const ioTicks: Array<{ seq: number; symbol: string }> = [];
    io.on("account:update", (update: { seq: number }) => ioAccounts.push(update.seq));
    io.on("market:tick", (tick: { seq: number; symbol: string }) => ioTicks.push(tick));
    io.emit("account:subscribe", { accountIds: ["account1"] });
    io.emit("market:subscribe", { symbols: ["510050", "510300"] });
    await waitFor(async () => {
      await b.publish("market.510050", marketTick("510050", 1));
      return ticks.every((t) => t.data.length > 0) && ioTicks.length > 0;
    }, "every subscriber's first tick");

    const accountSeqs: number[] = [];
    const lastTick: Record<string, number> = {};
    for (let i = 0; i < 40; i++) {
      const symbol = i % 2 === 0 ? "510050" : "510300";
      lastTick[symbol] = 1000 + i;
      await b.publish(`market.${symbol}`, marketTick(symbol, 1000 + i));
      if (i % 4 === 0) {
        const event = accountEvent(b.nextSeq(), "account1");
        accountSeqs.push(event.seq);
        await b.publish("account.account1", event);
      }
    }
    const hasLast = (seen: Array<{ seq: number; symbol: string }>) =>
      Object.entries(lastTick).every(([symbol, seq]) => seen.some((t) => t.symbol === symbol && t.seq === seq));
    await waitFor(
      () =>
        accounts.every((a) => a.data.length >= accountSeqs.length) &&
        ioAccounts.length >= accountSeqs.length &&
        ticks.every((t) => hasLast(t.data.map((d) => d.data))) &&
        hasLast(ioTicks),
      "every subscriber to get the whole burst",
    );
    for (const a of accounts) expect(a.data.map((d) => d.data.seq)).toEqual(accountSeqs);
    expect(ioAccounts).toEqual(accountSeqs);
    for (const seen of [...ticks.map((t) => t.data.map((d) => d.data)), ioTicks]) {
      for (const symbol of Object.keys(lastTick)) {
        const seqs = seen.filter((t) => t.symbol === symbol && t.seq >= 1000).map((t) => t.seq);
        expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
      }
    }
    // The frame written once for all carries the event as published (ticks of one turn may
    // conflate even for a fast client: the older would have left in the same write).
    const one = ticks[0]!.data.find((d) => d.data.seq >= 1000)!.data;
    expect(one).toMatchObject({ symbol: one.seq % 2 === 0 ? "510050" : "510300", last: 6.1 });
    expect(Date.parse(one.ts)).not.toBeNaN();
  });
});
