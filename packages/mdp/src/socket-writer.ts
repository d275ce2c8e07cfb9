import type { Dealer, Router } from "zeromq";

type Socket = Dealer | Router;

export type Frames = Array<Buffer | Uint8Array | string>;

function isBusyError(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "EBUSY";
}

/**
 * zeromq.js 6 allows one pending send() per socket; a second one throws EBUSY
 * synchronously. Most sends complete synchronously (the promise comes back
 * settled), so we send straight through and only queue while a send is
 * really pending, which the EBUSY itself tells us. No per-message closure.
 */
export class SocketWriter {
  private queue: Array<Frames | undefined> = [];
  private head = 0;
  private waiting = false;
  private last: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: Socket,
    private readonly onError: (err: unknown) => void,
  ) {}

  get queued(): number {
    return this.queue.length - this.head;
  }

  send(frames: Frames): void {
    if (this.waiting) {
      this.queue.push(frames);
      return;
    }
    if (!this.trySend(frames)) this.queue.push(frames);
  }

  /** Drops whatever is still queued (the socket is going away). */
  clear(): void {
    this.queue = [];
    this.head = 0;
  }

  private trySend(frames: Frames): boolean {
    if (this.socket.closed) return true; // nothing can go out any more: drop
    try {
      const p = this.socket.send(frames);
      p.then(undefined, this.failed);
      this.last = p;
      return true;
    } catch (err) {
      if (!isBusyError(err)) {
        this.onError(err);
        return true;
      }
      this.waiting = true;
      this.last.then(this.drain, this.drain);
      return false;
    }
  }

  private readonly drain = (): void => {
    this.waiting = false;
    while (this.head < this.queue.length) {
      const frames = this.queue[this.head] as Frames;
      if (!this.trySend(frames)) return; // still busy: drain again when it settles
      this.queue[this.head++] = undefined;
    }
    this.queue.length = 0;
    this.head = 0;
  };

  private readonly failed = (err: unknown): void => {
    if (this.socket.closed) {
      this.clear();
      return;
    }
    this.onError(err);
  };
}
