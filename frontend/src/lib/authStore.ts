/** The access token: in memory for speed, in localStorage so a reload keeps the user signed in. */

const STORAGE_KEY = "codesmith.token";
type Listener = (token: string | null) => void;

let current: string | null = readStored();
// Why the token went away: a user who signs out on purpose is not sent back to their last page.
let signedOutOnPurpose = false;
const listeners = new Set<Listener>();

function readStored(): string | null {
  try {
    return globalThis.localStorage?.getItem(STORAGE_KEY) ?? null;
  } catch {
    return null; // storage blocked (private mode): memory only
  }
}

export function getToken(): string | null {
  return current;
}

export function wasSignedOutOnPurpose(): boolean {
  return signedOutOnPurpose;
}

export function setToken(token: string | null, { onPurpose = false }: { onPurpose?: boolean } = {}): void {
  current = token;
  signedOutOnPurpose = token === null && onPurpose;
  try {
    if (token) localStorage.setItem(STORAGE_KEY, token);
    else localStorage.removeItem(STORAGE_KEY);
  } catch {
    // memory only
  }
  listeners.forEach((listener) => listener(token));
}

export function subscribeToken(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

// Another tab signing in or out changes this one too.
if (typeof window !== "undefined") {
  window.addEventListener("storage", (event) => {
    if (event.key !== STORAGE_KEY) return;
    current = event.newValue;
    listeners.forEach((listener) => listener(current));
  });
}
