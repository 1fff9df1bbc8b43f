import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api, unwrap } from "../api/client";
import { json, mockApi } from "../test/api";
import { user } from "../test/fixtures";
import { getToken, getTokenExpiry, setToken } from "./authStore";
import { readDraft, writeDraft, clearDrafts } from "./drafts";
import { REFRESH_EARLY_MS, endSession, refreshSession, resetSessionForTests, restoreSession, setSession } from "./session";

const fresh = (token: string, expires = 3600) => json({ access_token: token, token_type: "bearer", expires_in: expires });

beforeEach(() => {
  resetSessionForTests();
  setToken(null);
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe("the access token", () => {
  it("lives in memory only, and what older versions stored is gone", () => {
    setSession({ access_token: "jwt", token_type: "bearer", expires_in: 60 });
    expect(getToken()).toBe("jwt");
    expect(getTokenExpiry()).toBeGreaterThan(Date.now());
    expect(localStorage.getItem("codesmith.token")).toBeNull();
    expect(JSON.stringify({ ...localStorage })).not.toContain("jwt");
  });
});

describe("refreshing", () => {
  it("restores the session on load from the refresh cookie, once", async () => {
    const { requests } = mockApi({ "POST /api/v1/auth/refresh": () => fresh("restored") });
    expect(await restoreSession()).toBe("restored");
    expect(await restoreSession()).toBe("restored");
    expect(getToken()).toBe("restored");
    expect(requests.filter((r) => r.url.endsWith("/auth/refresh"))).toHaveLength(1);
    expect(requests[0]!.credentials).toBe("same-origin");
  });

  it("sends one refresh for concurrent callers (a rotated cookie must not be sent twice)", async () => {
    const { requests } = mockApi({ "POST /api/v1/auth/refresh": () => fresh("once") });
    const answers = await Promise.all([refreshSession(), refreshSession(), refreshSession()]);
    expect(answers).toEqual(["once", "once", "once"]);
    expect(requests).toHaveLength(1);
  });

  it("signs out when the session has ended (401)", async () => {
    setToken("old", { expiresIn: 60 });
    mockApi({ "POST /api/v1/auth/refresh": () => json({ status: 401, code: "not_authenticated" }, 401) });
    expect(await refreshSession()).toBeNull();
    expect(getToken()).toBeNull();
  });

  it("keeps the token when the refresh cannot be made (offline)", async () => {
    setToken("still-good", { expiresIn: 600 });
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("offline"))));
    expect(await refreshSession()).toBeNull();
    expect(getToken()).toBe("still-good");
  });

  it("refreshes silently a minute before the token expires", async () => {
    vi.useFakeTimers();
    const { requests } = mockApi({ "POST /api/v1/auth/refresh": () => fresh("renewed") });
    setSession({ access_token: "first", token_type: "bearer", expires_in: 300 });
    await vi.advanceTimersByTimeAsync(300_000 - REFRESH_EARLY_MS - 1_000);
    expect(requests).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(requests).toHaveLength(1);
    expect(getToken()).toBe("renewed");
  });

  it("refreshes once after a 401 and sends the request again with the new token", async () => {
    setSession({ access_token: "expired", token_type: "bearer", expires_in: 3600 });
    const { requests } = mockApi({
      "POST /api/v1/auth/refresh": () => fresh("renewed"),
      "GET /api/v1/users/me": (request) =>
        request.headers.get("Authorization") === "Bearer renewed" ? json(user) : json({ status: 401, code: "not_authenticated" }, 401),
    });
    const me = await unwrap(api.GET("/api/v1/users/me"));
    expect(me.email).toBe(user.email);
    expect(requests.map((r) => `${r.method} ${new URL(r.url).pathname}`)).toEqual([
      "GET /api/v1/users/me",
      "POST /api/v1/auth/refresh",
      "GET /api/v1/users/me",
    ]);
  });

  it("retries a request with a body after the refresh", async () => {
    setSession({ access_token: "expired", token_type: "bearer", expires_in: 3600 });
    const bodies: string[] = [];
    mockApi({
      "POST /api/v1/auth/refresh": () => fresh("renewed"),
      "POST /api/v1/users/me/api-tokens": async (request) => {
        bodies.push(await request.text());
        if (request.headers.get("Authorization") !== "Bearer renewed") return json({ status: 401, code: "not_authenticated" }, 401);
        return json({ id: "t", name: "ci", token: "csk_x", created_at: "2025-01-01T00:00:00Z", expires_at: null, last_used_at: null }, 201);
      },
    });
    await unwrap(api.POST("/api/v1/users/me/api-tokens", { body: { name: "ci" } }));
    expect(bodies.map((body) => JSON.parse(body) as unknown)).toEqual([{ name: "ci" }, { name: "ci" }]);
  });

  it("gives up after one refresh: an ended session signs out and the 401 stands", async () => {
    setSession({ access_token: "expired", token_type: "bearer", expires_in: 3600 });
    const { requests } = mockApi({
      "POST /api/v1/auth/refresh": () => json({ status: 401, code: "not_authenticated" }, 401),
      "GET /api/v1/users/me": () => json({ status: 401, code: "not_authenticated" }, 401),
    });
    await expect(unwrap(api.GET("/api/v1/users/me"))).rejects.toMatchObject({ status: 401 });
    expect(getToken()).toBeNull();
    expect(requests).toHaveLength(2);
  });

  it("signing out revokes the session on the server", async () => {
    setSession({ access_token: "jwt", token_type: "bearer", expires_in: 3600 });
    const { requests } = mockApi({ "POST /api/v1/auth/logout": () => new Response(null, { status: 204 }) });
    await endSession();
    expect(getToken()).toBeNull();
    expect(requests.map((r) => new URL(r.url).pathname)).toEqual(["/api/v1/auth/logout"]);
  });
});

describe("drafts", () => {
  it("are kept per place until cleared", () => {
    writeDraft("conversation:c1", "half a thought");
    writeDraft("new", "a prompt");
    expect(readDraft("conversation:c1")).toBe("half a thought");
    writeDraft("conversation:c1", "");
    expect(readDraft("conversation:c1")).toBe("");
    clearDrafts();
    expect(readDraft("new")).toBe("");
  });
});
