import { toGatewayError } from "@desk/sdk";
import { useEffect, useMemo, useSyncExternalStore } from "react";
import type { SocketState } from "./api/gateway";
import { DeskContext, type Desk as DeskValue } from "./api/desk-context";
import { useConnection } from "./api/hooks";
import { AccountFeed } from "./components/AccountFeed";
import { ConnectionBadge } from "./components/ConnectionBadge";
import { formatTime } from "./lib/format";
import { capabilitiesOf } from "./lib/permissions";
import { parseRoute, type Route, routeHash, SCREEN_TITLES, SCREENS } from "./lib/route";
import { expiryDelay, type Session, type SignedOutReason } from "./lib/session";
import { createStore, type Store } from "./lib/store";
import { AccountsScreen } from "./screens/AccountsScreen";
import { AlgorithmsScreen } from "./screens/AlgorithmsScreen";
import { InstructionsScreen } from "./screens/InstructionsScreen";
import { MarketScreen } from "./screens/MarketScreen";
import { PositionsScreen } from "./screens/PositionsScreen";

function useRoute(): Route {
  const hash = useSyncExternalStore(
    (onChange) => {
      window.addEventListener("hashchange", onChange);
      return () => window.removeEventListener("hashchange", onChange);
    },
    () => window.location.hash,
  );
  return useMemo(() => parseRoute(hash), [hash]);
}

/** The signed-in console: header (who, connection, logout), the screen tabs, and the screens. */
export function Desk({
  session,
  socket,
  signOut,
  logout,
}: {
  session: Session;
  socket: Store<SocketState>;
  signOut(reason: SignedOutReason): void;
  /** Ends the login at the gateway too (its tokens stop working at once). */
  logout(): Promise<void>;
}) {
  const route = useRoute();
  const connection = useConnection(socket);
  const capabilities = useMemo(() => capabilitiesOf(session.permissions), [session.permissions]);
  const desk = useMemo<DeskValue>(
    () => ({
      session,
      capabilities,
      socket,
      signOut,
      onStreamError: (err: unknown) => {
        if (toGatewayError(err).kind === "unauthorized") signOut("rejected");
      },
      accountUpdates: createStore<Readonly<Record<string, number>>>({}),
    }),
    [session, capabilities, socket, signOut],
  );

  // The session's end is known (access tokens are renewed until then): sign out at that
  // moment rather than at the next refused call.
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout>;
    const arm = () => {
      const delay = expiryDelay(session, Date.now());
      timer = setTimeout(() => (Date.now() >= session.expiresAt ? signOut("expired") : arm()), delay);
    };
    arm();
    return () => clearTimeout(timer);
  }, [session, signOut]);

  return (
    <DeskContext.Provider value={desk}>
      <div className="desk">
        <header className="topbar">
          <div className="brand">Desk console</div>
          <ConnectionBadge view={connection} />
          <div className="who" data-testid="who">
            <span className="who-name">{session.displayName || session.username}</span>
            <span className={`role role-${session.role}`} data-testid="role">
              {session.role}
            </span>
            <span className="muted" title="Your session ends then; you will be asked to log in again">
              until {formatTime(new Date(session.expiresAt).toISOString())}
            </span>
          </div>
          <button
            type="button"
            className="logout"
            onClick={() => {
              void logout();
              signOut("logout");
            }}
          >
            Log out
          </button>
        </header>
        <nav className="tabs" aria-label="Screens">
          {SCREENS.map((screen) => (
            <a
              key={screen}
              href={routeHash({ screen, account: null })}
              className={route.screen === screen ? "tab active" : "tab"}
              aria-current={route.screen === screen ? "page" : undefined}
            >
              {SCREEN_TITLES[screen]}
            </a>
          ))}
        </nav>
        {capabilities.readAccounts ? <AccountFeed /> : null}
        {/* Every screen stays mounted (hidden when not shown): live feeds and a running order
            keep going while the trader looks elsewhere. */}
        <main>
          <section hidden={route.screen !== "accounts"} aria-label="Accounts">
            <AccountsScreen />
          </section>
          <section hidden={route.screen !== "positions"} aria-label="Positions & risk">
            <PositionsScreen selected={route.account} />
          </section>
          <section hidden={route.screen !== "market"} aria-label="Market">
            <MarketScreen connection={connection.status} />
          </section>
          <section hidden={route.screen !== "algorithms"} aria-label="Algorithms">
            <AlgorithmsScreen />
          </section>
          <section hidden={route.screen !== "instructions"} aria-label="Instructions">
            <InstructionsScreen />
          </section>
        </main>
      </div>
    </DeskContext.Provider>
  );
}
