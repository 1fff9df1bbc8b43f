import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { json, mockApi } from "./test/api";
import { model, page, user } from "./test/fixtures";
import { currentLocation, renderApp } from "./test/render";
import { getToken } from "./lib/authStore";

afterEach(() => vi.unstubAllGlobals());

describe("authentication", () => {
  it("sends a signed-out visitor to sign-in and back to the page they asked for", async () => {
    const { requests } = mockApi({
      "POST /api/v1/auth/token": () => json({ access_token: "fresh", token_type: "bearer", expires_in: 3600 }),
      "GET /api/v1/users/me": () => json(user),
      "GET /api/v1/models": () => json(page([model()])),
      "GET /api/v1/conversations": () => json(page([])),
    });
    renderApp("/models", { token: null });
    expect(await screen.findByRole("heading", { name: "Sign in to Codesmith" })).toBeInTheDocument();
    expect(currentLocation).toBe("/sign-in?next=%2Fmodels");

    await userEvent.type(screen.getByLabelText("Email"), "ada@example.com");
    await userEvent.type(screen.getByLabelText("Password"), "correct horse");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));

    expect(await screen.findByRole("heading", { name: "Models" })).toBeInTheDocument();
    expect(currentLocation).toBe("/models");
    const login = requests.find((r) => r.url.endsWith("/auth/token"))!;
    expect(login.headers.get("Content-Type")).toContain("application/x-www-form-urlencoded");
    expect(new URLSearchParams(await login.text()).get("username")).toBe("ada@example.com");
    const later = requests.filter((r) => r.url.includes("/api/v1/models"));
    expect(later.at(-1)!.headers.get("Authorization")).toBe("Bearer fresh");
  });

  it("returns to sign-in when any call answers 401, remembering where the user was", async () => {
    mockApi({
      "GET /api/v1/users/me": () => json(user),
      "GET /api/v1/conversations": () => json(page([])),
      "GET /api/v1/usage": () => json({ status: 401, code: "not_authenticated", detail: "Token expired" }, 401),
    });
    renderApp("/usage?days=7");
    expect(await screen.findByRole("heading", { name: "Sign in to Codesmith" })).toBeInTheDocument();
    expect(currentLocation).toBe("/sign-in?next=%2Fusage%3Fdays%3D7");
    expect(getToken()).toBeNull();
    expect(screen.getByText(/Your session ended/)).toBeInTheDocument();
  });

  it("says plainly when the email or password is wrong", async () => {
    mockApi({
      "POST /api/v1/auth/token": () => json({ status: 401, code: "invalid_credentials", detail: "Invalid credentials" }, 401),
    });
    renderApp("/sign-in", { token: null });
    await userEvent.type(await screen.findByLabelText("Email"), "ada@example.com");
    await userEvent.type(screen.getByLabelText("Password"), "wrong password");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByText("That email and password do not match an account.")).toBeInTheDocument();
  });

  it("never redirects after sign-in to another site", async () => {
    mockApi({
      "POST /api/v1/auth/token": () => json({ access_token: "t", token_type: "bearer", expires_in: 60 }),
      "GET /api/v1/users/me": () => json(user),
      "GET /api/v1/conversations": () => json(page([])),
      "GET /api/v1/snippets": () => json(page([])),
    });
    renderApp("/sign-in?next=%2F%2Fevil.example", { token: null });
    await userEvent.type(await screen.findByLabelText("Email"), "ada@example.com");
    await userEvent.type(screen.getByLabelText("Password"), "correct horse");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    await waitFor(() => expect(currentLocation).toBe("/"));
  });

  it("signs up with an optional OpenAI key, then signs in", async () => {
    const { requests } = mockApi({
      "POST /api/v1/auth/register": () => json(user, 201),
      "POST /api/v1/auth/token": () => json({ access_token: "t", token_type: "bearer", expires_in: 60 }),
      "GET /api/v1/users/me": () => json(user),
      "GET /api/v1/models": () => json(page([model()])),
      "GET /api/v1/conversations": () => json(page([])),
    });
    renderApp("/sign-up", { token: null });
    await userEvent.type(await screen.findByLabelText("Email"), "ada@example.com");
    await userEvent.type(screen.getByLabelText("Password"), "long enough");
    await userEvent.click(screen.getByRole("button", { name: /add your openai api key/i }));
    await userEvent.type(screen.getByLabelText("OpenAI API key (optional)"), "sk-test-1234");
    await userEvent.click(screen.getByRole("button", { name: "Create account" }));
    expect(await screen.findByRole("heading", { name: "What should the code do?" })).toBeInTheDocument();
    const register = requests.find((r) => r.url.endsWith("/auth/register"))!;
    expect(await register.json()).toEqual({ email: "ada@example.com", password: "long enough", openai_api_key: "sk-test-1234" });
  });
});
