import { ExecutionEvent, topics } from "@desk/contracts";
import { LRUCache } from "lru-cache";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { CallFailure } from "./errors.js";

/** What a repeat of a write gets: its result, or the failure its first attempt ended with. */
export type WriteAnswer = { kind: "result"; value: unknown } | { kind: "failure"; failure: CallFailure };

interface Remembered {
  service: string;
  method: string;
  answer: WriteAnswer;
}

/** The slice of PubSubscriber this needs. */
interface PrefixSource {
  watchPrefix(prefix: string, listener: (topic: string, data: unknown) => void): () => void;
}

/**
 * The answers of writes sent with a caller-chosen requestId (a clientOrderId), for a
 * backend that does not deduplicate by requestId: a repeat of the key gets the first
 * attempt's answer and is never sent again (a worker without a reply cache would act
 * twice). What is remembered is what a worker may have done: a result, a worker's error,
 * a reply the gateway refused (the write ran), or an unknown outcome. A write that
 * certainly never reached a worker is not remembered: sending it again is safe.
 *
 * An unknown outcome is replaced by the result once the gateway learns it: from the late
 * reply (MdpClient's onLateReply, `lateReply`), or, for execute_instructions, from an
 * execution.<id> event that carries its requestId (watched only while such an outcome
 * is unknown). Bounded (lru-cache): `max` answers, each for `ttlMs`.
 */
export function createWriteOutcomes(o: {
  max: number;
  ttlMs: number;
  logger: Logger;
  metrics: Metrics;
  events: PrefixSource;
  /** Reads a reply the way a call does (decode, [ok, value], the contract). */
  readReply: (service: string, method: string, requestId: string, reply: Buffer) => Promise<WriteAnswer>;
}) {
  /** requestIds of execute_instructions calls whose outcome is unknown: what the execution topic can tell. */
  const unknownExecutions = new Set<string>();
  let unwatch: (() => void) | undefined;

  const answers = new LRUCache<string, Remembered>({
    max: o.max,
    ttl: o.ttlMs,
    ttlResolution: 0,
    // Evicted, expired or replaced by what was learnt: no longer waiting for the topic.
    dispose: (_value, requestId) => {
      if (unknownExecutions.delete(requestId)) watchWhileNeeded();
    },
  });

  function watchWhileNeeded(): void {
    if (unknownExecutions.size > 0 && unwatch === undefined) {
      unwatch = o.events.watchPrefix(topics.execution.prefix, onExecutionEvent);
    } else if (unknownExecutions.size === 0 && unwatch !== undefined) {
      unwatch();
      unwatch = undefined;
    }
  }

  function onExecutionEvent(_topic: string, data: unknown): void {
    const event = ExecutionEvent.safeParse(data);
    const requestId = event.success ? event.data.execution.requestId : undefined;
    if (!requestId || !unknownExecutions.has(requestId)) return;
    learn(requestId, { kind: "result", value: event.data?.execution }, "execution_topic");
  }

  function isUnknown(entry: Remembered | undefined): boolean {
    return entry?.answer.kind === "failure" && entry.answer.failure.reached === "maybe";
  }

  function learn(requestId: string, answer: WriteAnswer, source: "late_reply" | "execution_topic"): void {
    const entry = answers.get(requestId);
    if (!entry || !isUnknown(entry)) return;
    answers.set(requestId, { ...entry, answer });
    o.metrics.writeOutcomesLearnt.inc({ source });
    o.logger.info(
      { requestId, service: entry.service, method: entry.method, source, answer: answer.kind },
      "learnt the outcome of a write whose caller was told it was unknown",
    );
  }

  return {
    /** The answer a repeat of `requestId` gets, if its first attempt ended with one. */
    answerOf(requestId: string): WriteAnswer | undefined {
      const entry = answers.get(requestId);
      if (entry) o.metrics.writeRepeats.inc({ answer: isUnknown(entry) ? "outcome_unknown" : entry.answer.kind });
      return entry?.answer;
    },

    /** A write with a caller-chosen requestId ended: remember what a repeat must get. */
    settle(requestId: string, service: string, method: string, answer: WriteAnswer): void {
      if (answer.kind === "failure" && answer.failure.reached === "no") return;
      answers.set(requestId, { service, method, answer });
      if (answer.kind === "failure" && answer.failure.reached === "maybe" && method === "execute_instructions") {
        unknownExecutions.add(requestId);
        watchWhileNeeded();
      }
    },

    /** MdpClient's onLateReply: the answer to a write after its caller was told OUTCOME_UNKNOWN. */
    async lateReply(late: { requestId: string; service: string; reply: Buffer }): Promise<void> {
      const entry = answers.get(late.requestId);
      if (!isUnknown(entry)) {
        // No caller can ask for it again (no clientOrderId): the log is where it can be reconciled.
        o.logger.warn(
          { requestId: late.requestId, service: late.service },
          "late reply to a write whose outcome its caller was told is unknown",
        );
        return;
      }
      const answer = await o.readReply(late.service, entry!.method, late.requestId, late.reply);
      learn(late.requestId, answer, "late_reply");
    },

    close(): void {
      unwatch?.();
      unwatch = undefined;
      unknownExecutions.clear();
      answers.clear();
    },
  };
}

export type WriteOutcomes = ReturnType<typeof createWriteOutcomes>;
