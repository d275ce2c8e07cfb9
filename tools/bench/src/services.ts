import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ServiceReply, ServiceRequest } from "./service-child.js";

export interface ServiceProcess {
  /** broker endpoint (backend) or http base URL (gateway) */
  url: string;
  close(): Promise<void>;
  /** CPU time (user + system) the child has used so far, ms; NaN if it does not answer within 5 s. */
  cpuMs(): Promise<number>;
  /** SIGKILL: for a server left with a backlog no one will read (the fan-out's overload case). */
  kill(): Promise<void>;
}

/**
 * The path of a script next to this one, as this one runs: compiled (dist/*.js, what
 * `pnpm bench` runs) or from source under tsx.
 */
export function siblingScript(name: string): string {
  const extension = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  return fileURLToPath(new URL(`./${name}${extension}`, import.meta.url));
}

/** Starts a bench server in a child process and resolves when it is listening. */
export function startServiceProcess(request: Extract<ServiceRequest, { type: "start" }>): Promise<ServiceProcess> {
  const file = siblingScript("service-child");
  const child = fork(file, { execArgv: process.execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    child.once("message", (m: ServiceReply) => {
      if (m.type !== "ready") {
        child.kill("SIGKILL");
        reject(new Error(`bench ${request.kind} failed to start: ${m.type === "failed" ? m.error : m.type}`));
        return;
      }
      resolve({
        url: m.url,
        async close() {
          if (child.exitCode === null && child.connected) child.send({ type: "close" } satisfies ServiceRequest);
          const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
          await exited;
          clearTimeout(kill);
        },
        cpuMs() {
          return new Promise<number>((done) => {
            const timer = setTimeout(() => done(Number.NaN), 5_000);
            const onMessage = (r: ServiceReply) => {
              if (r.type !== "usage") return;
              clearTimeout(timer);
              child.off("message", onMessage);
              done(r.cpuMs);
            };
            child.on("message", onMessage);
            child.send({ type: "usage" } satisfies ServiceRequest);
          });
        },
        async kill() {
          child.kill("SIGKILL");
          await exited;
        },
      });
    });
    child.once("exit", (code) => reject(new Error(`bench ${request.kind} exited with ${code} before it was ready`)));
    child.send(request);
  });
}
