import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { json, mockApi } from "../test/api";
import { renderApp } from "../test/render";
import { baseUrl, snippet } from "./ClientSetup";

const model = {
  id: "m-1",
  name: "Qwen coder",
  provider: "vllm",
  model: "Qwen/Qwen2.5-Coder-7B-Instruct",
  base_url: null,
  context_window: 16384,
  input_cost_per_mtok: null,
  output_cost_per_mtok: null,
  priced: false,
  owner: "system",
  is_default: true,
  usable: true,
  has_api_key: false,
  lora_adapter: null,
  status: "ok",
  checked_at: null,
};

function settingsApi() {
  return mockApi({
    "GET /api/v1/users/me": () =>
      json({ id: "u1", email: "a@example.com", is_admin: false, has_openai_key: false, openai_key_hint: null, openai_key_verified: false, created_at: "2026-01-01T00:00:00Z" }),
    "GET /api/v1/users/me/api-tokens": () => json({ items: [], next_cursor: null }),
    "GET /api/v1/models": () => json({ items: [model], next_cursor: null }),
    "GET /v1/models": () =>
      json({
        object: "list",
        data: [{ id: "Qwen/Qwen2.5-Coder-7B-Instruct", object: "model", created: 0, owned_by: "system", name: "Qwen coder", context_window: 16384, codesmith_id: "m-1" }],
      }),
    "POST /api/v1/users/me/api-tokens": () =>
      json({ id: "t1", name: "editor", token: "csk_newtoken123", created_at: "2026-01-01T00:00:00Z", expires_at: null, last_used_at: null }, 201),
  });
}

describe("snippet", () => {
  it("sets each client up with the base URL, the model and the token", () => {
    const url = "http://host:8000/v1";
    expect(snippet("python", url, "gpt-4o-mini", "csk_x")).toContain('OpenAI(base_url="http://host:8000/v1", api_key="csk_x")');
    expect(snippet("curl", url, "gpt-4o-mini", "csk_x")).toContain("curl http://host:8000/v1/chat/completions");
    expect(snippet("curl", url, "gpt-4o-mini", "csk_x")).toContain("Authorization: Bearer csk_x");
    expect(snippet("continue", url, "gpt-4o-mini", "csk_x")).toContain("apiBase: http://host:8000/v1");
    expect(snippet("aider", url, "gpt-4o-mini", "csk_x")).toContain("aider --model openai/gpt-4o-mini");
    expect(baseUrl("https://codesmith.example")).toBe("https://codesmith.example/v1");
  });
});

describe("Settings → API tokens: client set-up", () => {
  it("shows the base URL and a snippet per client with the default model's OpenAI id", async () => {
    settingsApi();
    renderApp("/settings");
    const base = await screen.findByLabelText("Base URL");
    expect(base).toHaveValue(`${location.origin}/v1`);
    const panel = screen.getByRole("tabpanel");
    await waitFor(() => expect(panel).toHaveTextContent('model="Qwen/Qwen2.5-Coder-7B-Instruct"'));
    expect(panel).toHaveTextContent("csk_YOUR_TOKEN");

    fireEvent.click(screen.getByRole("tab", { name: "Continue" }));
    expect(screen.getByRole("tab", { name: "Continue" })).toHaveAttribute("aria-selected", "true");
    expect(screen.getByRole("tabpanel")).toHaveTextContent("provider: openai");
    fireEvent.click(screen.getByRole("tab", { name: "Aider" }));
    expect(screen.getByRole("tabpanel")).toHaveTextContent("aider --model openai/Qwen/Qwen2.5-Coder-7B-Instruct");
    fireEvent.click(screen.getByRole("tab", { name: "curl" }));
    expect(screen.getByRole("tabpanel")).toHaveTextContent(`curl ${location.origin}/v1/chat/completions`);
  });

  it("puts a newly created token into the snippet, which copies", async () => {
    const writeText = vi.fn(async () => undefined);
    Object.defineProperty(window, "isSecureContext", { value: true, configurable: true });
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    settingsApi();
    renderApp("/settings");
    fireEvent.change(await screen.findByLabelText("Token name"), { target: { value: "editor" } });
    fireEvent.click(screen.getByRole("button", { name: "Create token" }));
    const panel = await screen.findByRole("tabpanel");
    await waitFor(() => expect(panel).toHaveTextContent('api_key="csk_newtoken123"'));
    fireEvent.click(within(panel).getByRole("button", { name: "Copy snippet" }));
    await waitFor(() => expect(within(panel).getByRole("button", { name: "Copy snippet" })).toHaveTextContent("Copied"));
    expect(writeText).toHaveBeenCalledWith(expect.stringContaining('api_key="csk_newtoken123"'));
  });
});
