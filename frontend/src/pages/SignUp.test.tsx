import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { getToken } from "../lib/authStore";
import { json, mockApi, noContent, type Handler } from "../test/api";
import { model, page, user } from "../test/fixtures";
import { currentLocation, renderApp } from "../test/render";

afterEach(() => vi.unstubAllGlobals());

function signUpApi(mode: string, routes: Record<string, Handler> = {}) {
  return mockApi({
    "GET /api/v1/auth/registration": () => json({ mode }),
    "POST /api/v1/auth/token": () => json({ access_token: "t", token_type: "bearer", expires_in: 60 }),
    "GET /api/v1/users/me": () => json(user),
    "GET /api/v1/models": () => json(page([model()])),
    "GET /api/v1/conversations": () => json(page([])),
    ...routes,
  });
}

async function fillIn() {
  await userEvent.type(await screen.findByLabelText("Email"), "ada@example.com");
  await userEvent.type(screen.getByLabelText("Password"), "correct horse");
  await userEvent.click(screen.getByRole("button", { name: "Create account" }));
}

describe("Sign-up and the registration mode", () => {
  it("says registration is closed and offers no form", async () => {
    signUpApi("closed");
    renderApp("/sign-up", { token: null });
    expect(await screen.findByText("Registration is closed")).toBeInTheDocument();
    expect(screen.queryByLabelText("Email")).not.toBeInTheDocument();
  });

  it("asks for an invitation link in invite mode when the visitor has none", async () => {
    signUpApi("invite");
    renderApp("/sign-up", { token: null });
    expect(await screen.findByText("You need an invitation")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Create account" })).not.toBeInTheDocument();
  });

  it("sends the link's invitation with the registration, then signs in", async () => {
    const { requests } = signUpApi("invite", { "POST /api/v1/auth/register": () => json(user, 201) });
    renderApp("/sign-up?invitation=csi_abc", { token: null });
    expect(await screen.findByText(/You were invited/)).toBeInTheDocument();
    await fillIn();
    await waitFor(() => expect(currentLocation).toBe("/new"));
    const register = requests.find((r) => r.url.endsWith("/auth/register"))!;
    expect(await register.json()).toEqual({ email: "ada@example.com", password: "correct horse", invitation: "csi_abc" });
  });

  it("explains an invitation that no longer works", async () => {
    signUpApi("invite", {
      "POST /api/v1/auth/register": () => json({ status: 403, code: "invitation_invalid", detail: "Invitation invalid" }, 403),
    });
    renderApp("/sign-up?invitation=csi_used", { token: null });
    await fillIn();
    expect(await screen.findByText("This invitation does not work")).toBeInTheDocument();
    expect(screen.getByRole("alert")).toHaveTextContent(/expired, been revoked or used already/);
    expect(getToken()).toBeNull();
  });

  it("says so when registration closed while the form was open", async () => {
    signUpApi("open", {
      "POST /api/v1/auth/register": () => json({ status: 403, code: "registration_closed", detail: "Registration is closed" }, 403),
    });
    renderApp("/sign-up", { token: null });
    await fillIn();
    expect(await screen.findByRole("alert")).toHaveTextContent(/does not accept new accounts right now/);
  });

  it("sends no invitation in open mode", async () => {
    const { requests } = signUpApi("open", { "POST /api/v1/auth/register": () => json(user, 201) });
    renderApp("/sign-up", { token: null });
    await fillIn();
    await waitFor(() => expect(currentLocation).toBe("/new"));
    const register = requests.find((r) => r.url.endsWith("/auth/register"))!;
    expect(await register.json()).not.toHaveProperty("invitation");
  });
});

describe("A disabled account", () => {
  it("is signed out at its next call, and sign-in says why", async () => {
    mockApi({
      "GET /api/v1/users/me": () => json({ status: 403, code: "account_disabled", detail: "This account is disabled." }, 403),
      "GET /api/v1/conversations": () => json({ status: 403, code: "account_disabled", detail: "This account is disabled." }, 403),
      "GET /api/v1/snippets": () => json(page([])),
      "POST /api/v1/auth/logout": () => noContent(),
      "POST /api/v1/auth/token": () => json({ status: 403, code: "account_disabled", detail: "This account is disabled." }, 403),
    });
    renderApp("/");
    expect(await screen.findByText("Your account was disabled")).toBeInTheDocument();
    expect(getToken()).toBeNull();
    await userEvent.type(screen.getByLabelText("Email"), "ada@example.com");
    await userEvent.type(screen.getByLabelText("Password"), "correct horse");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByText(/This account is disabled. Ask an administrator/)).toBeInTheDocument();
  });

  it("is not signed out by an ordinary 403", async () => {
    mockApi({
      "GET /api/v1/users/me": () => json({ ...user, is_admin: false }),
      "GET /api/v1/conversations": () => json(page([])),
      "GET /api/v1/usage": () => json({ status: 403, code: "forbidden", detail: "Forbidden" }, 403),
    });
    renderApp("/usage");
    await screen.findByRole("heading", { name: "Usage" });
    await waitFor(() => expect(screen.getByRole("alert")).toBeInTheDocument());
    expect(getToken()).toBe("test-jwt");
  });
});
