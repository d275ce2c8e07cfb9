import { pino, type Logger } from "pino";

export type { Logger };

/** One JSON logger per gateway; secrets that may appear in logged objects are redacted. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { app: "gateway" },
    redact: {
      paths: [
        "password",
        "*.password",
        "oldPassword",
        "newPassword",
        "*.oldPassword",
        "*.newPassword",
        "token",
        "*.token",
        "authorization",
        "*.authorization",
        "jwtSecret",
      ],
      censor: "[redacted]",
    },
  });
}
