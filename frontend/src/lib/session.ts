/**
 * The sign-in session: the access token lives in memory (authStore) and is renewed through the HttpOnly
 * refresh cookie — on load (restoring the session after a reload), a minute before it expires, and once
 * after a 401 (then the request is sent again).
 */
import type { Middleware } from "openapi-fetch";
import type { TokenResponse } from "../api/types";
import { getToken, getTokenExpiry, setToken, subscribeToken, type SignOutReason } from "./authStore";

export const REFRESH_PATH = "/api/v1/auth/refresh";
export const LOGOUT_PATH = "/api/v1/auth/logout";
const LOCK_NAME = "codesmith.auth.refresh";
/** Refresh this long before the access token expires. */
export const REFRESH_EARLY_MS = 60_000;
const RETRY_MS = 30_000;

let inFlight: Promise<string | null> | null = null;
let restoring: Promise<string | null> | null = null;
let timer: ReturnType<typeof setTimeout> | null = null;
const channel = typeof BroadcastChannel === "undefined" ? null : new BroadcastChannel("codesmith.auth");

/** Keep what /auth/token or /auth/refresh answered: the token and when it expires. */
export function setSession(answer: TokenResponse): void {
  setToken(answer.access_token, { expiresIn: answer.expires_in });
}

type Outcome = { token: string } | { ended: true } | { failed: true };

async function callRefresh(): Promise<Outcome> {
  let response: Response;
  try {
    response = await globalThis.fetch(new Request(new URL(REFRESH_PATH, globalThis.location.origin), { method: "POST", credentials: "same-origin" }));
  } catch {
    return { failed: true };
  }
  if (response.status === 401) return { ended: true };
  if (!response.ok) return { failed: true };
  const answer = (await response.json()) as TokenResponse;
  setSession(answer);
  return { token: answer.access_token };
}

/** Runs `task` holding the refresh lock of every tab of this origin: a cookie rotated by one tab must not be sent by another. */
async function locked<T>(task: () => Promise<T>): Promise<T> {
  const locks = typeof navigator === "undefined" ? undefined : navigator.locks;
  return locks ? locks.request(LOCK_NAME, task) : task();
}

/**
 * A new access token from the refresh cookie; null when there is none. An ended session (401) signs out;
 * a failed call (offline, a server error) leaves the current token alone. One refresh at a time.
 */
export function refreshSession(): Promise<string | null> {
  inFlight ??= locked(callRefresh)
    .then((outcome) => {
      if ("token" in outcome) return outcome.token;
      if ("ended" in outcome && getToken() !== null) setToken(null);
      return null;
    })
    .finally(() => {
      inFlight = null;
    });
  return inFlight;
}

/** Once per page load: a signed-out page asks the refresh cookie for a session (the token is not stored). */
export function restoreSession(): Promise<string | null> {
  restoring ??= getToken() ? Promise.resolve(getToken()) : refreshSession();
  return restoring;
}

export function sessionRestored(): boolean {
  return restoring !== null || getToken() !== null;
}

/**
 * After a 401 to a request sent with `sentAuthorization`: the token to retry with, or null (then the session
 * has ended and the user is signed out). A token renewed meanwhile is used as it is.
 */
export async function refreshAfterUnauthorized(sentAuthorization: string | null): Promise<string | null> {
  const current = getToken();
  if (current === null) return null;
  if (sentAuthorization !== `Bearer ${current}`) return current;
  const fresh = await refreshSession();
  if (fresh === null && getToken() !== null) setToken(null);
  return fresh;
}

/** Ends the session on the server (the cookie's family is revoked) and in every tab of this browser. */
export async function endSession(reason?: SignOutReason): Promise<void> {
  setToken(null, { onPurpose: true, ...(reason ? { reason } : {}) });
  channel?.postMessage("signed-out");
  try {
    await globalThis.fetch(new Request(new URL(LOGOUT_PATH, globalThis.location.origin), { method: "POST", credentials: "same-origin" }));
  } catch {
    // offline: the cookie expires on its own
  }
}

function isAuthCall(url: string): boolean {
  return new URL(url, globalThis.location.origin).pathname.startsWith("/api/v1/auth/");
}

const unsent = new WeakMap<Request, Request>();

/** The API client's middleware: the bearer token on every call, one refresh and retry after a 401. */
export const sessionMiddleware: Middleware = {
  onRequest({ request }) {
    const token = getToken();
    if (token && !request.headers.has("Authorization")) request.headers.set("Authorization", `Bearer ${token}`);
    if (request.headers.has("Authorization") && !isAuthCall(request.url)) unsent.set(request, request.clone());
    return request;
  },
  async onResponse({ request, response }) {
    const copy = unsent.get(request);
    unsent.delete(request);
    if (response.status === 403 && copy) await signOutWhenDisabled(response);
    if (response.status !== 401 || !copy) return response;
    const fresh = await refreshAfterUnauthorized(request.headers.get("Authorization"));
    if (!fresh) return response;
    copy.headers.set("Authorization", `Bearer ${fresh}`);
    return globalThis.fetch(copy);
  },
};

/**
 * An administrator disabled this account: every token now answers 403 account_disabled and no refresh can
 * help, so the session ends here and sign-in says why.
 */
async function signOutWhenDisabled(response: Response): Promise<void> {
  try {
    const body = (await response.clone().json()) as { code?: unknown };
    if (body.code === "account_disabled" && getToken() !== null) setToken(null, { reason: "account_disabled" });
  } catch {
    // not problem+json: an ordinary 403
  }
}

function refreshLater(wait: number): void {
  timer = setTimeout(() => {
    timer = null;
    void refreshSession().then((token) => {
      // Offline or a server error: the token is kept; try again in a while, as long as it may still work.
      if (token === null && getToken() !== null && timer === null) refreshLater(RETRY_MS);
    });
  }, wait);
}

function schedule(): void {
  if (timer !== null) clearTimeout(timer);
  timer = null;
  const expiry = getTokenExpiry();
  if (getToken() === null || expiry === null) return;
  refreshLater(Math.max(expiry - Date.now() - REFRESH_EARLY_MS, 1_000));
}

subscribeToken(schedule);
channel?.addEventListener("message", (event: MessageEvent) => {
  if (event.data === "signed-out" && getToken() !== null) setToken(null, { onPurpose: true });
});

/** For tests: forget the page-load state. */
export function resetSessionForTests(): void {
  inFlight = null;
  restoring = null;
  if (timer !== null) clearTimeout(timer);
  timer = null;
}
