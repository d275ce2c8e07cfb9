import { QueryClientProvider } from "@tanstack/react-query";
import { type ReactNode, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { type GatewaySession, openGatewaySession } from "./api/gateway";
import { TRPCProvider } from "./api/trpc";
import { Desk } from "./Desk";
import {
  isExpired,
  parseStoredSession,
  SESSION_KEY,
  type Session,
  type SignedOutReason,
  signedOutMessage,
  type Tokens,
  withTokens,
} from "./lib/session";
import { LoginScreen } from "./screens/LoginScreen";

function storedSession(): { session: Session | null; notice: string | null } {
  const session = parseStoredSession(sessionStorage.getItem(SESSION_KEY));
  if (session && isExpired(session, Date.now())) {
    sessionStorage.removeItem(SESSION_KEY);
    return { session: null, notice: signedOutMessage("expired", new Date(session.expiresAt)) };
  }
  return { session, notice: null };
}

/** Gives its children a gateway client (SDK) and a query cache bound to one login. */
function GatewayScope({
  session: login,
  onUnauthorized,
  onTokens,
  children,
}: {
  session: Session | null;
  onUnauthorized(): void;
  onTokens(tokens: Tokens): void;
  children(session: GatewaySession): ReactNode;
}) {
  const unauthorized = useRef(onUnauthorized);
  unauthorized.current = onUnauthorized;
  const renewed = useRef(onTokens);
  renewed.current = onTokens;
  // Per login, not per token: a refreshed token keeps the client, its socket and its cache.
  const session = useMemo(
    () =>
      openGatewaySession(login, {
        onUnauthorized: () => unauthorized.current(),
        onTokens: (tokens) => renewed.current(tokens),
      }),
    [login],
  );
  useEffect(() => () => void session.close(), [session]);
  return (
    <QueryClientProvider client={session.queryClient}>
      <TRPCProvider trpcClient={session.client} queryClient={session.queryClient}>
        {children(session)}
      </TRPCProvider>
    </QueryClientProvider>
  );
}

export function App() {
  const [initial] = useState(storedSession);
  const [session, setSession] = useState<Session | null>(initial.session);
  const [notice, setNotice] = useState<string | null>(initial.notice);

  const signIn = useCallback((next: Session) => {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(next));
    setNotice(null);
    setSession(next);
  }, []);

  const current = useRef(session);
  current.current = session;
  // A renewed pair is stored (a reload carries on with it) without re-rendering: same login, same client.
  const storeTokens = useCallback((tokens: Tokens) => {
    const signedIn = current.current;
    if (!signedIn) return;
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(withTokens(signedIn, tokens)));
  }, []);
  const signOut = useCallback((reason: SignedOutReason) => {
    const leaving = current.current;
    if (!leaving) return;
    current.current = null;
    sessionStorage.removeItem(SESSION_KEY);
    // An UNAUTHORIZED answer near the session's end is the end itself.
    const expired = reason === "expired" || (reason === "rejected" && leaving.expiresAt - Date.now() < 5_000);
    setNotice(signedOutMessage(expired ? "expired" : reason, expired ? new Date(leaving.expiresAt) : null));
    setSession(null);
  }, []);

  return (
    <GatewayScope session={session} onUnauthorized={() => signOut("rejected")} onTokens={storeTokens}>
      {(gateway) =>
        session ? (
          <Desk session={session} socket={gateway.socket} signOut={signOut} logout={gateway.logout} />
        ) : (
          <LoginScreen notice={notice} socket={gateway.socket} onSignedIn={signIn} />
        )
      }
    </GatewayScope>
  );
}
