/** Who is signed in: the token store seen from React, plus sign-in, sign-up and sign-out. */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, useSyncExternalStore, type ReactNode } from "react";
import { api, unwrap } from "../api/client";
import type { TokenResponse, User } from "../api/types";
import { getToken, subscribeToken, type SignOutReason } from "./authStore";
import { clearDrafts } from "./drafts";
import { queryClient } from "./queryClient";
import { endSession, restoreSession, sessionRestored, setSession } from "./session";

interface AuthContextValue {
  token: string | null;
  signIn: (email: string, password: string) => Promise<void>;
  signUp: (email: string, password: string, openaiKey?: string, invitation?: string) => Promise<User>;
  signOut: (reason?: SignOutReason) => void;
}

const AuthContext = createContext<AuthContextValue | null>(null);

export async function requestToken(email: string, password: string): Promise<TokenResponse> {
  return unwrap(
    api.POST("/api/v1/auth/token", {
      body: { username: email, password, scope: "" },
      bodySerializer: (body) => new URLSearchParams(body as Record<string, string>),
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    }),
  );
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const token = useSyncExternalStore(subscribeToken, getToken, getToken);
  // After a reload the token is gone (memory only): the refresh cookie may bring the session back. The
  // routes wait for that answer, so a signed-in user is not sent to sign-in first.
  const [restored, setRestored] = useState(sessionRestored);
  useEffect(() => {
    if (restored) return;
    let live = true;
    void restoreSession().finally(() => live && setRestored(true));
    return () => {
      live = false;
    };
  }, [restored]);

  // Whoever signs in next must not see the previous user's cached data.
  useEffect(() => {
    if (!token) queryClient.clear();
  }, [token]);

  const signIn = useCallback(async (email: string, password: string) => {
    const answer = await requestToken(email, password);
    queryClient.clear();
    setSession(answer);
  }, []);

  const signUp = useCallback(async (email: string, password: string, openaiKey?: string, invitation?: string) => {
    const key = openaiKey?.trim();
    return unwrap(
      api.POST("/api/v1/auth/register", {
        body: { email, password, ...(key ? { openai_api_key: key } : {}), ...(invitation ? { invitation } : {}) },
      }),
    );
  }, []);

  // Signing out on purpose also forgets unsent drafts (a shared computer); a session that ends keeps them.
  const signOut = useCallback((reason?: SignOutReason) => {
    clearDrafts();
    void endSession(reason);
  }, []);

  const value = useMemo(() => ({ token, signIn, signUp, signOut }), [token, signIn, signUp, signOut]);
  if (!restored && !token) {
    return (
      <p role="status" className="sr-only">
        Restoring your session…
      </p>
    );
  }
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthContextValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error("useAuth outside AuthProvider");
  return value;
}

/** Where to go after sign-in: only a path inside this app (never `//evil.example`). */
export function safeNextPath(next: string | null): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  if (next.startsWith("/sign-in") || next.startsWith("/sign-up")) return "/";
  return next;
}
