import type http from "node:http";
import { MAX_JSON_DEPTH, nestedDeeperThan } from "../json-depth.js";

/** A client mistake in a REST body: answered with `status` and this message, never logged as an error. */
export class BodyError extends Error {
  override readonly name = "BodyError";
  constructor(
    readonly status: 400 | 413 | 415,
    readonly code: "PARSE_ERROR" | "PAYLOAD_TOO_LARGE" | "UNSUPPORTED_MEDIA_TYPE",
    message: string,
  ) {
    super(message);
  }
}

function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/json\s*(;|$)/i.test(contentType.trim());
}

/**
 * Reads and parses a REST request body ourselves, before trpc-to-openapi sees
 * the request: its own reader answers malformed or empty JSON with a 500 (a bare
 * SyntaxError), ignores bodies sent as `application/json; charset=utf-8`, and
 * refuses a body-less POST with 415. Here an empty body is `{}` (a POST whose
 * input is only path parameters needs nothing), malformed JSON and a non-object
 * are 400, more than `maxBytes` is 413, a non-empty body of another type is 415,
 * JSON nested deeper than MAX_JSON_DEPTH is 400 (recursive code downstream would
 * overflow the stack on it).
 */
export async function readJsonBody(req: http.IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    throw new BodyError(413, "PAYLOAD_TOO_LARGE", `Request body too large (limit ${maxBytes} bytes)`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      req.resume();
      throw new BodyError(413, "PAYLOAD_TOO_LARGE", `Request body too large (limit ${maxBytes} bytes)`);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks, size).toString("utf8");
  if (text.trim().length === 0) return {};
  const contentType = req.headers["content-type"];
  if (!isJson(contentType)) {
    throw new BodyError(
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      contentType
        ? `Unsupported content-type "${contentType}": send application/json`
        : "Missing content-type header: send application/json",
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new BodyError(400, "PARSE_ERROR", `Malformed JSON body: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new BodyError(400, "PARSE_ERROR", "The JSON body must be an object");
  }
  if (nestedDeeperThan(value)) {
    throw new BodyError(400, "PARSE_ERROR", `The JSON body nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  return value as Record<string, unknown>;
}
