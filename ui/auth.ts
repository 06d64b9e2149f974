/**
 * The API token (KRONOS_API_TOKEN), asked for once and sent with every call. It is kept in
 * sessionStorage (this tab, until it closes), or in localStorage when the user asks to be
 * remembered on this device. Only the Authorization header ever carries it, never a URL.
 */
import { useEffect, useState } from "preact/hooks";

const KEY = "kronos.apiToken";

export interface AuthState {
  token: string | undefined;
  /** The server asked for a token (none was sent, or the one sent was refused). */
  needed: boolean;
  /** A token was sent and refused. */
  refused: boolean;
  /** Bumped when the token changes, so pages load again with it. */
  epoch: number;
}

/**
 * Whether the server wants a token: index.html says so (`<meta name="kronos-auth" content="token">`).
 * Without one, storage is not read at all: a first access to it can block the page for tens of ms.
 */
const required = document.querySelector('meta[name="kronos-auth"]')?.getAttribute("content") === "token";

function stored(): string | undefined {
  if (!required) return undefined;
  try {
    return sessionStorage.getItem(KEY) ?? localStorage.getItem(KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

let state: AuthState = { token: stored(), needed: false, refused: false, epoch: 0 };
const listeners = new Set<() => void>();

function update(next: Partial<AuthState>): void {
  state = { ...state, ...next };
  for (const l of listeners) l();
}

export const auth = {
  get token(): string | undefined {
    return state.token;
  },
  get state(): AuthState {
    return state;
  },
  /** Uses `token` from now on; `remember` keeps it across browser restarts. */
  set(token: string, remember: boolean): void {
    try {
      sessionStorage.removeItem(KEY);
      localStorage.removeItem(KEY);
      (remember ? localStorage : sessionStorage).setItem(KEY, token);
    } catch {
      // storage disabled: the token lives as long as the page
    }
    update({ token, needed: false, refused: false, epoch: state.epoch + 1 });
  },
  /** Forgets the token (the header's "Forget token"). */
  clear(): void {
    try {
      sessionStorage.removeItem(KEY);
      localStorage.removeItem(KEY);
    } catch {
      // nothing stored
    }
    update({ token: undefined, needed: false, refused: false, epoch: state.epoch + 1 });
  },
  /** The server answered 401: ask the user. */
  demand(): void {
    if (!state.needed) update({ needed: true, refused: state.token !== undefined });
  },
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};

export function useAuth(): AuthState {
  const [, setTick] = useState(0);
  useEffect(() => auth.subscribe(() => setTick((n) => n + 1)), []);
  return auth.state;
}
