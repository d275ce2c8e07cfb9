import { login } from "@desk/sdk";
import { type FormEvent, useState } from "react";
import { gatewayUrl, type SocketState } from "../api/gateway";
import { useConnection } from "../api/hooks";
import { ConnectionBadge } from "../components/ConnectionBadge";
import { loginErrorLine } from "../lib/errors";
import { type Session, sessionFromLogin } from "../lib/session";
import type { Store } from "../lib/store";

export function LoginScreen({
  notice,
  socket,
  onSignedIn,
}: {
  notice: string | null;
  socket: Store<SocketState>;
  onSignedIn(session: Session): void;
}) {
  const connection = useConnection(socket);
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      onSignedIn(sessionFromLogin(await login(gatewayUrl(), username.trim(), password)));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return (
    <div className="login-page">
      <form className="login-card" onSubmit={submit} aria-label="Log in">
        <div className="login-head">
          <h1>Desk console</h1>
          <ConnectionBadge view={connection} />
        </div>
        <p className="muted">Options desk · trading gateway 交易网关</p>
        {notice ? (
          <output className="notice" data-testid="signed-out-notice">
            {notice}
          </output>
        ) : null}
        <label>
          Username
          <input
            name="username"
            autoComplete="username"
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            required
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
          />
        </label>
        {error ? (
          <div className="error-note" role="alert">
            <strong>{loginErrorLine(error)}</strong>
          </div>
        ) : null}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Logging in…" : "Log in"}
        </button>
      </form>
    </div>
  );
}
