import type { Dealer, Router } from "zeromq";

type Socket = Dealer | Router;

export type Frames = Array<Buffer | Uint8Array | string>;

/** Where one message stands: only QUEUED and DROPPED are certain non-delivery. */
export const SendState = {
  /** Waiting in this writer: it has not reached libzmq, and can still be withdrawn. */
  QUEUED: 0,
  /** Handed to socket.send(), outcome not known yet (waiting for the socket to become writable). */
  HANDED: 1,
  /** libzmq took it: it may reach the peer. */
  SENT: 2,
  /** It never reached libzmq and never will (withdrawn, cleared, or the send failed). */
  DROPPED: 3,
} as const;
export type SendState = (typeof SendState)[keyof typeof SendState];

/** Tracks one message for a caller that must know whether it went out (a write). */
export interface SendReceipt {
  state: SendState;
  /** Called once, when the state becomes SENT or DROPPED. */
  settled(): void;
}

function isBusyError(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "EBUSY";
}

/**
 * zeromq.js 6 allows one pending send() per socket; a second one throws EBUSY
 * synchronously. Most sends complete synchronously (the promise comes back
 * settled), so we send straight through and only queue while a send is
 * really pending, which the EBUSY itself tells us. No per-message closure,
 * except for messages that carry a receipt.
 */
export class SocketWriter {
  private queue: Array<Frames | undefined> = [];
  private receipts: Array<SendReceipt | undefined> = [];
  private head = 0;
  private waiting = false;
  private unsettled = 0;
  private last: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: Socket,
    private readonly onError: (err: unknown) => void,
  ) {}

  get queued(): number {
    return this.queue.length - this.head;
  }

  /** A send is handed to zeromq and not settled yet (the socket is not writable). */
  get busy(): boolean {
    return this.waiting || this.unsettled > 0;
  }

  send(frames: Frames, receipt?: SendReceipt): void {
    if (this.waiting || !this.trySend(frames, receipt)) this.enqueue(frames, receipt);
  }

  /** Takes a message back while it is still QUEUED here; false once it was handed to zeromq. */
  withdraw(receipt: SendReceipt): boolean {
    if (receipt.state !== SendState.QUEUED) return receipt.state === SendState.DROPPED;
    this.drop(receipt);
    return true;
  }

  /** Drops whatever is still queued (the socket is going away). */
  clear(): void {
    const receipts = this.receipts;
    this.queue = [];
    this.receipts = [];
    this.head = 0;
    for (const receipt of receipts) if (receipt !== undefined && receipt.state === SendState.QUEUED) this.drop(receipt);
  }

  private enqueue(frames: Frames, receipt: SendReceipt | undefined): void {
    if (receipt !== undefined) receipt.state = SendState.QUEUED;
    this.queue.push(frames);
    this.receipts.push(receipt);
  }

  private drop(receipt: SendReceipt): void {
    receipt.state = SendState.DROPPED;
    receipt.settled();
  }

  private trySend(frames: Frames, receipt: SendReceipt | undefined): boolean {
    if (this.socket.closed) {
      // nothing can go out any more
      if (receipt !== undefined) this.drop(receipt);
      return true;
    }
    let p: Promise<void>;
    try {
      p = this.socket.send(frames);
    } catch (err) {
      if (!isBusyError(err)) {
        this.onError(err);
        if (receipt !== undefined) this.drop(receipt);
        return true;
      }
      this.waiting = true;
      this.last.then(this.drain, this.drain);
      return false;
    }
    this.unsettled++;
    if (receipt === undefined) {
      p.then(this.sentOk, this.failed);
    } else {
      receipt.state = SendState.HANDED;
      p.then(
        () => {
          this.unsettled--;
          receipt.state = SendState.SENT;
          receipt.settled();
        },
        (err: unknown) => {
          this.failed(err);
          this.drop(receipt);
        },
      );
    }
    this.last = p;
    return true;
  }

  private readonly drain = (): void => {
    this.waiting = false;
    while (this.head < this.queue.length) {
      const frames = this.queue[this.head] as Frames;
      const receipt = this.receipts[this.head];
      if (receipt !== undefined && receipt.state !== SendState.QUEUED) {
        // withdrawn while it waited
        this.queue[this.head] = undefined;
        this.receipts[this.head++] = undefined;
        continue;
      }
      if (!this.trySend(frames, receipt)) {
        if (receipt !== undefined) receipt.state = SendState.QUEUED;
        return; // still busy: drain again when it settles
      }
      this.queue[this.head] = undefined;
      this.receipts[this.head++] = undefined;
    }
    this.queue.length = 0;
    this.receipts.length = 0;
    this.head = 0;
  };

  private readonly sentOk = (): void => {
    this.unsettled--;
  };

  private readonly failed = (err: unknown): void => {
    this.unsettled--;
    if (this.socket.closed) {
      this.clear();
      return;
    }
    this.onError(err);
  };
}
