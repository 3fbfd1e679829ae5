// The console shell: sign-in, navigation by URL hash, and the signed-in context.
import { useEffect, useMemo, useState } from "preact/hooks";
import { type Api, createApi, describeError, errorWord, storedToken, storeToken } from "./api.js";
import { ConsoleContext } from "./context.js";
import { startEventFeed } from "./event-feed.js";
import { ApiKeysPage } from "./pages/api-keys.js";
import { ChatPage } from "./pages/chat.js";
import { EventsPage } from "./pages/events.js";
import { GatewaysPage } from "./pages/gateways.js";
import { PairingPage } from "./pages/pairing.js";
import { SessionsPage } from "./pages/sessions.js";
import { WebhooksPage } from "./pages/webhooks.js";

const pages = [
  ["sessions", "Sessions"],
  ["chat", "Chat"],
  ["webhooks", "Webhooks"],
  ["keys", "API keys"],
  ["gateways", "Gateways"],
  ["events", "Events"],
] as const;

/** The route in the hash: `#/chat/<session>` → ["chat", "<session>"]. */
function useRoute(): [string, string | undefined] {
  const read = (): [string, string | undefined] => {
    const [page = "sessions", arg] = location.hash.replace(/^#\/?/, "").split("/");
    return [page || "sessions", arg ? decodeURIComponent(arg) : undefined];
  };
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return route;
}

/** Checks a credential: it must be accepted; without `manage` the console is read-only. */
async function checkCredential(api: Api): Promise<{ readOnly: boolean }> {
  await api.gateways.listGateways({});
  try {
    await api.sessions.listSessions({});
    return { readOnly: false };
  } catch (err) {
    if (errorWord(err) === "forbidden") return { readOnly: true };
    throw err;
  }
}

function SignIn({ onSignedIn, initialError }: { onSignedIn: (token: string, readOnly: boolean) => void; initialError?: string }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | undefined>(initialError);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const { readOnly } = await checkCredential(createApi(token.trim()));
      storeToken(token.trim());
      onSignedIn(token.trim(), readOnly);
    } catch (err) {
      setError(errorWord(err) === "unauthorized" ? `This key or token was not accepted — ${describeError(err)}` : describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <h1>wa-gateway console</h1>
      <form onSubmit={submit} aria-describedby="signin-help">
        <label>
          API key or login token
          <input id="token" type="password" autoComplete="off" required value={token} onInput={(e) => setToken(e.currentTarget.value)} />
        </label>
        <p id="signin-help" class="muted">
          Kept in this tab only (sessionStorage) and sent as a bearer token to this gateway.
        </p>
        <button class="primary" type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        {error && (
          <p class="error" role="alert" id="signin-error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}

function Shell({ token, readOnly, onSignOut }: { token: string; readOnly: boolean; onSignOut: () => void }) {
  const api = useMemo(() => createApi(token), [token]);
  const feed = useMemo(() => startEventFeed(api), [api]);
  useEffect(() => () => feed.close(), [feed]);
  const [feedError, setFeedError] = useState<string | undefined>();
  useEffect(() => feed.onState(setFeedError), [feed]);
  const [page, arg] = useRoute();
  useEffect(() => {
    const title = pages.find(([p]) => p === page)?.[1] ?? (page === "pairing" ? "Pairing" : "Console");
    document.title = `${title} · wa-gateway console`;
  }, [page]);
  const nav = page === "pairing" ? "sessions" : page;
  return (
    <ConsoleContext.Provider value={{ api, feed, readOnly }}>
      <header>
        <h1>wa-gateway</h1>
        <nav aria-label="Console">
          <ul>
            {pages.map(([p, name]) => (
              <li key={p}>
                <a href={`#/${p}`} aria-current={nav === p ? "page" : undefined}>
                  {name}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        {readOnly && <span class="badge" id="read-only">read-only key</span>}
        <button type="button" id="sign-out" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main>
        {feedError && <p class="error" role="alert">Live events interrupted: {feedError}</p>}
        {page === "sessions" && <SessionsPage />}
        {page === "pairing" && <PairingPage session={arg} />}
        {page === "chat" && <ChatPage session={arg} />}
        {page === "webhooks" && <WebhooksPage />}
        {page === "keys" && <ApiKeysPage />}
        {page === "gateways" && <GatewaysPage />}
        {page === "events" && <EventsPage />}
        {!pages.some(([p]) => p === page) && page !== "pairing" && <p class="error">No such page: {page}</p>}
      </main>
    </ConsoleContext.Provider>
  );
}

/** The console: a sign-in form until a credential is accepted, then the pages. */
export function App() {
  const [auth, setAuth] = useState<{ token: string; readOnly: boolean } | undefined>();
  const [checking, setChecking] = useState(storedToken() !== undefined);
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    const token = storedToken();
    if (!token) return;
    checkCredential(createApi(token)).then(
      ({ readOnly }) => {
        setAuth({ token, readOnly });
        setChecking(false);
      },
      (err: unknown) => {
        storeToken(undefined);
        setError(describeError(err));
        setChecking(false);
      },
    );
  }, []);
  if (checking) return <p class="loading" role="status">Checking your credential…</p>;
  if (!auth) return <SignIn initialError={error} onSignedIn={(token, readOnly) => setAuth({ token, readOnly })} />;
  return (
    <Shell
      token={auth.token}
      readOnly={auth.readOnly}
      onSignOut={() => {
        storeToken(undefined);
        setAuth(undefined);
        location.hash = "";
      }}
    />
  );
}
