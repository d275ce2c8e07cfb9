import { createContext, useContext } from "react";
import type { Capabilities } from "../lib/permissions";
import type { Session } from "../lib/session";
import type { Store } from "../lib/store";
import type { SocketState } from "./gateway";

/** What every screen of a signed-in console needs to know about its user and connection. */
export interface Desk {
  session: Session;
  capabilities: Capabilities;
  socket: Store<SocketState>;
  /** Called by any screen that meets an UNAUTHORIZED answer, or by the user. */
  signOut(reason: "logout" | "expired" | "rejected"): void;
  /** For a subscription's onError: a refused token ends the session; other errors are the screen's. */
  onStreamError(err: unknown): void;
  /** When the last account.onUpdate event arrived, per account (local clock, ms). */
  accountUpdates: Store<Readonly<Record<string, number>>>;
}

export const DeskContext = createContext<Desk | null>(null);

export function useDesk(): Desk {
  const desk = useContext(DeskContext);
  if (!desk) throw new Error("useDesk outside a signed-in console");
  return desk;
}
