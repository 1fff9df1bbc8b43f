/**
 * The access token, in memory only (a script injected into the page cannot read it from storage). A reload
 * gets a new one from the refresh cookie (see session.ts); `expiresAt` says when to refresh it.
 */

const LEGACY_STORAGE_KEY = "codesmith.token";
type Listener = (token: string | null) => void;
/** Why a session ended other than by the user's choice or its expiry; the sign-in page says so. */
export type SignOutReason = "account_deleted" | "account_disabled";

let current: string | null = null;
let expiresAt: number | null = null;
// Why the token went away: a user who signs out on purpose is not sent back to their last page.
let signedOutOnPurpose = false;
let signOutReason: SignOutReason | null = null;
const listeners = new Set<Listener>();

// Earlier versions kept the token in localStorage: remove what is left there.
try {
  globalThis.localStorage?.removeItem(LEGACY_STORAGE_KEY);
} catch {
  // storage blocked: nothing stored either
}

export function getToken(): string | null {
  return current;
}

/** When the token expires (ms since the epoch), when known. */
export function getTokenExpiry(): number | null {
  return expiresAt;
}

export function wasSignedOutOnPurpose(): boolean {
  return signedOutOnPurpose;
}

export function getSignOutReason(): SignOutReason | null {
  return signOutReason;
}

export function setToken(
  token: string | null,
  { onPurpose = false, expiresIn, reason }: { onPurpose?: boolean; expiresIn?: number; reason?: SignOutReason } = {},
): void {
  current = token;
  expiresAt = token && expiresIn ? Date.now() + expiresIn * 1000 : null;
  signedOutOnPurpose = token === null && onPurpose;
  signOutReason = token === null ? (reason ?? null) : null;
  listeners.forEach((listener) => listener(token));
}

export function subscribeToken(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
